import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LATEST_SCHEMA_VERSION, type EvidenceStore, type NewEvidence, type StoredEvidence } from '../../src/store/index.ts';
import { evidence, hex, sortedSubjects, subject, subjectDigest } from './helpers.ts';

/** Asserts a stored record is exactly what was added (subjects compared as a set). */
function assertSameEvidence(got: StoredEvidence | undefined, want: NewEvidence, id?: number): asserts got {
  assert.ok(got, `expected ${want.envelopeDigest} to be stored`);
  assert.equal(got.envelopeDigest, want.envelopeDigest);
  assert.equal(got.payloadType, want.payloadType);
  assert.equal(got.predicateType, want.predicateType);
  assert.equal(got.signer, want.signer);
  assert.equal(got.bundle, want.bundle);
  assert.deepEqual(sortedSubjects(got.subjects), sortedSubjects(want.subjects));
  if (id !== undefined) assert.equal(got.id, id);
  assert.ok(Number.isSafeInteger(got.id) && got.id > 0, `id ${got.id} must be a positive integer`);
  assert.match(got.addedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'addedAt must be ISO 8601 UTC');
}

function digests(list: readonly StoredEvidence[]): string[] {
  return list.map((e) => e.envelopeDigest);
}

/**
 * The storage contract every EvidenceStore implementation must satisfy.
 * `open` must open the same (initially empty) store every time it is called.
 */
export function storeContract(name: string, open: () => Promise<EvidenceStore>): void {
  describe(`${name}: storage contract`, () => {
    let store: EvidenceStore;

    before(async () => {
      store = await open();
    });

    after(async () => {
      await store.close();
    });

    test('a fresh store is empty, answers ping, and is at the latest schema version', async () => {
      assert.equal(await store.schemaVersion(), LATEST_SCHEMA_VERSION);
      assert.equal(await store.countEvidence(), 0);
      await store.ping();
    });

    test('add then get by envelope digest returns the record as added', async () => {
      const e = evidence([subject('pkg:npm/a@1.0.0'), subject('pkg:npm/b@2.0.0')], {
        signer: 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main',
        bundle: JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', note: 'ünïcødé ✓ "quoted"' }),
      });
      const t0 = Date.now();
      const res = await store.addEvidence(e);
      const t1 = Date.now();
      assert.equal(res.envelopeDigest, e.envelopeDigest);
      assert.equal(res.inserted, true);
      assert.ok(Number.isSafeInteger(res.id) && res.id > 0, `id ${res.id} must be a positive integer`);

      const got = await store.getEvidence(e.envelopeDigest);
      assertSameEvidence(got, e, res.id);
      const added = Date.parse(got.addedAt);
      assert.ok(added >= t0 - 2_000 && added <= t1 + 2_000, `addedAt ${got.addedAt} not near the time of adding`);

      assert.equal(await store.getEvidence(`sha256:${hex()}`), undefined, 'unknown envelope digest');
    });

    test('a statement without subjects round-trips with an empty subject list', async () => {
      const e = evidence([]);
      const res = await store.addEvidence(e);
      assert.equal(res.inserted, true);
      assertSameEvidence(await store.getEvidence(e.envelopeDigest), e, res.id);
    });

    test('ids increase in insertion order', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.addEvidence(evidence([subject(`s${i}`)]))).id);
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `ids not increasing: ${ids.join(',')}`);
    });

    test('listBySubject finds a statement by each of its subjects, several statements per subject, oldest first', async () => {
      const shared = subject('pkg:oci/app');
      const onlyA = subject('a.tar.gz');
      const onlyB = subject('b.tar.gz');
      const onlyC1 = subject('c1.whl');
      const onlyC2 = subject('c2.whl');
      const a = evidence([shared, onlyA]);
      const b = evidence([onlyB, shared]);
      const c = evidence([onlyC1, shared, onlyC2]);
      const unrelated = evidence([subject('unrelated')]);
      const ids = [];
      for (const e of [a, unrelated, b, c]) ids.push((await store.addEvidence(e)).id);

      const byShared = await store.listBySubject(subjectDigest(shared));
      assert.deepEqual(digests(byShared), [a.envelopeDigest, b.envelopeDigest, c.envelopeDigest]);
      assertSameEvidence(byShared[0], a, ids[0]);
      assertSameEvidence(byShared[1], b, ids[2]);
      assertSameEvidence(byShared[2], c, ids[3]);

      assert.deepEqual(digests(await store.listBySubject(subjectDigest(onlyA))), [a.envelopeDigest]);
      assert.deepEqual(digests(await store.listBySubject(subjectDigest(onlyB))), [b.envelopeDigest]);
      for (const s of [onlyC1, onlyC2]) {
        const list = await store.listBySubject(subjectDigest(s));
        assert.deepEqual(digests(list), [c.envelopeDigest]);
        assertSameEvidence(list[0], c, ids[3]);
      }
    });

    test('listBySubject honours limit, keeping the oldest', async () => {
      const s = subject('limited');
      const added: string[] = [];
      for (let i = 0; i < 4; i++) {
        const e = evidence([s, subject(`other-${i}`)]);
        await store.addEvidence(e);
        added.push(e.envelopeDigest);
      }
      const d = subjectDigest(s);
      assert.deepEqual(digests(await store.listBySubject(d, 1)), added.slice(0, 1));
      assert.deepEqual(digests(await store.listBySubject(d, 2)), added.slice(0, 2));
      assert.deepEqual(digests(await store.listBySubject(d, 4)), added);
      assert.deepEqual(digests(await store.listBySubject(d, 100)), added);
      assert.deepEqual(digests(await store.listBySubject(d)), added);
    });

    test('unknown subject gives []', async () => {
      assert.deepEqual(await store.listBySubject(`sha256:${hex()}`), []);
      // Same hex under another algorithm is a different subject.
      const s = subject('algo');
      await store.addEvidence(evidence([s]));
      assert.equal((await store.listBySubject(subjectDigest(s))).length, 1);
      assert.deepEqual(await store.listBySubject(`sha512:${s.digest}`), []);
    });

    test('adding the same envelope twice: inserted false, same id, count unchanged, subjects not duplicated', async () => {
      const s1 = subject('replayed-1');
      const s2 = subject('replayed-2');
      const e = evidence([s1, s2]);
      const before = await store.countEvidence();
      const first = await store.addEvidence(e);
      assert.equal(first.inserted, true);
      assert.equal(await store.countEvidence(), before + 1);

      const again = await store.addEvidence(e);
      assert.deepEqual(again, { envelopeDigest: e.envelopeDigest, id: first.id, inserted: false });

      // A replay changes nothing, even if it arrives with different side data.
      const replay = await store.addEvidence({
        ...e,
        signer: 'someone-else',
        bundle: '{"different":true}',
        subjects: [s1, s2, subject('smuggled')],
      });
      assert.deepEqual(replay, { envelopeDigest: e.envelopeDigest, id: first.id, inserted: false });

      assert.equal(await store.countEvidence(), before + 1, 'count must stay +1');
      assertSameEvidence(await store.getEvidence(e.envelopeDigest), e, first.id);
      for (const s of [s1, s2]) {
        const list = await store.listBySubject(subjectDigest(s));
        assert.deepEqual(digests(list), [e.envelopeDigest], `subject ${s.name} listed more than once`);
        assert.equal(list[0]!.subjects.length, 2);
      }
    });

    test('a subject named twice in one statement is indexed once', async () => {
      const s = subject('dup');
      const e = evidence([s, { ...s }]);
      const res = await store.addEvidence(e);
      assert.equal(res.inserted, true);
      const list = await store.listBySubject(subjectDigest(s));
      assert.deepEqual(digests(list), [e.envelopeDigest]);
      assert.deepEqual(sortedSubjects(list[0]!.subjects), [s]);
    });

    test('countEvidence counts distinct envelopes', async () => {
      const before = await store.countEvidence();
      const batch = Array.from({ length: 7 }, (_, i) => evidence([subject(`count-${i}`)]));
      for (const e of batch) await store.addEvidence(e);
      assert.equal(await store.countEvidence(), before + 7);
      for (const e of batch.slice(0, 3)) assert.equal((await store.addEvidence(e)).inserted, false);
      assert.equal(await store.countEvidence(), before + 7);
    });

    test('schemaVersion() equals LATEST_SCHEMA_VERSION', async () => {
      assert.equal(await store.schemaVersion(), LATEST_SCHEMA_VERSION);
    });

    test('reopening the same store: data persists, version unchanged, adds still de-duplicate', async () => {
      const s = subject('persisted');
      const e = evidence([s]);
      const { id } = await store.addEvidence(e);
      const count = await store.countEvidence();
      await store.close();

      store = await open();
      assert.equal(await store.schemaVersion(), LATEST_SCHEMA_VERSION);
      assert.equal(await store.countEvidence(), count);
      assertSameEvidence(await store.getEvidence(e.envelopeDigest), e, id);
      assert.deepEqual(digests(await store.listBySubject(subjectDigest(s))), [e.envelopeDigest]);
      assert.deepEqual(await store.addEvidence(e), { envelopeDigest: e.envelopeDigest, id, inserted: false });

      const next = await store.addEvidence(evidence([subject('after-reopen')]));
      assert.equal(next.inserted, true);
      assert.ok(next.id > id, 'ids keep increasing after reopen');
      assert.equal(await store.countEvidence(), count + 1);
    });
  });
}
