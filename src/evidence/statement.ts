import { KNOWN_HEX_DIGESTS, type Digest } from './digest.ts';
import { VerificationCode, VerificationError } from './errors.ts';
import { isPlainObject } from './json.ts';
import type { Limits } from './limits.ts';

/** in-toto Attestation Framework, Statement layer v1. */
export const STATEMENT_TYPE_V1 = 'https://in-toto.io/Statement/v1';
/** Earlier layer still found in the wild (npm provenance, SLSA v0.2); the same shape. */
export const STATEMENT_TYPE_V01 = 'https://in-toto.io/Statement/v0.1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** in-toto ResourceDescriptor, as used for subjects. Unknown fields are kept. */
export interface Subject {
  name: string;
  digest: Record<string, string>;
  [field: string]: unknown;
}

export interface Statement {
  _type: string;
  subject: Subject[];
  predicateType: string;
  predicate?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface StatementInput {
  subjects: Subject[];
  predicateType: string;
  predicate?: Record<string, unknown>;
}

export function buildStatement(input: StatementInput): Statement {
  const statement: Statement = {
    _type: STATEMENT_TYPE_V1,
    subject: input.subjects.map((s) => ({ ...s, digest: { ...s.digest } })),
    predicateType: input.predicateType,
    predicate: input.predicate ?? {},
  };
  // Building runs the same checks as parsing, so nothing warrant writes fails its own reader.
  return validateStatement(statement);
}

/** Checks a parsed payload is an in-toto Statement and returns it typed; unknown fields are preserved. */
export function validateStatement(value: unknown, limits?: Pick<Limits, 'maxSubjects'>): Statement {
  const fail = (message: string): never => {
    throw new VerificationError(VerificationCode.STATEMENT_INVALID, `statement ${message}`);
  };
  if (!isPlainObject(value)) return fail('is not a JSON object');
  if (value._type !== STATEMENT_TYPE_V1 && value._type !== STATEMENT_TYPE_V01) {
    fail(`_type is ${JSON.stringify(value._type)}, expected "${STATEMENT_TYPE_V1}"`);
  }
  const subjects = value.subject;
  if (!Array.isArray(subjects) || subjects.length === 0) fail('subject must be a non-empty array');
  const list = subjects as unknown[];
  if (limits && list.length > limits.maxSubjects) {
    throw new VerificationError(
      VerificationCode.LIMIT_EXCEEDED,
      `statement has ${list.length} subjects, over the limit of ${limits.maxSubjects}`,
    );
  }
  list.forEach((s, i) => validateSubject(s, i, fail));
  if (typeof value.predicateType !== 'string' || !isUri(value.predicateType)) {
    fail('predicateType must be a URI');
  }
  if (value.predicate !== undefined && !isPlainObject(value.predicate)) fail('predicate must be a JSON object');
  return value as Statement;
}

const HEX_PATTERNS = new Map(
  Object.entries(KNOWN_HEX_DIGESTS).map(([alg, length]) => [alg, new RegExp(`^[0-9a-f]{${length}}$`)]),
);

function validateSubject(s: unknown, i: number, fail: (m: string) => never): void {
  if (!isPlainObject(s)) fail(`subject[${i}] is not an object`);
  const subject = s as Record<string, unknown>;
  if (typeof subject.name !== 'string') fail(`subject[${i}].name must be a string`);
  if (!isPlainObject(subject.digest) || Object.keys(subject.digest).length === 0) {
    fail(`subject[${i}].digest must be a non-empty map of algorithm to digest`);
  }
  for (const [alg, hex] of Object.entries(subject.digest as Record<string, unknown>)) {
    if (typeof hex !== 'string' || hex.length === 0) fail(`subject[${i}].digest.${alg} must be a non-empty string`);
    const pattern = HEX_PATTERNS.get(alg);
    if (pattern !== undefined && !pattern.test(hex as string)) {
      fail(`subject[${i}].digest.${alg} must be ${KNOWN_HEX_DIGESTS[alg]} lowercase hex characters`);
    }
  }
}

function isUri(text: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/.test(text);
}

/** The subjects' digests of the given algorithm, for indexing and matching. */
export function subjectDigests(statement: Statement, algorithm: Digest['algorithm'] = 'sha256'): Digest[] {
  const out: Digest[] = [];
  for (const s of statement.subject) {
    const hex = s.digest[algorithm];
    if (hex !== undefined) out.push({ algorithm, hex });
  }
  return out;
}

export function statementHasSubject(statement: Statement, digest: Digest): boolean {
  return statement.subject.some((s) => s.digest[digest.algorithm] === digest.hex);
}
