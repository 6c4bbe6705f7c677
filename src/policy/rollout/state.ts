import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { policyDir, writeAtomic } from '../versions/index.ts';
import { RolloutError } from './errors.ts';

export interface RolloutCriteria {
  /** Highest acceptable share of samples the new version would deny. */
  maxNewDenyRate: number;
  /** Highest acceptable share of samples with an indeterminate (or error) result under the new version. */
  maxIndeterminateRate: number;
  /** Highest acceptable p99 latency of the new version minus the p99 of the old one, in ms. */
  maxAddedLatencyMs: number;
}

export type RolloutStatus = 'in-progress' | 'promoted' | 'rolled-back';
export type CriterionName = keyof RolloutCriteria;

export interface RolloutDecisionCause {
  criterion: CriterionName | 'soak';
  value: number;
  threshold: number;
}

/** What `$WARRANT_HOME/policy/rollout.json` holds. */
export interface RolloutState {
  id: string;
  from: { version: number; digest: string };
  to: { version: number; digest: string };
  canaryPercent: number;
  startedAt: string;
  soakSeconds: number;
  minSamples: number;
  criteria: RolloutCriteria;
  auto: boolean;
  status: RolloutStatus;
  decidedAt?: string;
  decidedBy?: RolloutDecisionCause;
  /** Shadow records not written because the log reached its bound. */
  overflow?: number;
}

export const DEFAULT_CRITERIA: RolloutCriteria = { maxNewDenyRate: 0.05, maxIndeterminateRate: 0.01, maxAddedLatencyMs: 5 };
export const DEFAULT_SOAK_SECONDS = 600;
export const DEFAULT_MIN_SAMPLES = 100;

export function rolloutPath(home: string): string {
  return join(policyDir(home), 'rollout.json');
}

export function shadowPath(home: string, id: string): string {
  return join(policyDir(home), 'rollout', `${id}.jsonl`);
}

export async function readRollout(home: string): Promise<RolloutState | undefined> {
  let text: string;
  try {
    text = await readFile(rolloutPath(home), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let v: Partial<RolloutState>;
  try {
    v = JSON.parse(text) as Partial<RolloutState>;
  } catch {
    throw new RolloutError('ROLLOUT_INVALID', `${rolloutPath(home)} is not JSON`);
  }
  const ok =
    typeof v.id === 'string' &&
    /^[0-9a-f]{16}$/.test(v.id) &&
    typeof v.from?.version === 'number' &&
    typeof v.to?.version === 'number' &&
    typeof v.canaryPercent === 'number' &&
    typeof v.criteria === 'object' &&
    (v.status === 'in-progress' || v.status === 'promoted' || v.status === 'rolled-back');
  // The id names the shadow log file, so it must never be a path.
  if (!ok) throw new RolloutError('ROLLOUT_INVALID', `${rolloutPath(home)} is not a rollout state`);
  return v as RolloutState;
}

export async function writeRollout(home: string, state: RolloutState): Promise<void> {
  await writeAtomic(rolloutPath(home), JSON.stringify(state, null, 2) + '\n');
}

/** The rollout in progress, or undefined when there is none (or the last one is decided). */
export async function rolloutInProgress(home: string): Promise<RolloutState | undefined> {
  const s = await readRollout(home);
  return s?.status === 'in-progress' ? s : undefined;
}
