/**
 * Stable failure codes. They are part of warrant's public interface: the CLI
 * prints them, `--json` carries them and tests assert on them, so a code is
 * never renamed; new ones may be added.
 */
export const VerificationCode = {
  /** The input is not a well-formed bundle, envelope or statement. */
  MALFORMED: 'MALFORMED',
  /** The input is larger, deeper or more numerous than the configured limits. */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** The DSSE payloadType is not the in-toto one. */
  PAYLOAD_TYPE: 'PAYLOAD_TYPE',
  /** No trusted key matches the signature's key id. */
  KEY_UNKNOWN: 'KEY_UNKNOWN',
  /** A signature does not verify over the DSSE pre-authentication encoding. */
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  /** The payload is not a valid in-toto Statement. */
  STATEMENT_INVALID: 'STATEMENT_INVALID',
  /** An artifact's digest is not among the statement's subjects. */
  SUBJECT_MISMATCH: 'SUBJECT_MISMATCH',
  /** The statement's predicateType is not the one asked for. */
  PREDICATE_TYPE_MISMATCH: 'PREDICATE_TYPE_MISMATCH',
  /** Certificate chain, transparency log, timestamp or SCT checks failed (Sigstore trust). */
  TRUST_INVALID: 'TRUST_INVALID',
  /** The certificate's identity or issuer does not satisfy the identity policy. */
  IDENTITY_MISMATCH: 'IDENTITY_MISMATCH',
  /** The bundle kind cannot be checked the way it was asked (e.g. a certificate bundle with only --key). */
  UNSUPPORTED: 'UNSUPPORTED',
} as const;

export type VerificationCode = (typeof VerificationCode)[keyof typeof VerificationCode];

/** A verification failure: a stable code and a sentence a person understands. */
export class VerificationError extends Error {
  readonly code: VerificationCode;
  constructor(code: VerificationCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerificationError';
    this.code = code;
  }
}

/** Bad input to a builder or parser outside verification (keys, CLI arguments, files). */
export class InputError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InputError';
    this.code = code;
  }
}
