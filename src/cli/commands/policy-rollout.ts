import { loadTrustedKeys, openWarrant } from '../../intake/index.ts';
import {
  checkCriteria,
  computeStats,
  judgeRollout,
  promoteRollout,
  readRollout,
  readShadow,
  rollbackRollout,
  RolloutError,
  shadowPath,
  soakElapsedSeconds,
  startRollout,
  type RolloutCriteria,
  type RolloutDecision,
  type RolloutState,
} from '../../policy/index.ts';
import type { TrustedKeys } from '../../evidence/index.ts';
import { Exit, UsageError, parse, warrantHome, type ExitCode, type Io } from '../io.ts';
import { actor, versionArg } from './policy-errors.ts';

export const rolloutUsage = `warrant policy rollout start VERSION --canary PERCENT% [--soak 10m] [--min-samples N] [--auto]
    [--max-new-deny-rate 0.05] [--max-indeterminate-rate 0.01] [--max-added-latency-ms 5]
  Canaries a newer published version: 'policy eval --bundle active' evaluates both versions,
  the new one decides for PERCENT% of subjects (by digest), and every input is recorded with
  both outcomes. --auto promotes once the soak window passes with every criterion holding,
  and rolls back as soon as one is crossed (after --min-samples), naming it.
warrant policy rollout status [--json] | promote | rollback
  Samples, disagreements and criteria against thresholds; promote activates the new version;
  rollback ends the rollout at once, leaving the old version active.`;

export async function rollout(args: string[], io: Io): Promise<ExitCode> {
  const [verb, ...rest] = args;
  try {
    if (verb === 'start') return await start(rest, io);
    if (verb === 'status') return await status(rest, io);
    if (verb === 'promote' || verb === 'rollback') return await decide(verb, rest, io);
  } catch (err) {
    if (!(err instanceof RolloutError)) throw err;
    io.err(`warrant: ${err.code}: ${err.message}`);
    // Asking for what cannot be (no rollout, one already running) is usage; a refusal on the versions is a denial.
    return err.code === 'ROLLOUT_NOT_FOUND' || err.code === 'ROLLOUT_IN_PROGRESS' ? Exit.USAGE : Exit.DENIED;
  }
  throw new UsageError(rolloutUsage);
}

async function start(args: string[], io: Io): Promise<ExitCode> {
  const { values, positionals } = parse(
    args,
    {
      canary: { type: 'string' },
      soak: { type: 'string' },
      'min-samples': { type: 'string' },
      'max-new-deny-rate': { type: 'string' },
      'max-indeterminate-rate': { type: 'string' },
      'max-added-latency-ms': { type: 'string' },
      auto: { type: 'boolean', default: false },
    },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('policy rollout start needs exactly one VERSION');
  const version = versionArg(positionals[0], 'VERSION');
  const canary = /^([1-9][0-9]?|100)%?$/.exec(values.canary ?? '');
  if (!canary) throw new UsageError('policy rollout start needs --canary PERCENT (1% to 100%)');
  const criteria: Partial<RolloutCriteria> = {};
  if (values['max-new-deny-rate'] !== undefined) criteria.maxNewDenyRate = rate(values['max-new-deny-rate'], '--max-new-deny-rate');
  if (values['max-indeterminate-rate'] !== undefined) criteria.maxIndeterminateRate = rate(values['max-indeterminate-rate'], '--max-indeterminate-rate');
  if (values['max-added-latency-ms'] !== undefined) criteria.maxAddedLatencyMs = number(values['max-added-latency-ms'], '--max-added-latency-ms');
  const home = warrantHome(io.env);
  const state = await startRollout(home, await trustedKeys(home), {
    version,
    canaryPercent: Number(canary[1]),
    ...(values.soak !== undefined ? { soakSeconds: duration(values.soak) } : {}),
    ...(values['min-samples'] !== undefined ? { minSamples: versionArg(values['min-samples'], '--min-samples') } : {}),
    criteria,
    auto: values.auto,
  });
  const index = await audit(io, 'policy.rollout.start', state, { canaryPercent: state.canaryPercent, soakSeconds: state.soakSeconds, minSamples: state.minSamples, criteria: state.criteria, auto: state.auto });
  io.out(`rollout ${state.id}: v${state.from.version} -> v${state.to.version} at ${state.canaryPercent}%${state.auto ? ' (auto)' : ''}; audit log index ${index}`);
  return Exit.OK;
}

async function status(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, { json: { type: 'boolean', default: false } });
  const home = warrantHome(io.env);
  let state = await readRollout(home);
  if (state === undefined) throw new RolloutError('ROLLOUT_NOT_FOUND', 'no rollout has been started');
  const stats = computeStats(await readShadow(shadowPath(home, state.id)));
  const now = new Date();
  if (state.auto && state.status === 'in-progress') {
    const decision = judgeRollout(state, stats, now);
    if (decision.action !== 'continue') state = await applyDecision(home, io, decision, now);
  }
  const criteria = checkCriteria(state, stats);
  const soak = { elapsedSeconds: Math.floor(soakElapsedSeconds(state, now)), soakSeconds: state.soakSeconds };
  if (values.json) {
    io.out(JSON.stringify({ rollout: state, stats, criteria, soak }, null, 2));
    return Exit.OK;
  }
  io.out(`rollout ${state.id} ${state.status}: v${state.from.version} -> v${state.to.version} at ${state.canaryPercent}%${state.auto ? ' (auto)' : ''}`);
  if (state.decidedBy) io.out(`decided by ${state.decidedBy.criterion}: ${state.decidedBy.value} vs ${state.decidedBy.threshold}`);
  io.out(`samples ${stats.samples} (min ${state.minSamples})${state.overflow ? ` + ${state.overflow} not recorded` : ''}, disagreements ${stats.disagreements}`);
  io.out(`p99 latency old ${stats.p99OldMs.toFixed(2)} ms, new ${stats.p99NewMs.toFixed(2)} ms`);
  for (const c of criteria) io.out(`${c.holds ? 'HOLDS  ' : 'CROSSED'} ${c.criterion} ${round(c.value)} <= ${c.threshold}`);
  io.out(`soak ${soak.elapsedSeconds}s of ${soak.soakSeconds}s`);
  return Exit.OK;
}

async function decide(verb: 'promote' | 'rollback', args: string[], io: Io): Promise<ExitCode> {
  parse(args, {});
  const home = warrantHome(io.env);
  const state = verb === 'promote' ? await promoteRollout(home, await trustedKeys(home)) : await rollbackRollout(home);
  const index = await audit(io, `policy.rollout.${verb}`, state, { auto: false });
  const active = verb === 'promote' ? state.to.version : state.from.version;
  io.out(`rollout ${state.id} ${state.status}: active policy v${active}; audit log index ${index}`);
  return Exit.OK;
}

/** Applies an automatic verdict and records which criterion made it. */
export async function applyDecision(home: string, io: Io, decision: Exclude<RolloutDecision, { action: 'continue' }>, now: Date): Promise<RolloutState> {
  const state = decision.action === 'promote' ? await promoteRollout(home, await trustedKeys(home), { now, cause: decision.cause }) : await rollbackRollout(home, { now, cause: decision.cause });
  await auditDecision(io, state, decision);
  return state;
}

export async function auditDecision(io: Io, state: RolloutState, decision: Exclude<RolloutDecision, { action: 'continue' }>): Promise<void> {
  await audit(io, `policy.rollout.${decision.action}`, state, { auto: true, ...decision.cause });
}

async function audit(io: Io, action: string, state: RolloutState, details: Record<string, unknown>): Promise<bigint> {
  const warrant = await openWarrant(warrantHome(io.env), io.env);
  try {
    return await warrant.audit({
      actor: actor(io),
      action,
      target: `policy-rollout ${state.id}`,
      outcome: 'success',
      details: { from: state.from, to: state.to, status: state.status, ...details },
    });
  } finally {
    await warrant.close();
  }
}

async function trustedKeys(home: string): Promise<TrustedKeys> {
  const keys = await loadTrustedKeys(home);
  if (keys.size === 0) throw new UsageError(`no trusted keys: add one with 'warrant trust add PUB'`);
  return keys;
}

function duration(value: string): number {
  const m = /^([1-9][0-9]{0,6})(s|m|h)?$/.exec(value);
  if (!m) throw new UsageError('--soak must be a duration like 600, 90s, 10m or 1h');
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

function rate(value: string, name: string): number {
  const n = number(value, name);
  if (n > 1) throw new UsageError(`${name} must be a rate from 0 to 1`);
  return n;
}

function number(value: string, name: string): number {
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw new UsageError(`${name} must be a non-negative number`);
  return Number(value);
}

function round(n: number): number {
  return Math.round(n * 10000) / 10000;
}
