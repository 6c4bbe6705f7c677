/**
 * The Ledger over the real stores (a SQLite file and a PostgreSQL schema):
 * sequencing, group commit, de-duplication by evidence, signed checkpoints,
 * periodic checkpointing, proofs, the entry size limit, and the refusal to
 * sign a tree whose stored nodes were altered.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import {
  Ledger,
  LedgerError,
  leafHash,
  MAX_ENTRY_BYTES,
  openCheckpoint,
  ProofError,
  verifyConsistency,
  verifyInclusion,
  type LedgerStorage,
  type LogKey,
  type StoredCheckpoint,
} from '../../src/ledger/index.ts';
import { consistencyProofPlan, rootPlan, type NodeId } from '../../src/ledger/proof.ts';
import type { NewEvidence, Store } from '../../src/store/index.ts';
import { evidence, subject } from '../store/helpers.ts';
import { backends, logKeyIn, referenceRoot, type Location } from './helpers.ts';

const all = await backends();

/** Wraps a store so every append() call (one transaction) is counted with its batch size. */
function countingAppends(store: Store): { storage: LedgerStorage<NewEvidence>; batches: number[] } {
  const batches: number[] = [];
  const storage = new Proxy(store, {
    get(target, prop) {
      if (prop === 'append') {
        return (...args: Parameters<Store['append']>) => {
          batches.push(args[0].length);
          return target.append(...args);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { storage, batches };
}

function entry(label: string): Buffer {
  return Buffer.from(`${label}:${randomBytes(6).toString('hex')}`);
}

for (const backend of all) {
  describe(`Ledger over ${backend.name}`, { skip: backend.skip }, () => {
    after(() => backend.cleanup());

    interface Ctx {
      loc: Location;
      store: Store;
      key: LogKey;
      ledger: Ledger<NewEvidence>;
      violations: string[];
    }

    async function setup(options: { checkpointIntervalMs?: number; maxBatch?: number; storage?: LedgerStorage<NewEvidence> } = {}): Promise<Ctx> {
      const loc = await backend.fresh();
      const store = await loc.open();
      const key = await logKeyIn(loc.dir);
      const violations: string[] = [];
      const ledger = new Ledger<NewEvidence>(options.storage ?? store, {
        origin: key.origin,
        signer: key.signer,
        verifier: key.verifier,
        onInvariantViolation: (what) => violations.push(what),
        ...(options.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: options.checkpointIntervalMs } : {}),
        ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
      });
      return { loc, store, key, ledger, violations };
    }

    async function teardown(c: Ctx): Promise<void> {
      await c.ledger.close();
      await c.store.close();
    }

    test('appends resolve to consecutive indices, in order and when issued together', async () => {
      const c = await setup();
      try {
        const written: Buffer[] = [];
        for (let i = 0; i < 5; i++) {
          const e = entry(`seq${i}`);
          written.push(e);
          assert.deepEqual(await c.ledger.append(e), { index: BigInt(i), appended: true });
        }
        const together = Array.from({ length: 40 }, (_, i) => entry(`tog${i}`));
        const outcomes = await Promise.all(together.map((e) => c.ledger.append(e)));
        written.push(...together);
        assert.deepEqual(
          outcomes.map((o) => o.index),
          together.map((_, i) => BigInt(5 + i)),
          'issued in one tick, committed in issue order',
        );
        assert.ok(outcomes.every((o) => o.appended));
        const head = await c.ledger.treeHead();
        assert.equal(head.size, 45n);
        assert.ok(head.root.equals(referenceRoot(written)), 'the head root is the RFC 6962 root of what was appended');
        const stored = await c.store.entries(0n, 100);
        assert.deepEqual(stored, written, 'each entry stored at its index, byte for byte');
      } finally {
        await teardown(c);
      }
    });

    test('appends issued in one tick are committed in one transaction; maxBatch splits them', async () => {
      const loc = await backend.fresh();
      const store = await loc.open();
      const key = await logKeyIn(loc.dir);
      try {
        const { storage, batches } = countingAppends(store);
        const ledger = new Ledger<NewEvidence>(storage, { origin: key.origin, signer: key.signer, verifier: key.verifier });
        const outcomes = await Promise.all(Array.from({ length: 300 }, (_, i) => ledger.append(entry(`b${i}`))));
        assert.deepEqual(batches, [300], 'one append() call (one transaction) for 300 appends in one tick');
        assert.deepEqual(
          outcomes.map((o) => Number(o.index)),
          Array.from({ length: 300 }, (_, i) => i),
        );
        await ledger.close();

        const small = countingAppends(store);
        const limited = new Ledger<NewEvidence>(small.storage, {
          origin: key.origin,
          signer: key.signer,
          verifier: key.verifier,
          maxBatch: 64,
        });
        const more = await Promise.all(Array.from({ length: 200 }, (_, i) => limited.append(entry(`m${i}`))));
        assert.deepEqual(small.batches, [64, 64, 64, 8], 'maxBatch bounds a transaction');
        assert.deepEqual(
          more.map((o) => Number(o.index)),
          Array.from({ length: 200 }, (_, i) => 300 + i),
        );
        // Appends arriving while a commit runs share the next transaction.
        const first = limited.append(entry('x'));
        await sleep(0);
        const rest = Array.from({ length: 10 }, (_, i) => limited.append(entry(`y${i}`)));
        await Promise.all([first, ...rest]);
        assert.ok(small.batches.length <= 6, `11 appends took ${small.batches.length - 4} transactions`);
        assert.equal((await store.treeHead()).size, 511n);
        await limited.close();
      } finally {
        await store.close();
      }
    });

    test('an append whose evidence is already stored returns appended:false with the first index; the log does not grow', async () => {
      const c = await setup();
      try {
        await c.ledger.append(entry('before'));
        const ev = evidence([subject('dup')]);
        const firstEntry = entry('first');
        const first = await c.ledger.append(firstEntry, { key: ev.envelopeDigest, record: ev });
        assert.deepEqual(first, { index: 1n, appended: true });
        assert.equal(await c.store.indexOfEvidence(ev.envelopeDigest), 1n, 'the evidence row records its log index');
        const headBefore = await c.ledger.treeHead();

        const replay = await c.ledger.append(entry('replay'), { key: ev.envelopeDigest, record: { ...ev, bundle: '{"other":1}' } });
        assert.deepEqual(replay, { index: 1n, appended: false });
        const headAfter = await c.ledger.treeHead();
        assert.equal(headAfter.size, headBefore.size, 'the log did not grow');
        assert.ok(headAfter.root.equals(headBefore.root));
        assert.deepEqual(await c.store.entries(1n, 5), [firstEntry], 'the first entry stays, nothing after it');
        assert.equal((await c.store.getEvidence(ev.envelopeDigest))?.bundle, '{}', 'the first record stays');

        // The same key twice in one batch, among fresh appends: one entry, both told its index.
        const ev2 = evidence([subject('dup2')]);
        const [a, b, x, d] = await Promise.all([
          c.ledger.append(entry('a'), { key: ev2.envelopeDigest, record: ev2 }),
          c.ledger.append(entry('b')),
          c.ledger.append(entry('a-again'), { key: ev2.envelopeDigest, record: ev2 }),
          c.ledger.append(entry('d'), { key: ev.envelopeDigest, record: ev }),
        ]);
        assert.deepEqual([a, b, x, d], [
          { index: 2n, appended: true },
          { index: 3n, appended: true },
          { index: 2n, appended: false },
          { index: 1n, appended: false },
        ]);
        assert.equal((await c.ledger.treeHead()).size, 4n);
        assert.equal(await c.store.countEvidence(), 2);
      } finally {
        await teardown(c);
      }
    });

    test('checkpoint() signs a C2SP checkpoint of the recomputed root; without growth it returns the same one', async () => {
      const c = await setup();
      try {
        const empty = await c.ledger.checkpoint();
        assert.equal(empty.size, 0n);
        assert.ok(empty.root.equals(referenceRoot([])));
        const written = Array.from({ length: 23 }, (_, i) => entry(`cp${i}`));
        await Promise.all(written.map((e) => c.ledger.append(e)));
        const cp = await c.ledger.checkpoint();
        assert.equal(cp.size, 23n);
        const opened = openCheckpoint(cp.note, c.key.verifier, c.key.origin).checkpoint;
        assert.equal(opened.origin, c.key.origin);
        assert.equal(opened.size, 23n);
        assert.ok(opened.rootHash.equals(referenceRoot(written)), 'the signed root is the RFC 6962 root of the entries');
        assert.ok(cp.root.equals(opened.rootHash));
        assert.match(cp.note, new RegExp(`^${c.key.origin.replace(/[./]/g, '\\$&')}\n23\n[A-Za-z0-9+/]{43}=\n\n— `));
        assert.equal(c.ledger.openCheckpoint(cp.note).checkpoint.size, 23n);

        const again = await c.ledger.checkpoint();
        assert.deepEqual(again, cp, 'no growth: the same checkpoint, not a new signature');
        assert.deepEqual(
          (await c.store.checkpoints(-1n, 100)).map((k) => k.size),
          [0n, 23n],
          'one stored checkpoint per size',
        );
        // Concurrent callers share one issuance.
        await c.ledger.append(entry('more'));
        const [p, q] = await Promise.all([c.ledger.checkpoint(), c.ledger.checkpoint()]);
        assert.equal(p.note, q.note);
        assert.equal(p.size, 24n);
        assert.deepEqual(c.violations, []);
      } finally {
        await teardown(c);
      }
    });

    test('startCheckpointing issues checkpoints while entries arrive; checkpointCovering(index) waits for one covering it', async () => {
      const c = await setup({ checkpointIntervalMs: 50 });
      try {
        c.ledger.startCheckpointing();
        const written: Buffer[] = [];
        const started = Date.now();
        while (Date.now() - started < 600) {
          const wave = Array.from({ length: 15 }, (_, i) => entry(`w${written.length + i}`));
          written.push(...wave);
          await Promise.all(wave.map((e) => c.ledger.append(e)));
          await sleep(20);
        }
        const last = entry('last');
        written.push(last);
        const { index } = await c.ledger.append(last);
        const before = await c.ledger.latestCheckpoint();
        const covering = await c.ledger.checkpointCovering(index);
        assert.ok(covering.size > index, `checkpoint ${covering.size} covers ${index}`);
        assert.ok(before === undefined || before.size <= covering.size);

        const stored = await c.store.checkpoints(-1n, 1000);
        assert.ok(stored.length >= 3, `only ${stored.length} checkpoints issued during ~600 ms at a 50 ms interval`);
        for (let i = 0; i < stored.length; i++) {
          const k = stored[i]!;
          const opened = c.ledger.openCheckpoint(k.note).checkpoint;
          assert.equal(opened.size, k.size);
          assert.ok(opened.rootHash.equals(referenceRoot(written.slice(0, Number(k.size)))), `checkpoint ${k.size} root`);
          if (i > 0) assert.ok(k.size > stored[i - 1]!.size);
        }
        // With the tree still, the timer issues nothing new.
        const count = stored.length;
        await sleep(200);
        assert.equal((await c.store.checkpoints(-1n, 1000)).length, count, 'no growth, no checkpoint');

        // A waiter on an index not yet covered is released by the next tick, not by a direct issuance.
        const { index: next } = await c.ledger.append(entry('tail'));
        const t0 = Date.now();
        const waited = await c.ledger.checkpointCovering(next);
        assert.ok(waited.size > next);
        assert.ok(Date.now() - t0 < 2_000);

        // After close no more checkpoints are issued, and appends are refused.
        await c.ledger.append(entry('after-stop'));
        await c.ledger.close();
        const n = (await c.store.checkpoints(-1n, 1000)).length;
        await sleep(150);
        assert.equal((await c.store.checkpoints(-1n, 1000)).length, n);
        await assert.rejects(c.ledger.append(entry('closed')), (err: unknown) => err instanceof LedgerError && err.code === 'CLOSED');
        assert.deepEqual(c.violations, []);
      } finally {
        await c.ledger.close();
        await c.store.close();
      }
    });

    test('checkpointCovering waits for the periodic checkpoint rather than signing at once; close rejects the waiter', async () => {
      const c = await setup({ checkpointIntervalMs: 60_000 });
      try {
        await c.ledger.append(entry('covered'));
        const cp1 = await c.ledger.checkpointCovering(0n);
        assert.equal(cp1.size, 1n, 'without a timer, one is issued now');
        c.ledger.startCheckpointing();
        const { index } = await c.ledger.append(entry('waiting'));
        let settled = false;
        const waiter = c.ledger.checkpointCovering(index).finally(() => (settled = true));
        await sleep(100);
        assert.equal(settled, false, 'with a timer, the waiter waits for its tick');
        assert.equal((await c.ledger.latestCheckpoint())?.size, 1n, 'nothing signed for the waiter yet');
        await c.ledger.close();
        await assert.rejects(waiter, (err: unknown) => err instanceof LedgerError && err.code === 'CLOSED');
        assert.equal((await c.ledger.latestCheckpoint())?.size, 1n);
      } finally {
        await c.ledger.close();
        await c.store.close();
      }
    });

    test('inclusion and consistency proofs verify for every (index, size) and (old, new) pair of a 45-entry log', async () => {
      const c = await setup();
      try {
        const N = 45;
        const written = Array.from({ length: N }, (_, i) => entry(`p${i}`));
        // Appended in uneven batches, so nodes are completed across transactions.
        for (let i = 0; i < N; ) {
          const n = 1 + (i % 7);
          await Promise.all(written.slice(i, i + n).map((e) => c.ledger.append(e)));
          i += n;
        }
        const roots = [referenceRoot([])];
        for (let s = 1; s <= N; s++) roots.push(referenceRoot(written.slice(0, s)));
        let inclusions = 0;
        let consistencies = 0;
        for (let size = 1; size <= N; size++) {
          assert.ok((await c.ledger.rootAt(BigInt(size))).equals(roots[size]!), `rootAt(${size})`);
          for (let index = 0; index < size; index++) {
            const proof = await c.ledger.inclusionProof(BigInt(index), BigInt(size));
            verifyInclusion(BigInt(index), BigInt(size), leafHash(written[index]!), proof, roots[size]!);
            inclusions++;
            if (index === size - 1 && size > 1) {
              // The same proof must not verify another leaf, nor a changed path.
              assert.throws(() => verifyInclusion(BigInt(index), BigInt(size), leafHash(written[0]!), proof, roots[size]!), ProofError);
              const bent = proof.map((h, k) => (k === 0 ? Buffer.from(h.map((b, j) => (j === 0 ? b ^ 1 : b))) : h));
              assert.throws(() => verifyInclusion(BigInt(index), BigInt(size), leafHash(written[index]!), bent, roots[size]!), ProofError);
            }
          }
          for (let old = 1; old <= size; old++) {
            const proof = await c.ledger.consistencyProof(BigInt(old), BigInt(size));
            verifyConsistency(BigInt(old), BigInt(size), proof, roots[old]!, roots[size]!);
            consistencies++;
            if (old < size && old > 1) {
              assert.throws(() => verifyConsistency(BigInt(old), BigInt(size), proof, roots[old - 1]!, roots[size]!), ProofError);
            }
          }
        }
        assert.equal(inclusions, (N * (N + 1)) / 2);
        assert.equal(consistencies, (N * (N + 1)) / 2);
        // Sizes beyond the tree are refused.
        await assert.rejects(c.ledger.inclusionProof(0n, BigInt(N + 1)), (e: unknown) => e instanceof LedgerError && e.code === 'SIZE_INVALID');
        await assert.rejects(c.ledger.inclusionProof(BigInt(N), BigInt(N)), (e: unknown) => e instanceof LedgerError && e.code === 'SIZE_INVALID');
        await assert.rejects(c.ledger.consistencyProof(0n, BigInt(N)), (e: unknown) => e instanceof LedgerError && e.code === 'SIZE_INVALID');
        await assert.rejects(c.ledger.consistencyProof(2n, BigInt(N + 1)), (e: unknown) => e instanceof LedgerError && e.code === 'SIZE_INVALID');
        // Proofs against a signed checkpoint.
        const cp = c.ledger.openCheckpoint((await c.ledger.checkpoint()).note).checkpoint;
        for (const index of [0, 17, N - 1]) {
          verifyInclusion(BigInt(index), cp.size, leafHash(written[index]!), await c.ledger.inclusionProof(BigInt(index), cp.size), cp.rootHash);
        }
      } finally {
        await teardown(c);
      }
    });

    test(`an entry over ${MAX_ENTRY_BYTES} bytes is refused and stores nothing; exactly ${MAX_ENTRY_BYTES} is accepted`, async () => {
      const c = await setup();
      try {
        await c.ledger.append(entry('small'));
        await assert.rejects(c.ledger.append(Buffer.alloc(MAX_ENTRY_BYTES + 1, 0x61)), (err: unknown) => {
          assert.ok(err instanceof LedgerError, String(err));
          assert.equal(err.code, 'ENTRY_TOO_LARGE');
          assert.match(err.message, /65536 bytes/);
          return true;
        });
        const ev = evidence([subject('big')]);
        await assert.rejects(c.ledger.append(Buffer.alloc(100_000), { key: ev.envelopeDigest, record: ev }), LedgerError);
        assert.equal(await c.store.getEvidence(ev.envelopeDigest), undefined, 'its evidence was not stored either');
        assert.equal((await c.ledger.treeHead()).size, 1n);
        const max = randomBytes(MAX_ENTRY_BYTES);
        assert.deepEqual(await c.ledger.append(max), { index: 1n, appended: true });
        assert.ok((await c.store.entries(1n, 1))[0]!.equals(max));
      } finally {
        await teardown(c);
      }
    });

    test('checkpoint() refuses to sign when a stored node was altered behind its back (INVARIANT_VIOLATION, callback fires)', async () => {
      const c = await setup();
      const setNode = (id: NodeId, hash: Buffer) =>
        c.loc.raw((db) => db.query('UPDATE log_node SET hash = ? WHERE level = ? AND idx = ?', [hash, id.level, Number(id.index)]));
      const getNode = async (id: NodeId): Promise<Buffer> => (await c.store.nodes([id]))[0]!;
      const refuses = async (what: RegExp) => {
        const before = await c.ledger.latestCheckpoint();
        const violations = c.violations.length;
        await assert.rejects(c.ledger.checkpoint(), (err: unknown) => {
          assert.ok(err instanceof LedgerError, String(err));
          assert.equal(err.code, 'INVARIANT_VIOLATION');
          assert.match(err.message, what);
          return true;
        });
        assert.equal(c.violations.length, violations + 1, 'onInvariantViolation fired once');
        assert.match(c.violations.at(-1)!, what);
        assert.deepEqual(await c.ledger.latestCheckpoint(), before, 'nothing was signed');
      };
      try {
        const written = Array.from({ length: 13 }, (_, i) => entry(`t${i}`));
        for (const e of written) await c.ledger.append(e);

        // 1. A node of the head's compact range: the tree no longer recomputes to the head root.
        const plan13 = rootPlan(13n);
        const edge = plan13[1]!;
        assert.ok(edge.level >= 1, 'an upper node');
        const genuine = await getNode(edge);
        await setNode(edge, Buffer.alloc(32, 7));
        await refuses(/does not recompute to the head root/);
        await setNode(edge, genuine);
        const cp13 = await c.ledger.checkpoint();
        assert.equal(cp13.size, 13n);

        // 2. A node only a consistency proof from the latest checkpoint reads: the tree is not an extension of it.
        for (let i = 0; i < 3; i++) await c.ledger.append(entry(`u${i}`));
        const inRoot = new Set(rootPlan(16n).map((n) => `${n.level}/${n.index}`));
        const inner = consistencyProofPlan(13n, 16n)
          .flat()
          .find((n) => !inRoot.has(`${n.level}/${n.index}`));
        assert.ok(inner !== undefined);
        const genuineInner = await getNode(inner);
        await setNode(inner, Buffer.alloc(32, 9));
        await refuses(/not consistent with checkpoint 13/);
        await setNode(inner, genuineInner);

        // 3. A head rolled back below the latest checkpoint.
        const head16 = await c.ledger.treeHead();
        await c.loc.raw((db) => db.query('UPDATE log_head SET size = ? WHERE id = 1', [12]));
        await refuses(/latest checkpoint size 13 is beyond the tree head 12/);
        await c.loc.raw((db) => db.query('UPDATE log_head SET size = ?, root = ? WHERE id = 1', [16, head16.root]));

        // Restored: it signs again, consistent with checkpoint 13.
        const cp16: StoredCheckpoint = await c.ledger.checkpoint();
        assert.equal(cp16.size, 16n);
        verifyConsistency(13n, 16n, await c.ledger.consistencyProof(13n, 16n), cp13.root, cp16.root);
        assert.equal(c.violations.length, 3);
      } finally {
        await teardown(c);
      }
    });
  });
}
