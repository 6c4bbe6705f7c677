import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { exportPublicKeyPem } from '../../src/evidence/index.ts';
import { openWarrant, type Warrant } from '../../src/intake/index.ts';
import {
  entriesPath,
  leafHash,
  openCheckpoint,
  parseVerifierKey,
  tilePath,
  verifyConsistency,
  verifyInclusion,
  type Checkpoint,
} from '../../src/ledger/index.ts';
import { generateNoteKey } from '../../src/ledger/note.ts';
import { foldRange, rootPlan } from '../../src/ledger/proof.ts';
import {
  decodeEntryBundle,
  decodeHashTile,
  hashWithinTile,
  nodeFromTile,
  nodeTileCoordinates,
  TILE_WIDTH,
  tileWidthsForSize,
} from '../../src/ledger/tiles.ts';
import { buildServer } from '../../src/server/index.ts';
import { freshKey, signedBundle, tempDir } from '../helpers/evidence.ts';

// The tlog-tiles read API and the proof endpoints, read the way a tiles
// client reads them: everything is checked against the signed checkpoint.

const ENVELOPES = 333; // one full level-0 tile, a partial one of 77, a level-1 tile of width 1

interface PostedEntry {
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  inclusionProof: { logIndex: string; rootHash: string; treeSize: string; hashes: string[]; checkpoint: { envelope: string } };
  canonicalizedBody: string;
}

interface PostResponse {
  ok: boolean;
  outcome: string;
  logIndex: string;
  bundle: { dsseEnvelope: { payload: string }; verificationMaterial: { tlogEntries: PostedEntry[] } };
}

const b64 = (s: string) => Buffer.from(s, 'base64');

describe('tlog-tiles read API and proof endpoints', () => {
  const home = tempDir('warrant-log-routes-');
  const key = freshKey();
  let warrant: Warrant;
  let app: FastifyInstance;
  let vkey = '';
  const posted: PostResponse[] = [];
  const bundles: string[] = [];

  const get = (url: string) => app.inject({ method: 'GET', url });
  const post = (payload: string) => app.inject({ method: 'POST', url: '/v1/evidence', headers: { 'content-type': 'application/json' }, payload });
  const open = (note: string): Checkpoint => openCheckpoint(note, parseVerifierKey(vkey)).checkpoint;

  async function latest(): Promise<{ note: string; cp: Checkpoint }> {
    const r = await get('/v1/log/checkpoint');
    assert.equal(r.statusCode, 200, r.body);
    return { note: r.body, cp: open(r.body) };
  }

  before(async () => {
    mkdirSync(join(home, 'trust'), { recursive: true });
    writeFileSync(join(home, 'trust', 'k.pub'), exportPublicKeyPem(key));
    warrant = await openWarrant(home, { WARRANT_DB: '' });
    assert.equal(warrant.keys.size, 1);
    vkey = warrant.logKey.vkey;
    app = buildServer({ warrant });
    for (let i = 0; i < ENVELOPES; i++) bundles.push(JSON.stringify(signedBundle(key, i.toString(16).padStart(64, '0'), { i })));
    // In batches of concurrent requests, so appends share transactions and checkpoints.
    for (let i = 0; i < ENVELOPES; i += 37) {
      const rs = await Promise.all(bundles.slice(i, i + 37).map(post));
      for (const r of rs) {
        assert.equal(r.statusCode, 201, r.body);
        posted.push(r.json<PostResponse>());
      }
    }
    posted.sort((a, b) => Number(a.logIndex) - Number(b.logIndex));
  });

  after(async () => {
    await app.close();
    await warrant.close();
  });

  test('POST /v1/evidence hands back the bundle with its log entry and an inclusion proof that verifies', () => {
    assert.deepEqual(posted.map((p) => Number(p.logIndex)), Array.from({ length: ENVELOPES }, (_, i) => i));
    for (const p of posted) {
      const entries = p.bundle.verificationMaterial.tlogEntries;
      assert.equal(entries.length, 1);
      const e = entries[0]!;
      assert.equal(e.logIndex, p.logIndex);
      assert.equal(e.inclusionProof.logIndex, p.logIndex);
      assert.deepEqual(e.kindVersion, { kind: 'dsse', version: '0.0.2' });
      assert.equal(b64(e.logId.keyId).subarray(0, 4).readUInt32BE(0), parseVerifierKey(vkey).keyId);
      const cp = open(e.inclusionProof.checkpoint.envelope);
      assert.equal(cp.size.toString(), e.inclusionProof.treeSize);
      assert.equal(cp.rootHash.toString('base64'), e.inclusionProof.rootHash);
      assert.ok(BigInt(p.logIndex) < cp.size);
      const body = b64(e.canonicalizedBody);
      verifyInclusion(BigInt(p.logIndex), cp.size, leafHash(body), e.inclusionProof.hashes.map(b64), cp.rootHash);
      // The entry is this bundle's envelope: its payload hash is the payload's.
      const spec = (JSON.parse(body.toString()) as { spec: { dsseV002: { payloadHash: { digest: string } } } }).spec.dsseV002;
      assert.equal(spec.payloadHash.digest, createHash('sha256').update(b64(p.bundle.dsseEnvelope.payload)).digest('base64'));
    }
    assert.ok(posted.some((p) => p.bundle.verificationMaterial.tlogEntries[0]!.inclusionProof.hashes.length >= 8), 'some proofs are deep');
  });

  test('a replayed POST is 200 duplicate with the same log index, and the log does not grow', async () => {
    const before = await latest();
    const r = await post(bundles[100]!);
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json<PostResponse>();
    assert.equal(body.outcome, 'duplicate');
    assert.equal(body.logIndex, '100');
    const e = body.bundle.verificationMaterial.tlogEntries[0]!;
    assert.equal(e.logIndex, '100');
    assert.equal(e.canonicalizedBody, posted[100]!.bundle.verificationMaterial.tlogEntries[0]!.canonicalizedBody);
    assert.equal((await latest()).note, before.note);
  });

  test('GET /v1/log/checkpoint is a text/plain signed note that opens with the vkey', async () => {
    const r = await get('/v1/log/checkpoint');
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain(;|$)/);
    assert.equal(r.headers['cache-control'], 'no-cache');
    const cp = open(r.body);
    assert.equal(cp.origin, vkey.split('+')[0]);
    assert.equal(cp.size, BigInt(ENVELOPES));
    assert.throws(() => openCheckpoint(r.body, parseVerifierKey(generateNoteKey(cp.origin).vkey)), /not signed by the log key|no verifiable signatures/);
  });

  test('the tiles the checkpoint size implies recompute its root; entry bundles hash to the level-0 tiles', async () => {
    const { cp } = await latest();
    const inventory = tileWidthsForSize(cp.size);
    const hashTiles = new Map<string, Buffer[]>();
    const fetched: string[] = [];
    for (const { level, fullTiles, partialWidth } of inventory) {
      const widths: [bigint, number][] = [];
      for (let i = 0n; i < fullTiles; i++) widths.push([i, TILE_WIDTH]);
      if (partialWidth > 0) widths.push([fullTiles, partialWidth]);
      for (const [index, width] of widths) {
        const path = tilePath(level, index, width);
        const r = await get(`/v1/log/${path}`);
        assert.equal(r.statusCode, 200, `${path}: ${r.body}`);
        assert.equal(r.headers['content-type'], 'application/octet-stream');
        if (width === TILE_WIDTH) assert.match(String(r.headers['cache-control']), /immutable/, path);
        else assert.doesNotMatch(String(r.headers['cache-control']), /immutable/, path);
        hashTiles.set(`${level}/${index}`, decodeHashTile(r.rawPayload, width));
        fetched.push(path);
      }
    }
    assert.deepEqual(fetched, ['tile/0/000', 'tile/0/001.p/77', 'tile/1/000.p/1']);

    // The level-1 hash is the root of the full level-0 tile.
    assert.deepEqual(hashTiles.get('1/0')![0], hashWithinTile(hashTiles.get('0/0')!));

    // MTH(D[0:size]) from tile data alone.
    const nodes = rootPlan(cp.size).map((node) => {
      const c = nodeTileCoordinates(node);
      const tile = hashTiles.get(`${c.tileLevel}/${c.tileIndex}`);
      assert.ok(tile, `tile ${c.tileLevel}/${c.tileIndex} was fetched`);
      return nodeFromTile(tile, node);
    });
    assert.deepEqual(foldRange(nodes), cp.rootHash);

    // Entry bundles: every entry's leaf hash is its level-0 tile hash, and it is the entry POST handed back.
    const leaves = [...hashTiles.get('0/0')!, ...hashTiles.get('0/1')!];
    assert.equal(leaves.length, ENVELOPES);
    const entries: Buffer[] = [];
    for (const [index, width] of [[0n, TILE_WIDTH], [1n, ENVELOPES - TILE_WIDTH]] as const) {
      const path = entriesPath(index, width);
      const r = await get(`/v1/log/${path}`);
      assert.equal(r.statusCode, 200, `${path}: ${r.body}`);
      assert.equal(r.headers['content-type'], 'application/octet-stream');
      assert.equal(/immutable/.test(String(r.headers['cache-control'])), width === TILE_WIDTH, path);
      const got = decodeEntryBundle(r.rawPayload, width);
      assert.equal(got.length, width);
      entries.push(...got);
    }
    entries.forEach((e, i) => {
      assert.deepEqual(leafHash(e), leaves[i], `leaf ${i}`);
      assert.equal(e.toString('base64'), posted[i]!.bundle.verificationMaterial.tlogEntries[0]!.canonicalizedBody, `entry ${i}`);
    });
  });

  test('a tile that does not exist yet is 404', async () => {
    for (const path of [
      'tile/0/001', // only 77 of its 256 hashes exist
      'tile/0/001.p/78',
      'tile/0/002',
      'tile/0/002.p/1',
      'tile/1/000',
      'tile/1/000.p/2',
      'tile/2/000.p/1',
      'tile/entries/001',
      'tile/entries/001.p/78',
      'tile/entries/002.p/1',
      'tile/0/x001/000',
    ]) {
      const r = await get(`/v1/log/${path}`);
      assert.equal(r.statusCode, 404, `${path}: ${r.body}`);
      assert.equal(r.json<{ code: string }>().code, 'NOT_FOUND', path);
    }
  });

  test('malformed tile paths are 400 TILE_PATH_INVALID', async () => {
    for (const path of [
      'tile/0/0001',
      'tile/0/000.p/0',
      'tile/64/000',
      'tile/00/000',
      'tile/0/00',
      'tile/0/000.p/256',
      'tile/0/000.p/007',
      'tile/0/x000/001',
      'tile/0/000/',
      'tile/0/000.p/',
      'tile/-1/000',
      'tile/entries/000.p/0',
      'tile/entries/0001',
      'tile/data/000',
      'tile/0',
    ]) {
      const r = await get(`/v1/log/${path}`);
      assert.equal(r.statusCode, 400, `${path}: ${r.body}`);
      assert.equal(r.json<{ code: string }>().code, 'TILE_PATH_INVALID', path);
    }
  });

  test('inclusion proofs from the endpoint verify against checkpoint roots, old and new', async () => {
    const { cp } = await latest();
    // Every checkpoint the POSTs handed back is a signed root at some earlier size.
    const roots = new Map<bigint, Buffer>([[cp.size, cp.rootHash]]);
    for (const p of posted) {
      const c = open(p.bundle.verificationMaterial.tlogEntries[0]!.inclusionProof.checkpoint.envelope);
      roots.set(c.size, c.rootHash);
    }
    assert.ok(roots.size >= 5, `${roots.size} distinct checkpoints`);
    const leaf = (i: bigint) => leafHash(b64(posted[Number(i)]!.bundle.verificationMaterial.tlogEntries[0]!.canonicalizedBody));
    for (const [size, root] of roots) {
      for (const index of new Set([0n, size / 2n, size - 1n, 255n, 256n].filter((i) => i < size))) {
        const r = await get(`/v1/log/proof/inclusion?index=${index}&size=${size}`);
        assert.equal(r.statusCode, 200, r.body);
        const body = r.json<{ index: string; size: string; hashes: string[] }>();
        assert.equal(body.index, index.toString());
        assert.equal(body.size, size.toString());
        verifyInclusion(index, size, leaf(index), body.hashes.map(b64), root);
        if (size > 1n) {
          assert.throws(() => verifyInclusion(index, size, leaf(index === 0n ? 1n : 0n), body.hashes.map(b64), root), /does not lead to the root/);
        }
      }
    }
  });

  test('consistency proofs from the endpoint verify between checkpoint roots', async () => {
    const { cp } = await latest();
    const roots = new Map<bigint, Buffer>([[cp.size, cp.rootHash]]);
    for (const p of posted) {
      const c = open(p.bundle.verificationMaterial.tlogEntries[0]!.inclusionProof.checkpoint.envelope);
      roots.set(c.size, c.rootHash);
    }
    const sizes = [...roots.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let checked = 0;
    for (const m of sizes) {
      for (const n of [cp.size, sizes.find((s) => s > m)].filter((s): s is bigint => s !== undefined && s >= m)) {
        const r = await get(`/v1/log/proof/consistency?old=${m}&new=${n}`);
        assert.equal(r.statusCode, 200, r.body);
        const body = r.json<{ old: string; new: string; hashes: string[] }>();
        assert.deepEqual([body.old, body.new], [m.toString(), n.toString()]);
        verifyConsistency(m, n, body.hashes.map(b64), roots.get(m)!, roots.get(n)!);
        checked++;
      }
    }
    assert.ok(checked >= 5);
    // A proof does not verify against the wrong old root.
    const [m] = sizes.filter((s) => s > 1n && s < cp.size);
    assert.ok(m);
    const r = await get(`/v1/log/proof/consistency?old=${m}&new=${cp.size}`);
    const wrongOld = Buffer.from(roots.get(m)!);
    wrongOld[0]! ^= 1;
    assert.throws(() => verifyConsistency(m, cp.size, r.json<{ hashes: string[] }>().hashes.map(b64), wrongOld, cp.rootHash), /old root/);
  });

  test('bad proof query values are 400', async () => {
    const size = BigInt(ENVELOPES);
    for (const q of [
      'index=-1&size=5',
      'index=0&size=abc',
      'index=abc&size=5',
      'index=5&size=5',
      'index=6&size=5',
      `index=0&size=${size + 1n}`,
      'index=01&size=5',
      'index=1.0&size=5',
      'index=0&size=18446744073709551616',
      'index=0',
      'size=5',
      '',
    ]) {
      const r = await get(`/v1/log/proof/inclusion?${q}`);
      assert.equal(r.statusCode, 400, `inclusion ${q}: ${r.body}`);
    }
    for (const q of ['old=-1&new=5', 'old=abc&new=5', 'old=1&new=abc', 'old=0&new=5', 'old=6&new=5', `old=1&new=${size + 1n}`, 'old=1', 'new=5', '']) {
      const r = await get(`/v1/log/proof/consistency?${q}`);
      assert.equal(r.statusCode, 400, `consistency ${q}: ${r.body}`);
    }
  });
});
