export {
  EvaluationPool,
  EvaluationPoolError,
  type EvaluationPoolErrorCode,
  type EvaluationPoolOptions,
  type IndeterminateReason,
  type RunOptions,
  type RunOutcome,
} from './pool.ts';
export type { WorkerModule } from './protocol.ts';
