import { performance } from 'node:perf_hooks';
import type { EvaluationInput, PolicyResult } from '../evaluate.ts';
import { bucketOf, subjectKey } from './bucket.ts';
import { computeStats, judgeRollout, type RolloutDecision } from './judge.ts';
import { appendShadow, disagree, MAX_SHADOW_RECORDS, outcomesOf, type Outcomes, type ShadowRecord } from './shadow.ts';
import type { RolloutState } from './state.ts';

/** Anything that evaluates an input into policy results (a PolicyEngine, or a fake in tests). */
export interface RolloutEngine {
  evaluate(input: EvaluationInput): Promise<PolicyResult[]>;
}

/** One process's view of a rollout: both engines, the shadow log, and what it has recorded. */
export interface RolloutRun {
  state: RolloutState;
  engines: { old: RolloutEngine; new: RolloutEngine };
  shadowFile: string;
  /** Records so far (read from the shadow log at open, then appended to). */
  records: ShadowRecord[];
  /** Records not written in this run because the log was full. */
  overflow: number;
  clock: () => Date;
  /** Monotonic milliseconds, for latency. */
  timer?: () => number;
  /** Applies an automatic decision (promote or roll back, with audit) and returns the new state. */
  decide?: (decision: Exclude<RolloutDecision, { action: 'continue' }>) => Promise<RolloutState>;
}

export type RolloutResult = PolicyResult & {
  policyVersion: number;
  rollout?: { id: string; decidedBy: 'old' | 'new'; shadow: { version: number; outcomes: Outcomes } };
};

/**
 * Evaluates one input with both versions while a rollout is in progress: the
 * canary bucket picks which decides, the other is recorded as the shadow. Once
 * the rollout is decided, only the surviving version runs.
 */
export async function evaluateWithRollout(run: RolloutRun, input: EvaluationInput): Promise<RolloutResult[]> {
  const { state } = run;
  if (state.status !== 'in-progress') {
    const promoted = state.status === 'promoted';
    const results = await (promoted ? run.engines.new : run.engines.old).evaluate(input);
    return results.map((r) => ({ ...r, policyVersion: promoted ? state.to.version : state.from.version }));
  }
  const timer = run.timer ?? (() => performance.now());
  const timed = async (engine: RolloutEngine) => {
    const start = timer();
    const results = await engine.evaluate(input);
    return { results, latencyMs: timer() - start };
  };
  // Sequential, not parallel: concurrent runs would inflate each other's latency.
  const old = await timed(run.engines.old);
  const neu = await timed(run.engines.new);
  const subject = subjectKey(input);
  const bucket = bucketOf(state.id, subject);
  const decider: 'old' | 'new' = bucket < state.canaryPercent ? 'new' : 'old';
  const oldOutcomes = outcomesOf(old.results);
  const newOutcomes = outcomesOf(neu.results);
  const record: ShadowRecord = {
    at: run.clock().toISOString(),
    subject,
    bucket,
    decider,
    old: { version: state.from.version, outcomes: oldOutcomes, latencyMs: old.latencyMs },
    new: { version: state.to.version, outcomes: newOutcomes, latencyMs: neu.latencyMs },
    disagree: disagree(oldOutcomes, newOutcomes),
  };
  if (run.records.length < MAX_SHADOW_RECORDS) {
    await appendShadow(run.shadowFile, record);
    run.records.push(record);
  } else {
    run.overflow++;
  }
  const [deciding, shadow] = decider === 'new' ? [neu, { version: state.from.version, outcomes: oldOutcomes }] : [old, { version: state.to.version, outcomes: newOutcomes }];
  const results = deciding.results.map((r) => ({
    ...r,
    policyVersion: decider === 'new' ? state.to.version : state.from.version,
    rollout: { id: state.id, decidedBy: decider, shadow },
  }));
  if (state.auto && run.decide) {
    const decision = judgeRollout(state, computeStats(run.records), run.clock());
    if (decision.action !== 'continue') run.state = await run.decide(decision);
  }
  return results;
}
