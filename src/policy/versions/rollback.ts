import { attest, BundleVerifier, type Bundle, type KeyRing, type PrivateKey } from '../../evidence/index.ts';
import { PolicyVersionError } from './errors.ts';

export const POLICY_ROLLBACK_PREDICATE = 'urn:warrant:predicate:policy-rollback:v1';

export interface RollbackClaim {
  from: number;
  to: number;
  /** `sha256:<hex>` of the target bundle's files. */
  digest: string;
  reason: string;
}

/** Signs a statement allowing the active policy to go back from `from` to `to` (that exact bundle). */
export function buildRollbackStatement(input: RollbackClaim & { key: PrivateKey; now?: Date }): Bundle {
  if (input.reason.trim() === '') throw new PolicyVersionError('ROLLBACK_STATEMENT_INVALID', 'a rollback statement needs a reason');
  if (!(input.to < input.from)) {
    throw new PolicyVersionError('ROLLBACK_STATEMENT_INVALID', `a rollback goes to a lower version: ${input.to} is not below ${input.from}`);
  }
  return attest({
    key: input.key,
    subjects: [{ name: `policy-bundle-v${input.to}`, digest: { sha256: input.digest.replace(/^sha256:/, '') } }],
    predicateType: POLICY_ROLLBACK_PREDICATE,
    predicate: { from: input.from, to: input.to, reason: input.reason, createdAt: (input.now ?? new Date()).toISOString() },
  }).bundle;
}

/**
 * Verifies a rollback statement against trusted keys and checks it names
 * exactly this move: from the active version, to this version and digest.
 * Returns its reason and signer for the audit record.
 */
export function verifyRollbackStatement(bytes: string | Uint8Array, keys: KeyRing, expected: Omit<RollbackClaim, 'reason'>): { reason: string; signer: string } {
  const r = new BundleVerifier(keys).verify(bytes, { predicateType: POLICY_ROLLBACK_PREDICATE });
  const refuse = (why: string): never => {
    throw new PolicyVersionError('ROLLBACK_STATEMENT_INVALID', `rollback statement ${why}`);
  };
  if (!r.ok) return refuse(`does not verify: ${r.code}: ${r.message}`);
  const s = r.statement!;
  const p = s.predicate ?? {};
  if (p.to !== expected.to) refuse(`names version ${JSON.stringify(p.to)}, not ${expected.to}`);
  if (p.from !== expected.from) refuse(`is from version ${JSON.stringify(p.from)}, but the active version is ${expected.from}`);
  const hex = expected.digest.replace(/^sha256:/, '');
  if (s.subject.length !== 1 || s.subject[0]!.digest.sha256 !== hex) refuse(`does not name the digest of bundle v${expected.to} (${expected.digest})`);
  if (typeof p.reason !== 'string' || p.reason.trim() === '') refuse('has no reason');
  return { reason: p.reason as string, signer: r.signer.kind === 'key' ? r.signer.keyId : r.signer.identity };
}
