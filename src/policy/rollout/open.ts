import type { KeyRing } from '../../evidence/index.ts';
import { PolicyEngine, type PolicyEngineOptions } from '../engine.ts';
import { readActive } from '../versions/index.ts';
import { RolloutError } from './errors.ts';
import { addOverflow, loadVersion, promoteRollout, rollbackRollout } from './lifecycle.ts';
import type { RolloutDecision } from './judge.ts';
import type { RolloutRun } from './run.ts';
import { readShadow } from './shadow.ts';
import { rolloutInProgress, shadowPath, type RolloutState } from './state.ts';

export interface OpenedRollout {
  run: RolloutRun;
  close(): Promise<void>;
}

export interface OpenRolloutOptions extends PolicyEngineOptions {
  clock?: () => Date;
  /** Called after an automatic decision is applied, to record it (an audit event). */
  onDecision?: (state: RolloutState, decision: Exclude<RolloutDecision, { action: 'continue' }>) => Promise<void>;
}

/**
 * The rollout in progress with both bundles verified and compiled, or
 * undefined when none is. A rollout whose `from` is no longer the active
 * version is stale (someone activated around it) and is refused.
 */
export async function openRollout(home: string, keys: KeyRing, options: OpenRolloutOptions = {}): Promise<OpenedRollout | undefined> {
  const state = await rolloutInProgress(home);
  if (state === undefined) return undefined;
  const active = await readActive(home);
  if (active?.version !== state.from.version || active.digest !== state.from.digest) {
    throw new RolloutError('ROLLOUT_INVALID', `rollout ${state.id} started from v${state.from.version}, but v${active?.version ?? 'none'} is active: roll it back`);
  }
  const [oldBundle, newBundle] = [await loadVersion(home, keys, state.from.version), await loadVersion(home, keys, state.to.version)];
  if (oldBundle.digest !== state.from.digest || newBundle.digest !== state.to.digest) {
    throw new RolloutError('ROLLOUT_INVALID', `the bundles of rollout ${state.id} no longer match its digests`);
  }
  const { clock = () => new Date(), onDecision, ...engineOptions } = options;
  const oldEngine = await PolicyEngine.fromSources(oldBundle.sources, engineOptions);
  let newEngine: PolicyEngine;
  try {
    newEngine = await PolicyEngine.fromSources(newBundle.sources, engineOptions);
  } catch (err) {
    await oldEngine.close();
    throw err;
  }
  const file = shadowPath(home, state.id);
  const run: RolloutRun = {
    state,
    engines: { old: oldEngine, new: newEngine },
    shadowFile: file,
    records: await readShadow(file),
    overflow: 0,
    clock,
    async decide(decision) {
      const now = clock();
      const next = decision.action === 'promote' ? await promoteRollout(home, keys, { now, cause: decision.cause }) : await rollbackRollout(home, { now, cause: decision.cause });
      await onDecision?.(next, decision);
      return next;
    },
  };
  return {
    run,
    async close() {
      await Promise.all([oldEngine.close(), newEngine.close()]);
      await addOverflow(home, state.id, run.overflow);
    },
  };
}
