import type { PolicyResult } from '../evaluate.ts';
import { isActive, type PolicyException } from './exception.ts';

/**
 * The active exception that covers a resource for a policy: it must name the
 * policy and every digest the resource references, so an exception for one
 * image never waives a failure caused by another.
 */
export function exceptionFor(
  exceptions: readonly PolicyException[],
  policy: string,
  subjectDigests: readonly string[],
  now: Date = new Date(),
): PolicyException | undefined {
  if (subjectDigests.length === 0) return undefined;
  return exceptions.find((e) => e.policy === policy && isActive(e, now) && subjectDigests.every((d) => e.subjects.includes(d)));
}

export type ExceptedResult = PolicyResult & { exception?: { id: string; owner: string; reason: string; expires: string } };

/**
 * Turns a failed result into a pass when an active exception covers it, and
 * says so: the result carries the exception and its message names it, and the
 * validations still show what failed.
 */
export function applyExceptions(
  results: readonly PolicyResult[],
  exceptions: readonly PolicyException[],
  subjectDigests: readonly string[],
  now: Date = new Date(),
): ExceptedResult[] {
  return results.map((r) => {
    if (r.result !== 'fail') return r;
    const e = exceptionFor(exceptions, r.policy, subjectDigests, now);
    if (e === undefined) return r;
    return {
      ...r,
      result: 'pass',
      effect: 'allow',
      message: `excepted until ${e.expires} by ${e.owner} (${e.reason}); failed: ${r.message ?? 'no message'}`,
      exception: { id: e.id, owner: e.owner, reason: e.reason, expires: e.expires },
    };
  });
}
