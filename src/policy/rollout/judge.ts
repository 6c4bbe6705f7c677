import type { ShadowRecord } from './shadow.ts';
import type { CriterionName, RolloutDecisionCause, RolloutState } from './state.ts';

export interface RolloutStats {
  samples: number;
  disagreements: number;
  /** Share of samples where the new version denies (would deny, when old decided). */
  newDenyRate: number;
  /** Share of samples with an indeterminate or error result under the new version. */
  indeterminateRate: number;
  p99OldMs: number;
  p99NewMs: number;
  addedLatencyMs: number;
}

export function computeStats(records: readonly ShadowRecord[]): RolloutStats {
  const n = records.length;
  const rate = (f: (r: ShadowRecord) => boolean) => (n === 0 ? 0 : records.filter(f).length / n);
  const p99Old = p99(records.map((r) => r.old.latencyMs));
  const p99New = p99(records.map((r) => r.new.latencyMs));
  return {
    samples: n,
    disagreements: records.filter((r) => r.disagree).length,
    newDenyRate: rate((r) => Object.values(r.new.outcomes).some((o) => o.effect === 'deny')),
    indeterminateRate: rate((r) => Object.values(r.new.outcomes).some((o) => o.result === 'indeterminate' || o.result === 'error')),
    p99OldMs: p99Old,
    p99NewMs: p99New,
    addedLatencyMs: p99New - p99Old,
  };
}

/** Nearest-rank p99; 0 for no samples. */
export function p99(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)]!;
}

export interface CriterionCheck {
  criterion: CriterionName;
  value: number;
  threshold: number;
  holds: boolean;
}

const VALUE: Record<CriterionName, (s: RolloutStats) => number> = {
  maxNewDenyRate: (s) => s.newDenyRate,
  maxIndeterminateRate: (s) => s.indeterminateRate,
  maxAddedLatencyMs: (s) => s.addedLatencyMs,
};

export function checkCriteria(state: RolloutState, stats: RolloutStats): CriterionCheck[] {
  return (Object.keys(VALUE) as CriterionName[]).map((criterion) => {
    const value = VALUE[criterion](stats);
    const threshold = state.criteria[criterion];
    return { criterion, value, threshold, holds: value <= threshold };
  });
}

export type RolloutDecision = { action: 'continue' } | { action: 'promote' | 'rollback'; cause: RolloutDecisionCause };

/**
 * The canary verdict. Nothing is decided under minSamples (a few early denials
 * are noise); then a crossed criterion rolls back at once, and all holding
 * once the soak window has elapsed promotes.
 */
export function judgeRollout(state: RolloutState, stats: RolloutStats, now: Date): RolloutDecision {
  if (state.status !== 'in-progress' || stats.samples < state.minSamples) return { action: 'continue' };
  const crossed = checkCriteria(state, stats).find((c) => !c.holds);
  if (crossed) return { action: 'rollback', cause: { criterion: crossed.criterion, value: crossed.value, threshold: crossed.threshold } };
  const elapsed = soakElapsedSeconds(state, now);
  if (elapsed >= state.soakSeconds) return { action: 'promote', cause: { criterion: 'soak', value: elapsed, threshold: state.soakSeconds } };
  return { action: 'continue' };
}

export function soakElapsedSeconds(state: RolloutState, now: Date): number {
  return Math.max(0, (now.getTime() - Date.parse(state.startedAt)) / 1000);
}
