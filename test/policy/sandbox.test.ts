import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  EvaluationPool,
  EvaluationPoolError,
  type EvaluationPoolOptions,
  type RunOutcome,
} from '../../src/policy/sandbox/index.ts';

const workerModule = new URL('./fixtures/sandbox-worker.ts', import.meta.url);
// Hang guard for every test that provokes runaway work: a failure must not wedge the run.
const GUARD = { timeout: 20_000 };

interface WhoAmI {
  threadId: number;
  label: string;
  handled: number;
}

async function withPool(
  options: Partial<EvaluationPoolOptions>,
  body: (pool: EvaluationPool) => Promise<void>,
): Promise<void> {
  const pool = new EvaluationPool({ workerModule, init: { label: 'policies-v1' }, ...options });
  try {
    await body(pool);
  } finally {
    await pool.close();
  }
}

function ok(outcome: RunOutcome): unknown {
  assert.equal(outcome.outcome, 'ok', inspect(outcome));
  return (outcome as { value: unknown }).value;
}

function indeterminate(outcome: RunOutcome, reason: string): void {
  assert.equal(outcome.outcome, 'indeterminate', inspect(outcome));
  assert.equal((outcome as { reason: string }).reason, reason, inspect(outcome));
}

async function whoami(pool: EvaluationPool): Promise<WhoAmI> {
  return ok(await pool.run({ op: 'whoami' })) as WhoAmI;
}

function list(n: number): bigint[] {
  return Array.from({ length: n }, (_, i) => BigInt(i));
}

describe('EvaluationPool', () => {
  test('a fast request returns ok, with setup(init) applied', GUARD, async () => {
    await withPool({}, async (pool) => {
      assert.deepEqual(ok(await pool.run({ op: 'echo', value: { a: [1, 2n, 'x'] } })), { a: [1, 2n, 'x'] });
      assert.equal((await whoami(pool)).label, 'policies-v1');
    });
  });

  test('an infinite loop is cut off at the deadline and the next request runs on a fresh worker', GUARD, async () => {
    await withPool({ size: 1, deadlineMs: 100 }, async (pool) => {
      const before = await whoami(pool);
      const outcome = await pool.run({ op: 'loop' });
      indeterminate(outcome, 'DEADLINE_EXCEEDED');
      assert.match((outcome as { message: string }).message, /100 ms deadline/);
      const after = await whoami(pool);
      assert.notEqual(after.threadId, before.threadId, 'the looping worker was replaced');
      assert.equal(after.label, 'policies-v1', 'init is re-applied to the respawned worker');
      assert.equal(after.handled, 1);
    });
  });

  test('runaway CEL (4-deep nested map, O(n^2) exists_one) is cut off; ordinary CEL works', GUARD, async () => {
    await withPool({ size: 1 }, async (pool) => {
      const nested = await pool.run({
        op: 'cel',
        expr: 'size(l.map(x, l.map(y, l.map(z, l.map(w, x)))))',
        bindings: { l: list(100) },
      });
      indeterminate(nested, 'DEADLINE_EXCEEDED');
      const quadratic = await pool.run({
        op: 'cel',
        expr: 'l.all(a, l.exists_one(b, b == a))',
        bindings: { l: list(20_000) },
      });
      indeterminate(quadratic, 'DEADLINE_EXCEEDED');
      const small = await pool.run({ op: 'cel', expr: 'size(l.map(x, l.map(y, x)))', bindings: { l: list(10) } });
      assert.equal(ok(small), 10n);
    });
  });

  test('a deadline can be set per request', GUARD, async () => {
    await withPool({ size: 1, deadlineMs: 20 }, async (pool) => {
      indeterminate(await pool.run({ op: 'spin', ms: 200 }), 'DEADLINE_EXCEEDED');
      assert.equal(ok(await pool.run({ op: 'spin', ms: 200 }, { deadlineMs: 5_000 })), 'spun');
    });
  });

  test('allocating past the heap limit gives MEMORY_EXCEEDED, then recovery', GUARD, async () => {
    // A long deadline, so it is the heap cap and not the clock that stops it.
    await withPool({ size: 1, deadlineMs: 15_000, maxOldGenerationSizeMb: 32 }, async (pool) => {
      const before = await whoami(pool);
      const outcome = await pool.run({ op: 'alloc' });
      indeterminate(outcome, 'MEMORY_EXCEEDED');
      assert.match((outcome as { message: string }).message, /32 MB/);
      const after = await whoami(pool);
      assert.notEqual(after.threadId, before.threadId);
      assert.equal(after.label, 'policies-v1');
    });
  });

  test('a throwing handler is an error outcome, and the worker stays in service', GUARD, async () => {
    await withPool({ size: 1 }, async (pool) => {
      const before = await whoami(pool);
      assert.deepEqual(await pool.run({ op: 'throw' }), { outcome: 'error', message: 'RangeError: handler bug' });
      const after = await whoami(pool);
      assert.equal(after.threadId, before.threadId, 'no respawn for an ordinary exception');
      assert.equal(after.handled, before.handled + 2);
    });
  });

  test('a result that cannot be cloned is an error outcome', GUARD, async () => {
    await withPool({ size: 1 }, async (pool) => {
      const outcome = await pool.run({ op: 'unclonable' });
      assert.equal(outcome.outcome, 'error');
      assert.match((outcome as { message: string }).message, /DataCloneError/);
    });
  });

  test('a request that cannot be cloned is an error outcome, measured or not', GUARD, async () => {
    for (const maxInputBytes of [1024, Infinity]) {
      await withPool({ size: 1, maxInputBytes }, async (pool) => {
        // Both queued before the worker is ready: the refused one must not strand the other.
        const [bad, good] = await Promise.all([
          pool.run({ op: 'echo', value: () => 1 }),
          pool.run({ op: 'echo', value: 'still fine' }),
        ]);
        assert.equal(bad.outcome, 'error', `maxInputBytes ${maxInputBytes}`);
        assert.match((bad as { message: string }).message, /not structured-cloneable/);
        assert.equal(ok(good), 'still fine');
      });
    }
  });

  test('process.exit inside the worker gives WORKER_CRASHED, then recovery', GUARD, async () => {
    await withPool({ size: 1 }, async (pool) => {
      const before = await whoami(pool);
      const outcome = await pool.run({ op: 'exit' });
      indeterminate(outcome, 'WORKER_CRASHED');
      assert.match((outcome as { message: string }).message, /exit code 1/);
      const after = await whoami(pool);
      assert.notEqual(after.threadId, before.threadId);
      assert.equal(after.label, 'policies-v1');
    });
  });

  test('50 parallel requests all complete with their own answers', GUARD, async () => {
    await withPool({}, async (pool) => {
      const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.run({ op: 'echo', value: i })));
      assert.deepEqual(
        outcomes.map(ok),
        Array.from({ length: 50 }, (_, i) => i),
      );
    });
  });

  test('requests beyond the queue bound are OVERLOADED at once', GUARD, async () => {
    await withPool({ size: 1, maxQueue: 2, deadlineMs: 5_000 }, async (pool) => {
      await pool.ready();
      // One running, two waiting, two refused.
      const pending = Array.from({ length: 5 }, () => pool.run({ op: 'spin', ms: 100 }));
      const outcomes = await Promise.all(pending);
      assert.deepEqual(
        outcomes.map((o) => (o.outcome === 'indeterminate' ? o.reason : o.outcome)),
        ['ok', 'ok', 'ok', 'OVERLOADED', 'OVERLOADED'],
      );
    });
  });

  test('a request over maxInputBytes is INPUT_TOO_LARGE and never reaches a worker', GUARD, async () => {
    await withPool({ size: 1, maxInputBytes: 1024 }, async (pool) => {
      const before = await whoami(pool);
      const outcome = await pool.run({ op: 'echo', value: 'x'.repeat(2048) });
      indeterminate(outcome, 'INPUT_TOO_LARGE');
      assert.match((outcome as { message: string }).message, /over the 1024-byte limit/);
      const after = await whoami(pool);
      assert.equal(after.threadId, before.threadId);
      assert.equal(after.handled, before.handled + 1, 'the oversized request was not handled');
      assert.equal(ok(await pool.run({ op: 'echo', value: 'x'.repeat(512) })), 'x'.repeat(512));
    });
  });

  test('a failing setup fails the pool: ready() rejects, run() is SETUP_FAILED', GUARD, async () => {
    const pool = new EvaluationPool({ workerModule, init: { label: 'bad', failSetup: true } });
    try {
      await assert.rejects(pool.ready(), (error: unknown) => {
        assert.ok(error instanceof EvaluationPoolError);
        assert.equal(error.code, 'SETUP_FAILED');
        assert.match(error.message, /setup refused/);
        return true;
      });
      indeterminate(await pool.run({ op: 'echo', value: 1 }), 'SETUP_FAILED');
    } finally {
      await pool.close();
    }
  });

  test('a worker module that cannot be loaded fails the pool', GUARD, async () => {
    const pool = new EvaluationPool({ workerModule: new URL('./fixtures/no-such-worker.ts', import.meta.url) });
    try {
      // Queued before setup fails: it must be answered, not left waiting.
      const outcome = await pool.run({ op: 'echo', value: 1 });
      indeterminate(outcome, 'SETUP_FAILED');
      assert.match((outcome as { message: string }).message, /no-such-worker/);
      await assert.rejects(pool.ready(), { code: 'SETUP_FAILED' });
    } finally {
      await pool.close();
    }
  });

  test('invalid options are EvaluationPoolError INVALID_OPTIONS', GUARD, async () => {
    assert.throws(() => new EvaluationPool({ workerModule, size: 0 }), { code: 'INVALID_OPTIONS' });
    assert.throws(() => new EvaluationPool({ workerModule, deadlineMs: -1 }), { code: 'INVALID_OPTIONS' });
    assert.throws(() => new EvaluationPool({ workerModule, init: { f: () => 1 } }), { code: 'INVALID_OPTIONS' });
    await withPool({ size: 1 }, async (pool) => {
      await assert.rejects(pool.run({ op: 'echo' }, { deadlineMs: Number.NaN }), { code: 'INVALID_OPTIONS' });
    });
  });

  test('close() answers outstanding requests and stops every worker thread', GUARD, async () => {
    // Linux only: Node names each worker's native thread after the Worker's name option.
    const isWorker = (task: string): boolean => {
      try {
        return readFileSync(`/proc/self/task/${task}/comm`, 'utf8').startsWith('warrant-evaluat');
      } catch {
        return false; // exited between listing and reading
      }
    };
    const workerThreads = (): number | undefined =>
      existsSync('/proc/self/task') ? readdirSync('/proc/self/task').filter(isWorker).length : undefined;
    const before = workerThreads();
    const pool = new EvaluationPool({ workerModule, init: { label: 'x' }, size: 2, deadlineMs: 10_000 });
    await pool.ready();
    if (before !== undefined) assert.equal(workerThreads(), before + 2);
    // Two running, one queued.
    const outstanding = [pool.run({ op: 'loop' }), pool.run({ op: 'loop' }), pool.run({ op: 'loop' })];
    await pool.close();
    for (const outcome of await Promise.all(outstanding)) indeterminate(outcome, 'POOL_CLOSED');
    indeterminate(await pool.run({ op: 'echo', value: 1 }), 'POOL_CLOSED');
    await pool.close(); // idempotent
    if (before !== undefined) assert.equal(workerThreads(), before, 'both worker threads are gone');
    // Nothing of the pool is left to keep this test process alive.
    assert.deepEqual(
      process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker'),
      [],
    );
  });

  test('idle workers do not keep the process alive when close() is forgotten', GUARD, () => {
    const index = new URL('../../src/policy/sandbox/index.ts', import.meta.url).href;
    const script = `
      import { EvaluationPool } from ${JSON.stringify(index)};
      const pool = new EvaluationPool({ workerModule: new URL(${JSON.stringify(workerModule.href)}), init: { label: 'x' } });
      const outcome = await pool.run({ op: 'echo', value: 'done' });
      console.log(outcome.outcome === "ok" ? outcome.value : JSON.stringify(outcome));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    assert.equal(child.error, undefined, 'the child exited by itself');
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'done');
  });

  test('round-trip overhead of a trivial request', GUARD, async (t) => {
    // Shaped like an admission request: large context in, small decision out.
    const big = {
      op: 'echo',
      value: 'allow',
      context: Array.from({ length: 100 }, (_, i) => ({
        name: `c${i}`,
        image: `registry.example/app@sha256:${'a'.repeat(64)}`,
        env: [{ name: 'A', value: 'B' }],
      })),
    };
    for (const [label, maxInputBytes, request] of [
      ['trivial, measured (default)', undefined, { op: 'echo', value: 1 }],
      ['trivial, unmeasured (maxInputBytes Infinity)', Infinity, { op: 'echo', value: 1 }],
      ['~15 KB request, small reply, measured', undefined, big],
      ['~15 KB request, small reply, unmeasured', Infinity, big],
    ] as const) {
      await withPool({ size: 1, maxInputBytes }, async (pool) => {
        await pool.ready();
        for (let i = 0; i < 200; i++) ok(await pool.run(request)); // warm up
        const n = 2000;
        const start = performance.now();
        for (let i = 0; i < n; i++) ok(await pool.run(request));
        const us = ((performance.now() - start) * 1000) / n;
        t.diagnostic(`sequential round trip, ${label}: ${us.toFixed(1)} µs`);
      });
    }
    await withPool({ size: 1, deadlineMs: 50 }, async (pool) => {
      await pool.ready();
      indeterminate(await pool.run({ op: 'loop' }), 'DEADLINE_EXCEEDED');
      const start = performance.now();
      await whoami(pool);
      t.diagnostic(`first request after a deadline kill (respawn + setup, size 1): ${(performance.now() - start).toFixed(0)} ms`);
    });
  });
});

describe('EvaluationPool with JSON encoding', () => {
  test('JSON requests round-trip; non-JSON is an error; the size limit counts JSON bytes', GUARD, async () => {
    await withPool({ encoding: 'json', maxInputBytes: 1024 }, async (pool) => {
      assert.deepEqual(ok(await pool.run({ op: 'echo', value: { a: [1, 'x', null] } })), { a: [1, 'x', null] });
      const bigint = await pool.run({ op: 'echo', value: 2n });
      assert.equal(bigint.outcome, 'error');
      assert.match((bigint as { message: string }).message, /request is not JSON/);
      indeterminate(await pool.run({ op: 'echo', value: 'x'.repeat(2048) }), 'INPUT_TOO_LARGE');
      assert.equal(ok(await pool.run({ op: 'echo', value: 'after' })), 'after');
    });
  });
});
