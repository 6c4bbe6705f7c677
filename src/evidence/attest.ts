import { buildBundle, type Bundle } from './bundle.ts';
import { signEnvelope } from './dsse.ts';
import type { PrivateKey } from './keys.ts';
import { IN_TOTO_PAYLOAD_TYPE, buildStatement, type Statement, type StatementInput } from './statement.ts';

export interface AttestInput extends StatementInput {
  key: PrivateKey;
}

/** Builds an in-toto statement, signs it as DSSE and wraps it in a v0.3 bundle with the key's id as hint. */
export function attest(input: AttestInput): { bundle: Bundle; statement: Statement } {
  const statement = buildStatement(input);
  const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), [input.key]);
  return { bundle: buildBundle(envelope, { signing: { kind: 'publicKey', hint: input.key.keyId } }), statement };
}
