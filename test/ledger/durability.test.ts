/**
 * Crash tests: a writer appending (and now and then checkpointing) is killed
 * with SIGKILL at random moments. After each kill the log is reopened, as a
 * restarted server would: every append the writer had been told was durable
 * is there with its content (and its evidence row points at it), nothing is
 * half-written, the log audits clean, and the next checkpoint is consistent
 * with every checkpoint stored before.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test, type TestContext } from 'node:test';
import {
  auditLog,
  Ledger,
  leafHash,
  verifyConsistency,
  verifyInclusion,
  type LogKey,
  type StoredCheckpoint,
} from '../../src/ledger/index.ts';
import type { NewEvidence, Store } from '../../src/store/index.ts';
import type { CrashPlan } from './fixtures/crash-writer.ts';
import { backends, logKeyIn, sha256hex, spawnChild, type Child, type Location } from './helpers.ts';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

/** Kills per backend; override with WARRANT_CRASH_KILLS_SQLITE / WARRANT_CRASH_KILLS_POSTGRES. */
const KILLS = {
  sqlite: Number(process.env.WARRANT_CRASH_KILLS_SQLITE ?? 200),
  postgres: Number(process.env.WARRANT_CRASH_KILLS_POSTGRES ?? 50),
};
/**
 * auditLog over the whole log runs every this many kills and after the last
 * (WARRANT_CRASH_AUDIT_EVERY=1: after every kill, slower). After every kill the
 * new entries are checked, and the parent's checkpoint recomputes the root
 * from the stored nodes and proves consistency with every earlier checkpoint.
 */
const FULL_AUDIT_EVERY = Number(process.env.WARRANT_CRASH_AUDIT_EVERY ?? 25);

interface Ack {
  hex: string;
  evidence: boolean;
}

/** Writers share a V8 compile cache, so a fresh writer is ready in ~0.1 s instead of ~0.3 s. */
function startWriter(loc: Location, plan: Omit<CrashPlan, 'url' | 'skey'>): Child {
  return spawnChild(WRITER, [JSON.stringify({ ...plan, url: loc.url, skey: join(loc.dir, 'log.skey') } satisfies CrashPlan)], {
    NODE_COMPILE_CACHE: join(loc.dir, 'compile-cache'),
  });
}

/** Kills the writer with SIGKILL and checks it was alive until then. */
async function kill(child: Child): Promise<void> {
  child.proc.kill('SIGKILL');
  const exit = await child.exited;
  assert.equal(exit.signal, 'SIGKILL', `the writer died on its own (code ${exit.code}): ${child.stderr()}`);
}

/** The acknowledgements a writer printed in full lines: index -> entry digest. */
function acksOf(child: Child): Map<bigint, Ack> {
  const out = new Map<bigint, Ack>();
  for (const line of child.lines) {
    const m = /^a (\d+) ([0-9a-f]{64}) ([e-])$/.exec(line);
    if (m === null) {
      assert.match(line, /^(loaded|ready|idle|c \d+)$/, 'the writer printed only protocol lines');
      continue;
    }
    const index = BigInt(m[1]!);
    assert.ok(!out.has(index), `index ${index} acknowledged twice`);
    out.set(index, { hex: m[2]!, evidence: m[3] === 'e' });
  }
  return out;
}

/**
 * A killed PostgreSQL client's transaction ends on the server a moment later
 * (aborted, or committed if COMMIT was already sent). Waiting for the
 * migration lock and the head row lock lets it end before the log is read, as
 * a restarted writer's first open and append would.
 */
async function settle(loc: Location): Promise<void> {
  if (loc.backend !== 'postgres') return;
  await loc.raw(async (db) => {
    await db.query('BEGIN');
    await db.query('SELECT pg_advisory_xact_lock(?)', [0x77617272]); // store/postgres.ts MIGRATION_LOCK_KEY
    const [t] = await db.query<{ present: boolean }>("SELECT to_regclass('log_head') IS NOT NULL AS present");
    if (t!.present) await db.query('SELECT size FROM log_head WHERE id = 1 FOR UPDATE');
    await db.query('COMMIT');
  });
}

/** Every checkpoint a writer reported issued is still stored, with its size. */
async function checkIssuedCheckpoints(child: Child, store: Store): Promise<number> {
  const sizes = child.lines.filter((l) => l.startsWith('c ')).map((l) => BigInt(l.slice(2)));
  for (const size of sizes) {
    const [cp] = await store.checkpoints(size - 1n, 1);
    assert.equal(cp?.size, size, `the checkpoint at size ${size} the writer issued is stored`);
  }
  return sizes.length;
}

function ledgerOver(store: Store, key: LogKey): Ledger<NewEvidence> {
  return new Ledger<NewEvidence>(store, { origin: key.origin, signer: key.signer, verifier: key.verifier });
}

/** Checks acknowledged entries in [first, head) byte for byte (by digest), and their evidence rows. */
async function checkAcks(store: Store, acks: Map<bigint, Ack>, first: bigint, size: bigint): Promise<void> {
  const chunk = 4096n;
  for (let lo = first; lo < size; lo += chunk) {
    const count = Number(size - lo < chunk ? size - lo : chunk);
    const entries = await store.entries(lo, count);
    assert.equal(entries.length, count, `entries [${lo}, ${lo + BigInt(count)}) are all there`);
    entries.forEach((e, i) => {
      const ack = acks.get(lo + BigInt(i));
      if (ack !== undefined) assert.equal(sha256hex(e), ack.hex, `acknowledged entry ${lo + BigInt(i)} has its content`);
    });
  }
  for (const [index, ack] of acks) {
    assert.ok(index >= first, `index ${index} acknowledged again after the log was checked up to ${first}`);
    assert.ok(index < size, `acknowledged index ${index} is below the head ${size}`);
    if (ack.evidence) assert.equal(await store.indexOfEvidence(`sha256:${ack.hex}`), index, `evidence of entry ${index}`);
  }
}

/**
 * Nothing of a transaction that did not commit is visible: no entry, leaf or
 * node beyond the head, no evidence row without its entry (nor one that was
 * stored but not logged).
 */
async function checkNothingHalfWritten(loc: Location, size: bigint): Promise<void> {
  const n = Number(size);
  await loc.raw(async (db) => {
    const count = async (sql: string, params: unknown[]) => Number((await db.query<{ n: number | string }>(sql, params))[0]!.n);
    assert.equal(await count('SELECT count(*) AS n FROM log_entry WHERE idx >= ?', [n]), 0, 'no entry beyond the head');
    assert.equal(
      await count('SELECT count(*) AS n FROM evidence WHERE log_index IS NULL OR log_index >= ?', [n]),
      0,
      'no evidence without its log entry',
    );
    // A complete node (level, idx) covers leaves [idx << level, (idx + 1) << level): none may reach past the head.
    let level = 0;
    for (; 2 ** level <= Math.max(n, 1); level++) {
      const stray = await count('SELECT count(*) AS n FROM log_node WHERE level = ? AND idx >= ?', [level, Math.floor(n / 2 ** level)]);
      assert.equal(stray, 0, `no node at level ${level} over leaves beyond the head ${n}`);
    }
    assert.equal(await count('SELECT count(*) AS n FROM log_node WHERE level >= ?', [level]), 0, `no node at level ${level} or above`);
  });
}

/**
 * Issues the next checkpoint and checks it is consistent with every stored
 * checkpoint of size >= `from` (those not yet checked against an earlier one).
 */
async function checkpointConsistent(ledger: Ledger<NewEvidence>, store: Store, from: bigint): Promise<StoredCheckpoint> {
  const head = await store.treeHead();
  const next = await ledger.checkpoint();
  assert.equal(next.size, head.size, 'the next checkpoint covers the whole log');
  const opened = ledger.openCheckpoint(next.note).checkpoint;
  assert.ok(opened.rootHash.equals(head.root));
  for (let after = from - 1n; ; ) {
    const page = await store.checkpoints(after, 500);
    if (page.length === 0) break;
    for (const cp of page) {
      assert.ok(cp.size <= next.size, `stored checkpoint ${cp.size} is not beyond the head ${next.size}`);
      ledger.openCheckpoint(cp.note);
      if (cp.size === 0n) continue;
      verifyConsistency(cp.size, next.size, await ledger.consistencyProof(cp.size, next.size), cp.root, next.root);
    }
    after = page.at(-1)!.size;
  }
  return next;
}

async function audit(store: Store, key: LogKey, expectSize: bigint): Promise<void> {
  const report = await auditLog(store, key.verifier, key.origin);
  assert.equal(report.problem, undefined, report.problem?.message);
  assert.equal(report.ok, true);
  assert.equal(report.entriesChecked, expectSize);
}

for (const backend of await backends()) {
  describe(`crash durability over ${backend.name}`, { skip: backend.skip }, () => {
    after(() => backend.cleanup());
    const kills = KILLS[backend.name];

    test(`kill -9 at ${kills} random moments: every acknowledged append survives, the log audits, checkpoints stay consistent`, { timeout: 180_000, skip: kills === 0 ? 'no kills asked for' : false }, async (t: TestContext) => {
      const loc = await backend.fresh();
      const key = await logKeyIn(loc.dir);
      // Small bursts: many short transactions, so many kills land inside a commit.
      const plan = { burstMax: 8, checkpointEvery: 100, evidenceEvery: 4 };
      const acked = new Map<bigint, Ack>();
      let verifiedUpTo = 0n; // checkpoints below this size were checked against a later one
      let checkedSize = 0n; // entries below this were checked
      let lastParent: StoredCheckpoint | undefined;
      const kinds = { early: 0, appending: 0 };
      let unacked = 0; // committed (present) but never acknowledged: allowed
      let issued = 0; // checkpoints the writers reported issued
      const phases = { load: 0, open: 0, run: 0, check: 0, checkpoint: 0, audit: 0 };
      let mark = performance.now();
      const lap = (phase: keyof typeof phases) => {
        const now = performance.now();
        phases[phase] += now - mark;
        mark = now;
      };
      // Two writers load ahead while the current one runs, so a kill costs no process start-up.
      const queue = [startWriter(loc, plan), startWriter(loc, plan)];
      let writer: Child | undefined;
      try {
        for (let round = 0; round < kills; round++) {
          writer = queue.shift()!;
          queue.push(startWriter(loc, plan));
          await writer.reached('loaded');
          lap('load');
          writer.send('go');
          if (randomInt(10) === 0) {
            // Some kills land while the writer opens the store (and, the first time, migrates it).
            kinds.early++;
            await sleep(randomInt(0, 40));
          } else {
            kinds.appending++;
            await writer.reached('ready');
            lap('open');
            // 40..400 ms after it is ready, skewed low (mean ~110 ms).
            await sleep(40 + Math.floor(360 * Math.random() ** 4));
          }
          await kill(writer);
          const acks = acksOf(writer);
          for (const [index, ack] of acks) {
            assert.ok(!acked.has(index), `index ${index} acknowledged to two writers`);
            acked.set(index, ack);
          }
          await settle(loc);
          lap('run');

          const store = await loc.open();
          try {
            const ledger = ledgerOver(store, key);
            const head = await store.treeHead();
            assert.ok(head.size >= checkedSize, `the log shrank from ${checkedSize} to ${head.size}`);
            await checkAcks(store, acks, checkedSize, head.size);
            unacked += Number(head.size - checkedSize) - acks.size;
            await checkNothingHalfWritten(loc, head.size);
            issued += await checkIssuedCheckpoints(writer, store);
            lap('check');
            const cp = await checkpointConsistent(ledger, store, verifiedUpTo);
            if (lastParent !== undefined) assert.ok(cp.size >= lastParent.size);
            lastParent = cp;
            verifiedUpTo = cp.size;
            lap('checkpoint');
            if (round % FULL_AUDIT_EVERY === FULL_AUDIT_EVERY - 1 || round === kills - 1) {
              await audit(store, key, head.size);
              lap('audit');
            }
            checkedSize = head.size;
            await ledger.close();
          } finally {
            await store.close();
          }
        }
      } finally {
        const left = writer === undefined ? queue : [writer, ...queue];
        for (const w of left) w.proc.kill('SIGKILL');
        await Promise.all(left.map((w) => w.exited));
      }

      // Finally: everything ever acknowledged, every checkpoint against the last, the whole log audited.
      const store = await loc.open();
      try {
        const ledger = ledgerOver(store, key);
        const head = await store.treeHead();
        await checkAcks(store, acked, 0n, head.size);
        const final = await checkpointConsistent(ledger, store, 0n);
        await audit(store, key, head.size);
        const checkpoints = (await store.checkpoints(-1n, 1_000_000)).length;
        assert.ok(acked.size > kills, `only ${acked.size} acknowledged appends over ${kills} kills`);
        t.diagnostic(
          `${kills} kills (${kinds.early} while opening, ${kinds.appending} while appending): ${acked.size} acknowledged, ` +
            `${unacked} committed but unacknowledged, log size ${head.size}, ${checkpoints} checkpoints (${issued} reported by writers), final ${final.size}; ms spent: ` +
            Object.entries(phases)
              .map(([k, v]) => `${k} ${Math.round(v)}`)
              .join(', '),
        );
        await ledger.close();
      } finally {
        await store.close();
      }
    });

    for (const stop of ['after its appends were all acknowledged', 'in the middle of appending'] as const) {
      test(`entries stored but killed before any checkpoint (${stop}): the next checkpoint covers them and the log audits`, { timeout: 30_000 }, async () => {
        const loc = await backend.fresh();
        const key = await logKeyIn(loc.dir);
        const idle = stop === 'after its appends were all acknowledged';
        const writer = startWriter(loc, { burstMax: 25, checkpointEvery: 0, evidenceEvery: 3, ...(idle ? { stopAfter: 700 } : {}) });
        try {
          await writer.reached('loaded');
          writer.send('go');
          await writer.reached('ready');
          if (idle) await writer.reached('idle');
          else await sleep(150 + randomInt(100));
        } finally {
          await kill(writer);
        }
        await settle(loc);
        const acks = acksOf(writer);
        if (idle) assert.equal(acks.size, 700);
        assert.ok(acks.size > 0, 'the writer acknowledged appends before it was killed');

        const store = await loc.open();
        try {
          assert.equal(await store.latestCheckpoint(), undefined, 'no checkpoint had been published');
          const head = await store.treeHead();
          if (idle) assert.equal(head.size, 700n);
          await checkAcks(store, acks, 0n, head.size);
          await checkNothingHalfWritten(loc, head.size);
          const ledger = ledgerOver(store, key);
          const cp = await ledger.checkpoint();
          assert.equal(cp.size, head.size, 'the first checkpoint after the restart covers every stored entry');
          const opened = ledger.openCheckpoint(cp.note).checkpoint;
          const entries = await store.entries(0n, Number(head.size));
          for (const index of acks.keys()) {
            const proof = await ledger.inclusionProof(index, opened.size);
            verifyInclusion(index, opened.size, leafHash(entries[Number(index)]!), proof, opened.rootHash);
          }
          const report = await auditLog(store, key.verifier, key.origin);
          assert.equal(report.problem, undefined, report.problem?.message);
          assert.equal(report.checkpointsChecked, 1);
          assert.equal(report.entriesChecked, head.size);
          await ledger.close();
        } finally {
          await store.close();
        }
      });
    }
  });
}
