/** A subject digest as stored: one row per (algorithm, digest) a statement names. */
export interface StoredSubject {
  name: string;
  algorithm: string;
  digest: string;
}

/** What the evidence module hands the store: a verified bundle and its index keys. */
export interface NewEvidence {
  /** `sha256:<hex>` of the normalized DSSE envelope: the de-duplication key. */
  envelopeDigest: string;
  payloadType: string;
  predicateType: string;
  /** Key id or certificate identity that signed. */
  signer: string;
  subjects: StoredSubject[];
  /** The bundle JSON, as received. */
  bundle: string;
}

export interface StoredEvidence extends NewEvidence {
  /** Store-assigned, increasing in insertion order. */
  id: number;
  /** ISO 8601 UTC. */
  addedAt: string;
}

export interface AddResult {
  envelopeDigest: string;
  id: number;
  /** False when the same envelope was already stored: a replay changes nothing. */
  inserted: boolean;
}

/**
 * The storage contract. SQLite and PostgreSQL implement it, and one contract
 * test suite runs against both; modules depend on this interface only.
 */
export interface EvidenceStore {
  readonly kind: 'sqlite' | 'postgres';
  /** A short description for logs and `/readyz` (never a password). */
  readonly location: string;
  schemaVersion(): Promise<number>;
  addEvidence(evidence: NewEvidence): Promise<AddResult>;
  getEvidence(envelopeDigest: string): Promise<StoredEvidence | undefined>;
  /** Statements naming this subject digest (`sha256:<hex>`), oldest first. */
  listBySubject(subjectDigest: string, limit?: number): Promise<StoredEvidence[]>;
  countEvidence(): Promise<number>;
  /** Throws StoreError STORE_UNAVAILABLE when the database cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type StoreErrorCode = 'SCHEMA_TOO_NEW' | 'STORE_UNAVAILABLE' | 'STORE_URL_INVALID' | 'STORE_CORRUPT';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export const DEFAULT_LIST_LIMIT = 1000;

/** Splits `algorithm:hex` for the subject index. */
export function splitDigest(subjectDigest: string): [string, string] {
  const i = subjectDigest.indexOf(':');
  if (i <= 0) throw new TypeError(`subject digest "${subjectDigest}" must be algorithm:hex`);
  return [subjectDigest.slice(0, i), subjectDigest.slice(i + 1)];
}

/** Rows from `first` on, stopping at the first gap: a missing row ends what exists. */
export function contiguous<R extends { idx: number | string }>(rows: R[], first: number): R[] {
  let n = 0;
  while (n < rows.length && Number(rows[n]!.idx) === first + n) n++;
  return rows.slice(0, n);
}
