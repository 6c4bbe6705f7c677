import { randomBytes } from 'node:crypto';
import type { KeyRing } from '../../evidence/index.ts';
import { activatePolicy, loadActivePolicy, loadPolicyBundle, readBundleFile, type LoadedPolicyBundle } from '../versions/index.ts';
import { RolloutError } from './errors.ts';
import { DEFAULT_CRITERIA, DEFAULT_MIN_SAMPLES, DEFAULT_SOAK_SECONDS, readRollout, rolloutInProgress, writeRollout, type RolloutCriteria, type RolloutDecisionCause, type RolloutState } from './state.ts';

export interface RolloutRequest {
  version: number;
  canaryPercent: number;
  soakSeconds?: number;
  minSamples?: number;
  criteria?: Partial<RolloutCriteria>;
  auto?: boolean;
  now?: Date;
}

/**
 * Starts a canary of a published version against the active one. Only a newer
 * version may be rolled out: going back is activation with a signed rollback
 * statement, which a canary must not become a way around.
 */
export async function startRollout(home: string, keys: KeyRing, request: RolloutRequest): Promise<RolloutState> {
  const current = await rolloutInProgress(home);
  if (current) throw new RolloutError('ROLLOUT_IN_PROGRESS', `rollout ${current.id} of v${current.to.version} is in progress: promote or roll it back first`);
  if (!Number.isInteger(request.canaryPercent) || request.canaryPercent < 1 || request.canaryPercent > 100) {
    throw new RolloutError('ROLLOUT_INVALID', `canary percent ${request.canaryPercent} must be an integer from 1 to 100`);
  }
  const active = await loadActivePolicy(home, keys);
  if (request.version <= active.version) {
    throw new RolloutError('ROLLOUT_VERSION_REFUSED', `v${request.version} is not above the active v${active.version}: use 'warrant policy activate' with a rollback statement`);
  }
  const target = await loadVersion(home, keys, request.version);
  const state: RolloutState = {
    id: randomBytes(8).toString('hex'),
    from: { version: active.version, digest: active.digest },
    to: { version: target.version, digest: target.digest },
    canaryPercent: request.canaryPercent,
    startedAt: (request.now ?? new Date()).toISOString(),
    soakSeconds: request.soakSeconds ?? DEFAULT_SOAK_SECONDS,
    minSamples: request.minSamples ?? DEFAULT_MIN_SAMPLES,
    criteria: { ...DEFAULT_CRITERIA, ...request.criteria },
    auto: request.auto ?? false,
    status: 'in-progress',
  };
  await writeRollout(home, state);
  return state;
}

/** Makes the new version the active one and closes the rollout. */
export async function promoteRollout(home: string, keys: KeyRing, options: { now?: Date; cause?: RolloutDecisionCause } = {}): Promise<RolloutState> {
  const state = await requireInProgress(home);
  const target = await loadVersion(home, keys, state.to.version);
  if (target.digest !== state.to.digest) throw new RolloutError('ROLLOUT_INVALID', `v${state.to.version} is now ${target.digest}, not the rolled-out ${state.to.digest}`);
  const now = options.now ?? new Date();
  await activatePolicy(home, keys, state.to.version, { now });
  return decided(home, state, 'promoted', now, options.cause);
}

/** Closes the rollout; the old version never stopped being active, so the next evaluation uses only it. */
export async function rollbackRollout(home: string, options: { now?: Date; cause?: RolloutDecisionCause } = {}): Promise<RolloutState> {
  const state = await requireInProgress(home);
  return decided(home, state, 'rolled-back', options.now ?? new Date(), options.cause);
}

async function decided(home: string, state: RolloutState, status: RolloutState['status'], now: Date, cause: RolloutDecisionCause | undefined): Promise<RolloutState> {
  const next: RolloutState = { ...state, status, decidedAt: now.toISOString(), ...(cause ? { decidedBy: cause } : {}) };
  await writeRollout(home, next);
  return next;
}

async function requireInProgress(home: string): Promise<RolloutState> {
  const state = await readRollout(home);
  if (state?.status !== 'in-progress') throw new RolloutError('ROLLOUT_NOT_FOUND', `no rollout in progress`);
  return state;
}

export async function loadVersion(home: string, keys: KeyRing, version: number): Promise<LoadedPolicyBundle> {
  const bundle = loadPolicyBundle(await readBundleFile(home, version), keys);
  if (bundle.version !== version) throw new RolloutError('ROLLOUT_INVALID', `the bundle file for v${version} holds v${bundle.version}`);
  return bundle;
}

/** Counts shadow records the full log could not hold, so status can say the stats are a prefix. */
export async function addOverflow(home: string, id: string, count: number): Promise<void> {
  if (count === 0) return;
  const state = await readRollout(home);
  if (state?.id === id) await writeRollout(home, { ...state, overflow: (state.overflow ?? 0) + count });
}
