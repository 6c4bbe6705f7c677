// Canary rollouts of policy versions: both versions evaluated, a deterministic share decided by the new one,
// disagreements recorded, and the new version promoted or rolled back by explicit criteria.
export { bucketOf, newDecides, subjectKey } from './bucket.ts';
export { RolloutError, type RolloutErrorCode } from './errors.ts';
export { checkCriteria, computeStats, judgeRollout, p99, soakElapsedSeconds, type CriterionCheck, type RolloutDecision, type RolloutStats } from './judge.ts';
export { addOverflow, promoteRollout, rollbackRollout, startRollout, type RolloutRequest } from './lifecycle.ts';
export { openRollout, type OpenedRollout, type OpenRolloutOptions } from './open.ts';
export { evaluateWithRollout, type RolloutEngine, type RolloutResult, type RolloutRun } from './run.ts';
export { appendShadow, disagree, MAX_SHADOW_RECORDS, outcomesOf, readShadow, type Outcomes, type ShadowRecord } from './shadow.ts';
export {
  DEFAULT_CRITERIA,
  DEFAULT_MIN_SAMPLES,
  DEFAULT_SOAK_SECONDS,
  readRollout,
  rolloutInProgress,
  rolloutPath,
  shadowPath,
  writeRollout,
  type CriterionName,
  type RolloutCriteria,
  type RolloutDecisionCause,
  type RolloutState,
  type RolloutStatus,
} from './state.ts';
