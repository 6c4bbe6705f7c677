import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attest, generateKey, type Bundle, type KeyAlgorithm, type PrivateKey } from '../../src/evidence/index.ts';

export const DEMO_PREDICATE = 'https://example.com/predicate/test/v1';

export function tempDir(prefix = 'warrant-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A bundle signed by `key` about one named subject with the given sha256. */
export function signedBundle(
  key: PrivateKey,
  sha256 = 'a'.repeat(64),
  predicate: Record<string, unknown> = { n: 1 },
): Bundle {
  return attest({ key, subjects: [{ name: 'app.tar', digest: { sha256 } }], predicateType: DEMO_PREDICATE, predicate })
    .bundle;
}

export function freshKey(alg: KeyAlgorithm = 'ed25519'): PrivateKey {
  return generateKey(alg);
}

/** Decodes, edits and re-encodes a bundle's DSSE payload (the signature is left as it was). */
export function withPayload(bundle: Bundle, edit: (statement: Record<string, unknown>) => unknown): Bundle {
  const env = bundle.dsseEnvelope!;
  const statement = JSON.parse(Buffer.from(env.payload, 'base64').toString()) as Record<string, unknown>;
  const payload = Buffer.from(JSON.stringify(edit(statement))).toString('base64');
  return { ...bundle, dsseEnvelope: { ...env, payload } };
}
