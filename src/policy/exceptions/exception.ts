import { attest, BundleVerifier, formatDigest, parseDigest, type Bundle, type KeyRing, type PrivateKey } from '../../evidence/index.ts';
import { PolicyExceptionError } from './errors.ts';

export const POLICY_EXCEPTION_PREDICATE = 'urn:warrant:predicate:policy-exception:v1';
/** An exception is a decision to revisit, not a setting: it ends within this many days. */
export const MAX_EXCEPTION_DAYS = 90;
const DAY_MS = 24 * 60 * 60 * 1000;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export interface ExceptionRequest {
  policy: string;
  /** `sha256:<hex>` digests of the artifacts excepted. */
  subjects: string[];
  owner: string;
  reason: string;
  /** RFC 3339. */
  expires: string;
}

/** A verified exception. */
export interface PolicyException extends ExceptionRequest {
  createdAt: string;
  signer: string;
  /** `sha256:<hex>` of the DSSE envelope: names this exception in the store and the log. */
  id: string;
}

/** Checks and signs an exception; `now` is injectable so tests can make one that has already expired. */
export function buildException(input: ExceptionRequest & { key: PrivateKey; now?: Date }): Bundle {
  const now = input.now ?? new Date();
  const request = checkRequest(input, now);
  return attest({
    key: input.key,
    subjects: request.subjects.map((d) => ({ name: d, digest: { sha256: parseDigest(d).hex } })),
    predicateType: POLICY_EXCEPTION_PREDICATE,
    predicate: { policy: request.policy, owner: request.owner, reason: request.reason, expires: request.expires, createdAt: now.toISOString() },
  }).bundle;
}

/** Verifies a stored exception against trusted keys and re-checks its terms as signed. */
export function verifyException(bytes: string | Uint8Array, keys: KeyRing): PolicyException {
  const r = new BundleVerifier(keys).verify(bytes, { predicateType: POLICY_EXCEPTION_PREDICATE });
  if (!r.ok) throw new PolicyExceptionError('EXCEPTION_UNVERIFIED', `exception does not verify: ${r.code}: ${r.message}`);
  const s = r.statement!;
  const p = s.predicate ?? {};
  const fields = ['policy', 'owner', 'reason', 'expires', 'createdAt'] as const;
  for (const f of fields) {
    if (typeof p[f] !== 'string') throw new PolicyExceptionError('EXCEPTION_UNVERIFIED', `exception predicate.${f} must be a string`);
  }
  const subjects = s.subject.map((sub) => (sub.digest.sha256 === undefined ? '' : `sha256:${sub.digest.sha256}`));
  if (subjects.includes('')) throw new PolicyExceptionError('EXCEPTION_UNVERIFIED', 'exception subjects must be sha256 digests');
  const createdAt = p.createdAt as string;
  const request = { policy: p.policy as string, subjects, owner: p.owner as string, reason: p.reason as string, expires: p.expires as string };
  try {
    // The same terms as at signing, measured from when it was made: a hand-made 10-year exception is not one.
    checkRequest(request, new Date(createdAt));
  } catch (err) {
    throw new PolicyExceptionError('EXCEPTION_UNVERIFIED', (err as Error).message);
  }
  return {
    ...request,
    createdAt,
    signer: r.signer.kind === 'key' ? r.signer.keyId : r.signer.identity,
    id: formatDigest(r.envelopeDigest!),
  };
}

export function isActive(e: Pick<PolicyException, 'expires'>, now: Date): boolean {
  return Date.parse(e.expires) > now.getTime();
}

function checkRequest(input: ExceptionRequest, now: Date): ExceptionRequest {
  const invalid = (why: string): never => {
    throw new PolicyExceptionError('EXCEPTION_INVALID', `exception ${why}`);
  };
  if (input.policy.trim() === '') invalid('needs a policy name');
  if (input.subjects.length === 0) invalid('needs at least one subject digest');
  const subjects = input.subjects.map((d) => {
    try {
      const parsed = parseDigest(d);
      if (parsed.algorithm !== 'sha256') invalid(`subject ${d} must be a sha256 digest`);
      return formatDigest(parsed);
    } catch (err) {
      return invalid(`subject: ${(err as Error).message}`);
    }
  });
  if (!/^[^\s@]+@[^\s@]+$/.test(input.owner)) invalid(`owner "${input.owner.slice(0, 80)}" must be an email address`);
  if (input.reason.trim() === '') invalid('needs a reason');
  if (input.reason.length > 2000) invalid('reason is over 2000 characters');
  const expiresMs = RFC3339.test(input.expires) ? Date.parse(input.expires) : NaN;
  if (Number.isNaN(expiresMs)) invalid(`expires "${input.expires.slice(0, 80)}" must be an RFC 3339 time`);
  if (expiresMs <= now.getTime()) invalid(`expires ${input.expires} is not in the future`);
  if (expiresMs - now.getTime() > MAX_EXCEPTION_DAYS * DAY_MS) invalid(`expires ${input.expires} is more than ${MAX_EXCEPTION_DAYS} days away`);
  return { ...input, subjects: [...new Set(subjects)], expires: new Date(expiresMs).toISOString() };
}
