import { DEFAULT_LIMITS } from '../../evidence/index.ts';
import { loadTrustedKeys } from '../../intake/index.ts';
import {
  isActive,
  loadActivePolicy,
  loadExceptions,
  loadGateBundle,
  type ExceptedResult,
  type LoadedPolicyBundle,
  type PolicyException,
} from '../../policy/index.ts';
import { UsageError, readInput, warrantHome, type Io } from '../io.ts';

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
  return results.map((r) => ({ ...r, policyVersion: version ?? null, mode: r.actions }));
}
