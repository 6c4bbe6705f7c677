import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  bucketOf,
  DEFAULT_CRITERIA,
  evaluateWithRollout,
  judgeRollout,
  newDecides,
  readShadow,
  subjectKey,
  type EvaluationInput,
  type PolicyResult,
  type RolloutEngine,
  type RolloutResult,
  type RolloutRun,
  type RolloutState,
  type RolloutStats,
  type ShadowRecord,
} from '../../src/policy/index.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/evidence.ts';
import { logState, RESOURCES, setup } from './helpers.ts';

const ID = '0123456789abcdef';
const T0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function state(over: Partial<RolloutState> = {}): RolloutState {
  return {
    id: ID,
    from: { version: 1, digest: 'sha256:old' },
    to: { version: 2, digest: 'sha256:new' },
    canaryPercent: 50,
    startedAt: T0.toISOString(),
    soakSeconds: 600,
    minSamples: 100,
    criteria: { ...DEFAULT_CRITERIA },
    auto: false,
    status: 'in-progress',
    ...over,
  };
}

function stats(over: Partial<RolloutStats> = {}): RolloutStats {
  return { samples: 100, disagreements: 0, newDenyRate: 0, indeterminateRate: 0, p99OldMs: 1, p99NewMs: 2, addedLatencyMs: 1, ...over };
}

const digestOf = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

function deployment(name: string, digest?: string): EvaluationInput {
  return {
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'prod' },
      spec: { template: { spec: { containers: [{ name, image: digest ? `r/x@${digest}` : 'r/x:latest' }] } } },
    },
  };
}

/** An engine that gives every input one result with a fixed outcome, counting calls. */
function fakeEngine(result: PolicyResult['result'], effect: PolicyResult['effect']): RolloutEngine & { calls: number } {
  const engine = {
    calls: 0,
    evaluate(input: EvaluationInput): Promise<PolicyResult[]> {
      engine.calls++;
      const meta = input.object?.metadata as { name: string; namespace: string };
      return Promise.resolve([
        { policy: 'p', policyKind: 'x', resource: `${meta.namespace}/${meta.name}`, kind: 'Deployment', binding: undefined, result, effect, actions: ['Deny'], failurePolicy: 'Fail', validations: [], message: undefined },
      ]);
    },
  };
  return engine;
}

function run(over: Partial<RolloutRun> = {}): RolloutRun & { engines: { old: ReturnType<typeof fakeEngine>; new: ReturnType<typeof fakeEngine> } } {
  let tick = 0;
  return {
    state: state(),
    engines: { old: fakeEngine('pass', 'allow'), new: fakeEngine('fail', 'deny') },
    shadowFile: join(tempDir(), 'shadow.jsonl'),
    records: [],
    overflow: 0,
    clock: () => T0,
    // Each evaluation takes exactly 1 ms.
    timer: () => tick++,
    ...over,
  } as RolloutRun & { engines: { old: ReturnType<typeof fakeEngine>; new: ReturnType<typeof fakeEngine> } };
}

describe('rollout canary buckets', () => {
  test('a subject keeps its bucket for the rollout; the key is the first digest, else the identity', () => {
    const d = digestOf('a');
    assert.equal(subjectKey(deployment('web', d)), d);
    assert.equal(subjectKey(deployment('batch')), 'Deployment/prod/batch');
    assert.equal(bucketOf(ID, d), bucketOf(ID, d));
    const expected = createHash('sha256').update(`${ID}:${d}`).digest().readUInt32BE(0) % 100;
    assert.equal(bucketOf(ID, d), expected);
    // Another rollout reshuffles: over many subjects, some bucket differs.
    assert.ok(Array.from({ length: 50 }, (_, i) => digestOf(String(i))).some((k) => bucketOf(ID, k) !== bucketOf('fedcba9876543210', k)));
  });

  test('about 10% of 10,000 random subjects go to the new version at --canary 10%', () => {
    let n = 0;
    for (let i = 0; i < 10_000; i++) if (newDecides(ID, `sha256:${randomBytes(32).toString('hex')}`, 10)) n++;
    assert.ok(n > 850 && n < 1150, `${n} of 10000`);
  });
});

describe('evaluateWithRollout', () => {
  test('the bucketed subjects are decided by the new version, the rest by the old, and every disagreement is recorded', async () => {
    const r = run();
    const inputs = Array.from({ length: 20 }, (_, i) => deployment(`d${i}`, digestOf(`d${i}`)));
    const deciders: string[] = [];
    for (const input of inputs) {
      const results: RolloutResult[] = await evaluateWithRollout(r, input);
      const wantNew = bucketOf(ID, subjectKey(input)) < 50;
      assert.equal(results.length, 1);
      assert.equal(results[0]!.rollout?.decidedBy, wantNew ? 'new' : 'old');
      assert.equal(results[0]!.policyVersion, wantNew ? 2 : 1);
      assert.equal(results[0]!.effect, wantNew ? 'deny' : 'allow');
      assert.deepEqual(results[0]!.rollout?.shadow, wantNew ? { version: 1, outcomes: { p: { result: 'pass', effect: 'allow' } } } : { version: 2, outcomes: { p: { result: 'fail', effect: 'deny' } } });
      deciders.push(results[0]!.rollout!.decidedBy);
    }
    assert.ok(deciders.includes('new') && deciders.includes('old'), 'both versions decide some of 20 subjects');
    const records: ShadowRecord[] = await readShadow(r.shadowFile);
    assert.equal(records.length, 20);
    assert.ok(records.every((x) => x.disagree && x.old.latencyMs === 1 && x.new.latencyMs === 1 && x.at === T0.toISOString()));
    assert.deepEqual(records.map((x) => x.decider), deciders);
    assert.equal(r.engines.old.calls, 20);
    assert.equal(r.engines.new.calls, 20);
  });

  test('agreeing versions record no disagreement; a decided rollout runs only the surviving version', async () => {
    const same = run({ engines: { old: fakeEngine('pass', 'allow'), new: fakeEngine('pass', 'allow') } });
    await evaluateWithRollout(same, deployment('a'));
    assert.equal((await readShadow(same.shadowFile))[0]!.disagree, false);

    const back = run({ state: state({ status: 'rolled-back' }) });
    const results = await evaluateWithRollout(back, deployment('a'));
    assert.deepEqual([results[0]!.policyVersion, results[0]!.rollout, back.engines.old.calls, back.engines.new.calls], [1, undefined, 1, 0]);
    assert.deepEqual(await readShadow(back.shadowFile), []);
    const promoted = run({ state: state({ status: 'promoted' }) });
    assert.equal((await evaluateWithRollout(promoted, deployment('a')))[0]!.policyVersion, 2);
    assert.equal(promoted.engines.old.calls, 0);
  });

  test('--auto: once minSamples are in, a crossed criterion rolls back by itself and later inputs use the old version', async () => {
    const decisions: unknown[] = [];
    const r = run({ state: state({ auto: true, minSamples: 3 }) });
    r.decide = (d) => {
      decisions.push(d);
      return Promise.resolve(state({ auto: true, minSamples: 3, status: 'rolled-back', decidedBy: d.cause }));
    };
    for (let i = 0; i < 5; i++) await evaluateWithRollout(r, deployment(`d${i}`));
    assert.deepEqual(decisions, [{ action: 'rollback', cause: { criterion: 'maxNewDenyRate', value: 1, threshold: 0.05 } }]);
    assert.equal(r.state.status, 'rolled-back');
    assert.equal(r.engines.new.calls, 3);
    assert.equal(r.engines.old.calls, 5);
  });
});

describe('judgeRollout', () => {
  test('each crossed criterion rolls back, naming it', () => {
    const s = state();
    assert.deepEqual(judgeRollout(s, stats({ newDenyRate: 0.06 }), at(1)), { action: 'rollback', cause: { criterion: 'maxNewDenyRate', value: 0.06, threshold: 0.05 } });
    assert.deepEqual(judgeRollout(s, stats({ indeterminateRate: 0.02 }), at(1)), { action: 'rollback', cause: { criterion: 'maxIndeterminateRate', value: 0.02, threshold: 0.01 } });
    assert.deepEqual(judgeRollout(s, stats({ addedLatencyMs: 7 }), at(1)), { action: 'rollback', cause: { criterion: 'maxAddedLatencyMs', value: 7, threshold: 5 } });
  });

  test('all criteria holding after the soak window promotes; before it, or under minSamples, the rollout goes on', () => {
    const s = state();
    assert.deepEqual(judgeRollout(s, stats(), at(600)), { action: 'promote', cause: { criterion: 'soak', value: 600, threshold: 600 } });
    assert.deepEqual(judgeRollout(s, stats(), at(599)), { action: 'continue' });
    assert.deepEqual(judgeRollout(s, stats({ samples: 99, newDenyRate: 1 }), at(6000)), { action: 'continue' });
    assert.deepEqual(judgeRollout(state({ status: 'rolled-back' }), stats({ newDenyRate: 1 }), at(6000)), { action: 'continue' });
    // Exactly at a threshold holds.
    assert.equal(judgeRollout(s, stats({ newDenyRate: 0.05, indeterminateRate: 0.01, addedLatencyMs: 5 }), at(600)).action, 'promote');
  });
});

const STRICT = `apiVersion: warrant.dev/v1alpha1
kind: Policy
metadata:
  name: single-replica
spec:
  mode: enforce
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: ["apps"]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["deployments"]
  validations:
    - expression: object.spec.replicas <= 1
      message: one replica only
`;

type EvalOut = { results: { policy: string; policyVersion: number; rollout?: { id: string; decidedBy: 'old' | 'new' } }[] };

describe('warrant policy rollout', () => {
  test('start, eval both versions, status, rollback, auto rollback, promote; audit events logged', async () => {
    const s = await setup();
    const cli = (...args: string[]) => runCli(args, { env: s.env });
    assert.equal((await cli('policy', 'publish', s.policies, '--key', s.keyFile)).code, 0);
    writeFileSync(join(s.policies, 'strict.yaml'), STRICT);
    assert.equal((await cli('policy', 'publish', s.policies, '--key', s.keyFile)).code, 0);
    assert.equal((await cli('policy', 'activate', '1')).code, 0);
    const shadow = (id: string) => readShadow(join(s.home, 'policy', 'rollout', `${id}.jsonl`));
    const rolloutFile = () => JSON.parse(readFileSync(join(s.home, 'policy', 'rollout.json'), 'utf8')) as RolloutState;
    const evaluate = async () => JSON.parse((await cli('policy', 'eval', '--bundle', 'active', '--input', RESOURCES, '--json')).stdout) as EvalOut;

    const low = await cli('policy', 'rollout', 'start', '1', '--canary', '10%');
    assert.equal(low.code, 1);
    assert.match(low.stderr, /ROLLOUT_VERSION_REFUSED: v1 is not above the active v1/);
    assert.equal((await cli('policy', 'rollout', 'start', '2')).code, 2);

    const started = await cli('policy', 'rollout', 'start', '2', '--canary', '50%', '--max-added-latency-ms', '100000');
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /rollout [0-9a-f]{16}: v1 -> v2 at 50%/);
    const first = rolloutFile();
    assert.deepEqual([first.status, first.canaryPercent, first.soakSeconds, first.criteria.maxAddedLatencyMs], ['in-progress', 50, 600, 100000]);
    assert.equal((await cli('policy', 'rollout', 'start', '2', '--canary', '50%')).code, 2, 'one rollout at a time');

    const during = await evaluate();
    const records = await shadow(first.id);
    assert.equal(records.length, 4);
    for (const r of records) {
      assert.equal(r.bucket, bucketOf(first.id, r.subject));
      assert.equal(r.decider, r.bucket < 50 ? 'new' : 'old');
    }
    assert.equal(during.results.length, records.reduce((n, r) => n + (r.decider === 'new' ? 4 : 3), 0));
    assert.ok(during.results.every((r) => r.rollout?.id === first.id && r.policyVersion === (r.rollout.decidedBy === 'new' ? 2 : 1)));
    assert.ok(records.filter((r) => r.disagree).length >= 2, 'the stricter version disagrees on both deployments');

    const st = await cli('policy', 'rollout', 'status', '--json');
    const status = JSON.parse(st.stdout) as { stats: RolloutStats; criteria: { criterion: string; holds: boolean }[] };
    assert.equal(status.stats.samples, 4);
    assert.ok(status.stats.disagreements >= 2);
    assert.equal(status.stats.newDenyRate, 0.5);
    assert.deepEqual(status.criteria.map((c) => [c.criterion, c.holds]), [['maxNewDenyRate', false], ['maxIndeterminateRate', true], ['maxAddedLatencyMs', true]]);
    assert.match((await cli('policy', 'rollout', 'status')).stdout, /CROSSED maxNewDenyRate 0\.5 <= 0\.05/);

    const back = await cli('policy', 'rollout', 'rollback');
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /rolled-back: active policy v1/);
    assert.equal((JSON.parse((await cli('policy', 'status', '--json')).stdout) as { active: { version: number } }).active.version, 1);
    const after = await evaluate();
    assert.equal(after.results.length, 12);
    assert.ok(after.results.every((r) => r.policyVersion === 1 && r.rollout === undefined));
    assert.equal((await shadow(first.id)).length, 4, 'nothing recorded once decided');
    assert.equal((await cli('policy', 'rollout', 'promote')).code, 2, 'nothing in progress');

    // --auto rolls back by itself when the new version denies too much, naming the criterion.
    const auto = await cli('policy', 'rollout', 'start', '2', '--canary', '10%', '--auto', '--min-samples', '3', '--max-new-deny-rate', '0.1', '--max-indeterminate-rate', '1', '--max-added-latency-ms', '100000');
    assert.equal(auto.code, 0, auto.stderr);
    await evaluate();
    const judged = rolloutFile();
    assert.equal(judged.status, 'rolled-back');
    assert.equal(judged.decidedBy?.criterion, 'maxNewDenyRate');
    assert.equal((await shadow(judged.id)).length, 3, 'the fourth input ran on the old version only');

    const again = await cli('policy', 'rollout', 'start', '2', '--canary', '10%');
    assert.equal(again.code, 0, again.stderr);
    const promoted = await cli('policy', 'rollout', 'promote');
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.match(promoted.stdout, /promoted: active policy v2/);
    assert.equal((JSON.parse((await cli('policy', 'status', '--json')).stdout) as { active: { version: number } }).active.version, 2);
    assert.ok((await evaluate()).results.every((r) => r.policyVersion === 2 && r.rollout === undefined));

    const { actions } = await logState(s);
    assert.deepEqual(actions.filter((a) => a.startsWith('policy.rollout.')), [
      'policy.rollout.start',
      'policy.rollout.rollback',
      'policy.rollout.start',
      'policy.rollout.rollback',
      'policy.rollout.start',
      'policy.rollout.promote',
    ]);
  });
});
