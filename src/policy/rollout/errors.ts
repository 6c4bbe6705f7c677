/** Stable codes for policy rollouts; printed by the CLI and asserted by tests. */
export type RolloutErrorCode =
  /** No rollout state, or none in progress when one is needed. */
  | 'ROLLOUT_NOT_FOUND'
  /** A rollout is already in progress: finish it (promote or rollback) first. */
  | 'ROLLOUT_IN_PROGRESS'
  /** The target is not above the active version: activation with a rollback statement is for that. */
  | 'ROLLOUT_VERSION_REFUSED'
  /** The rollout state file is malformed, or the target bundle no longer matches its digest. */
  | 'ROLLOUT_INVALID';

export class RolloutError extends Error {
  readonly code: RolloutErrorCode;
  constructor(code: RolloutErrorCode, message: string) {
    super(message);
    this.name = 'RolloutError';
    this.code = code;
  }
}
