/**
 * Bounds on every input the evidence core parses. A value over a bound is a
 * LIMIT_EXCEEDED failure, decided before the expensive work (decoding,
 * hashing, signature checks) so a hostile input costs little.
 */
export interface Limits {
  /** Bytes of bundle or envelope JSON. */
  maxDocumentBytes: number;
  /** Bytes of the decoded DSSE payload. */
  maxPayloadBytes: number;
  /** Nesting depth of any JSON document (objects and arrays). */
  maxJsonDepth: number;
  /** Signatures in one DSSE envelope. */
  maxSignatures: number;
  /** Subjects in one statement. */
  maxSubjects: number;
  /** Bytes of one signature, decoded. */
  maxSignatureBytes: number;
  /** Bytes of an artifact hashed for subject matching, read as a stream. */
  maxArtifactBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxDocumentBytes: 32 * 1024 * 1024,
  maxPayloadBytes: 24 * 1024 * 1024,
  maxJsonDepth: 64,
  maxSignatures: 16,
  maxSubjects: 4096,
  maxSignatureBytes: 1024,
  maxArtifactBytes: 64 * 1024 * 1024 * 1024,
});

export function withLimits(overrides?: Partial<Limits>): Limits {
  return { ...DEFAULT_LIMITS, ...overrides };
}
