/**
 * Several processes appending to one log at once (one PostgreSQL schema, one
 * SQLite file): the store is the one sequencer, so every acknowledged append
 * gets its own index, the indices are exactly 0..n-1, every entry is where
 * its writer was told it is, and the log audits clean.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { auditLog, Ledger, verifyConsistency } from '../../src/ledger/index.ts';
import type { NewEvidence, Store } from '../../src/store/index.ts';
import { appenderItem, sharedKey, type AppenderPlan } from './fixtures/plan.ts';
import { backends, logKeyIn, spawnChild, type Child, type Location } from './helpers.ts';

const APPENDER = fileURLToPath(new URL('./fixtures/appender.ts', import.meta.url));
const WORKERS = 4;

interface Ack {
  worker: number;
  index: bigint;
  appended: boolean;
  item: number;
}

/** Starts WORKERS appenders on one store, releases them together, and collects every acknowledgement. */
async function runAppenders(loc: Location, plan: Omit<AppenderPlan, 'url' | 'skey' | 'worker'>): Promise<Ack[]> {
  const skey = join(loc.dir, 'log.skey');
  const children: Child[] = Array.from({ length: WORKERS }, (_, worker) =>
    spawnChild(APPENDER, [JSON.stringify({ ...plan, url: loc.url, skey, worker } satisfies AppenderPlan)]),
  );
  try {
    await Promise.all(children.map((c) => c.reached('ready')));
    for (const c of children) c.send('go');
    const exits = await Promise.all(children.map((c) => c.exited));
    exits.forEach((e, w) => assert.equal(e.code, 0, `worker ${w} exited ${e.code}/${e.signal}: ${children[w]!.stderr()}`));
  } finally {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  }
  const acks: Ack[] = [];
  children.forEach((c, worker) => {
    assert.equal(c.lines.at(-1), 'done', `worker ${worker} finished its plan`);
    for (const line of c.lines) {
      if (line === 'ready' || line === 'done') continue;
      const m = /^(\d+) ([01]) (\d+)$/.exec(line);
      assert.ok(m, `worker ${worker} printed ${JSON.stringify(line)}`);
      acks.push({ worker, index: BigInt(m[1]!), appended: m[2] === '1', item: Number(m[3]) });
    }
    assert.equal(acks.filter((a) => a.worker === worker).length, plan.items, `worker ${worker} acknowledged every item`);
  });
  return acks;
}

/** Reads the whole log, checks the tree head and audits it after a final checkpoint consistent with every stored one. */
async function finalCheck(store: Store, loc: Location, expectedSize: number): Promise<Buffer[]> {
  const key = await logKeyIn(loc.dir);
  const ledger = new Ledger<NewEvidence>(store, { origin: key.origin, signer: key.signer, verifier: key.verifier });
  const head = await store.treeHead();
  assert.equal(head.size, BigInt(expectedSize), 'tree head size');
  const entries = await store.entries(0n, expectedSize + 10);
  assert.equal(entries.length, expectedSize, 'no gaps and nothing beyond the head');
  const final = await ledger.checkpoint();
  assert.equal(final.size, head.size, 'a final checkpoint covers the whole log');
  const stored = await store.checkpoints(-1n, 100_000);
  for (const cp of stored) {
    if (cp.size === 0n || cp.size === final.size) continue;
    verifyConsistency(cp.size, final.size, await ledger.consistencyProof(cp.size, final.size), cp.root, final.root);
  }
  const report = await auditLog(store, key.verifier, key.origin);
  assert.equal(report.problem, undefined, report.problem?.message);
  assert.ok(report.ok);
  assert.equal(report.entriesChecked, head.size);
  assert.equal(report.checkpointsChecked, stored.length, 'every stored checkpoint was checked');
  await ledger.close();
  return entries;
}

for (const backend of await backends()) {
  describe(`concurrent appenders over ${backend.name}`, { skip: backend.skip }, () => {
    after(() => backend.cleanup());

    test(`${WORKERS} processes x 5,000 appends give 20,000 distinct, consecutive indices and a log that audits`, { timeout: 240_000 }, async (t) => {
      const loc = await backend.fresh();
      await logKeyIn(loc.dir); // the parent creates the shared key first
      const store = await loc.open(); // and the schema, so the children race appends, not the migration
      try {
        const seed = randomBytes(6).toString('hex');
        const plan = { seed, items: 5_000, burst: 100, checkpointEvery: 1_000, evidenceEvery: 10, shared: 0 };
        const acks = await runAppenders(loc, plan);
        assert.equal(acks.length, 20_000);
        assert.ok(acks.every((a) => a.appended), 'every append grew the log');
        const sorted = acks.map((a) => a.index).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        sorted.forEach((index, i) => assert.equal(index, BigInt(i), `the ${i}th smallest acknowledged index`));

        // The writers really interleaved: the log is not four runs of 5,000.
        const byIndex = new Map(acks.map((a) => [a.index, a]));
        let switches = 0;
        for (let i = 1; i < 20_000; i++) if (byIndex.get(BigInt(i))!.worker !== byIndex.get(BigInt(i - 1))!.worker) switches++;
        // Four writers one after another give exactly WORKERS - 1 switches; SQLite's lock often lets one
        // writer win several batches in a row, so more than that is all that can be asked.
        assert.ok(switches > WORKERS - 1, `only ${switches} switches between writers: they did not append concurrently`);

        // Within one writer, later bursts got later indices.
        for (let w = 0; w < WORKERS; w++) {
          const mine = acks.filter((a) => a.worker === w);
          for (let k = 1; k < mine.length; k++) {
            if (mine[k]!.item % plan.burst === 0) assert.ok(mine[k]!.index > mine[k - 1]!.index, `worker ${w} item ${mine[k]!.item}`);
          }
        }

        const entries = await finalCheck(store, loc, 20_000);
        for (const a of acks) {
          const expected = appenderItem({ ...plan, worker: a.worker }, a.item);
          assert.ok(entries[Number(a.index)]!.equals(expected.entry), `entry ${a.index} is worker ${a.worker}'s item ${a.item}`);
          if (expected.evidence !== undefined) {
            assert.equal(await store.indexOfEvidence(expected.evidence.envelopeDigest), a.index, `evidence of ${a.index}`);
          }
        }
        assert.equal(await store.countEvidence(), 2_000);
        const checkpoints = (await store.checkpoints(-1n, 1000)).length;
        assert.ok(checkpoints >= 5, 'the writers issued checkpoints concurrently');
        t.diagnostic(`${switches} switches between writers along the log, ${checkpoints} checkpoints`);
      } finally {
        await store.close();
      }
    });

    test(`${WORKERS} processes appending the same evidence: each stored and logged once, every writer told the same index`, { timeout: 120_000 }, async () => {
      const loc = await backend.fresh();
      await logKeyIn(loc.dir);
      const store = await loc.open();
      try {
        const seed = randomBytes(6).toString('hex');
        // Items [0, 60) carry one of 60 shared keys; 240 more are each worker's own.
        const plan = { seed, items: 300, burst: 20, checkpointEvery: 0, evidenceEvery: 0, shared: 60 };
        const acks = await runAppenders(loc, plan);
        const entries = await finalCheck(store, loc, WORKERS * 240 + 60);
        for (let n = 0; n < 60; n++) {
          const forKey = acks.filter((a) => a.item === n);
          assert.equal(forKey.length, WORKERS);
          const winners = forKey.filter((a) => a.appended);
          assert.equal(winners.length, 1, `shared item ${n} appended by exactly one writer`);
          const winner = winners[0]!;
          assert.ok(forKey.every((a) => a.index === winner.index), `every writer was told index ${winner.index} for shared item ${n}`);
          assert.ok(entries[Number(winner.index)]!.equals(appenderItem({ ...plan, worker: winner.worker }, n).entry));
          assert.equal(await store.indexOfEvidence(sharedKey(seed, n)), winner.index);
        }
        const appended = acks.filter((a) => a.appended).map((a) => a.index);
        assert.equal(new Set(appended).size, appended.length, 'no index given to two appended entries');
        assert.equal(appended.length, entries.length);
        assert.equal(await store.countEvidence(), 60);
      } finally {
        await store.close();
      }
    });
  });
}
