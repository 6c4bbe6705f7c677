import { DEFAULT_LIMITS } from '../../evidence/index.ts';
import { loadTrustedKeys } from '../../intake/index.ts';
import {
  isActive,
  loadActivePolicy,
  loadExceptions,
  loadGateBundle,
  openRollout,
  RolloutError,
  evaluateWithRollout,
  type EvaluationInput,
  type ExceptedResult,
  type PolicyEngineOptions,
  type PolicyResult,
  type LoadedPolicyBundle,
  type PolicyException,
} from '../../policy/index.ts';
import { UsageError, readInput, warrantHome, type Io } from '../io.ts';
import { auditDecision } from './policy-rollout.ts';

/** `--bundle active|FILE`: the verified active bundle, or a verified bundle not older than the active one. */
export async function evalBundle(spec: string, io: Io): Promise<LoadedPolicyBundle> {
  const home = warrantHome(io.env);
  const keys = await loadTrustedKeys(home);
  if (keys.size === 0) throw new UsageError(`--bundle needs trusted keys: add one with 'warrant trust add PUB'`);
  if (spec === 'active') return loadActivePolicy(home, keys);
  return loadGateBundle(home, await readInput(spec, 'policy bundle', DEFAULT_LIMITS.maxDocumentBytes), keys);
}

/** Exceptions in force now; ones that do not verify are named on stderr and never applied. */
export async function exceptionsInForce(io: Io): Promise<PolicyException[]> {
  const home = warrantHome(io.env);
  const { exceptions, rejected } = await loadExceptions(home, await loadTrustedKeys(home));
  for (const r of rejected) io.err(`warrant: ignored exception ${r.file}: ${r.message}`);
  const now = new Date();
  return exceptions.filter((e) => isActive(e, now));
}

export type DecidedResult = ExceptedResult & { policyVersion: number | null; mode: ExceptedResult['actions'] };

/** Every decision says which policy version (null for unversioned files) and mode produced it. */
export function withProvenance(results: readonly ExceptedResult[], version: number | undefined): DecidedResult[] {
  // During a rollout each result already names the version that decided it.
  return results.map((r) => ({ ...r, policyVersion: ('policyVersion' in r && typeof r.policyVersion === 'number' ? r.policyVersion : undefined) ?? version ?? null, mode: r.actions }));
}

/** During a rollout, `--bundle active` evaluates with both versions (see policy/rollout); otherwise undefined. */
export async function activeRollout(
  spec: string | undefined,
  io: Io,
  options: PolicyEngineOptions,
): Promise<{ evaluate(input: EvaluationInput): Promise<PolicyResult[]>; close(): Promise<void> } | undefined> {
  if (spec !== 'active') return undefined;
  const home = warrantHome(io.env);
  let opened;
  try {
    opened = await openRollout(home, await loadTrustedKeys(home), { ...options, onDecision: (state, decision) => auditDecision(io, state, decision) });
  } catch (err) {
    // A stale or broken rollout must stop the gate with its code, not crash it.
    if (err instanceof RolloutError) throw new UsageError(`${err.code}: ${err.message}`);
    throw err;
  }
  if (opened === undefined) return undefined;
  return { evaluate: (input) => evaluateWithRollout(opened.run, input), close: () => opened.close() };
}
