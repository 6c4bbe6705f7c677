import type { Digest } from './digest.ts';
import { VerificationCode, VerificationError } from './errors.ts';
import type { KeyAlgorithm } from './keys.ts';
import type { Statement } from './statement.ts';

/** Who signed: a key warrant trusts, or a certificate identity from a Sigstore CA. */
export type SignerInfo =
  | { kind: 'key'; keyId: string; algorithm: KeyAlgorithm | 'unknown' }
  | { kind: 'certificate'; identity: string; issuer: string | undefined };

export interface VerifiedEvidence {
  ok: true;
  code: 'OK';
  message: string;
  signer: SignerInfo;
  /** The in-toto statement; absent for a message-signature bundle. */
  statement: Statement | undefined;
  /** sha256 of the normalized DSSE envelope; absent for a message-signature bundle. */
  envelopeDigest: Digest | undefined;
}

export interface VerificationFailure {
  ok: false;
  code: VerificationCode;
  message: string;
}

export type VerificationResult = VerifiedEvidence | VerificationFailure;

/** Turns anything thrown during verification into a failure with a code: a verifier never crashes. */
export function toFailure(err: unknown): VerificationFailure {
  if (err instanceof VerificationError) return { ok: false, code: err.code, message: err.message };
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return { ok: false, code: VerificationCode.LIMIT_EXCEEDED, message: 'input nests too deeply to process' };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, code: VerificationCode.MALFORMED, message: `input could not be processed: ${message}` };
}
