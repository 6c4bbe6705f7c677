import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  consistencyProof,
  inclusionProof,
  type NodeFetcher,
  type NodeId,
  rootPlan,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from '../../src/ledger/proof.ts';
import { emptyRoot, leafHash, nodeHash } from '../../src/ledger/rfc6962.ts';
import {
  decodeEntryBundle,
  decodeHashTile,
  encodeEntryBundle,
  encodeHashTile,
  entriesPath,
  hashWithinTile,
  nodeFromTile,
  nodeTileCoordinates,
  parseTilePath,
  TILE_HEIGHT,
  TILE_WIDTH,
  TileDataError,
  TilePathError,
  tileNodes,
  tilePath,
  tileWidth,
  tileWidthsForSize,
} from '../../src/ledger/tiles.ts';

// Test vectors: test/fixtures/tlog/tile-paths.json, transcribed from C2SP tlog-tiles.md
// (C2SP/C2SP @ 5ba5ee83: the 1234067 path and the 70,000 and 256 tile inventories),
// transparency-dev/tessera api/layout/paths_test.go (@ 1811ae1a) and golang/mod
// sumdb/tlog/tile.go (@ fe2ec04f). See test/fixtures/tlog/README.md.

// JSON.parse would round the uint64 values; keep every integer as a string and let each test pick.
const vectors = JSON.parse(
  readFileSync(new URL('../fixtures/tlog/tile-paths.json', import.meta.url), 'utf8').replace(/(":\s*)(\d+)([,\n\r}])/g, '$1"$2"$3'),
) as {
  tilePath: { level: string; index: string; width: string; want: string }[];
  entriesPath: { index: string; width: string; want: string }[];
  entriesPathForLogIndex: { seq: string; logSize: string; want: string }[];
  parseTileLevelIndexPartial: {
    level: string;
    index: string;
    wantLevel?: string;
    wantIndex?: string;
    wantWidth?: string;
    wantErr: boolean;
  }[];
  tileInventoryForTreeSize: { treeSize: string; want: { level: string; fullTiles: string; partialWidth: string }[] }[];
  goSumdbTilePath_withHeight: { H?: string; L?: string; N?: string; W?: string; want?: string; note?: string }[];
};

const isTilePathError = (e: unknown) => e instanceof TilePathError && e.code === 'TILE_PATH_INVALID';
const isDataError = (code: string) => (e: unknown) => e instanceof TileDataError && e.code === code;

describe('tile paths (C2SP tlog-tiles, tessera paths_test.go)', () => {
  for (const v of vectors.tilePath) {
    test(`tilePath(${v.level}, ${v.index}, ${v.width}) = ${v.want}`, () => {
      assert.equal(tilePath(Number(v.level), BigInt(v.index), Number(v.width)), v.want);
      const full = Number(v.width) === 0;
      if (full) assert.equal(tilePath(Number(v.level), BigInt(v.index)), v.want);
      if (full) assert.equal(tilePath(Number(v.level), BigInt(v.index), 256), v.want);
      assert.deepEqual(parseTilePath(v.want), { kind: 'hash', level: Number(v.level), index: BigInt(v.index), width: full ? 256 : Number(v.width) });
    });
  }

  for (const v of vectors.entriesPath) {
    test(`entriesPath(${v.index}, ${v.width}) = ${v.want}`, () => {
      assert.equal(entriesPath(BigInt(v.index), Number(v.width)), v.want);
      const width = Number(v.width) === 0 ? 256 : Number(v.width);
      assert.deepEqual(parseTilePath(v.want), { kind: 'entries', index: BigInt(v.index), width });
    });
  }

  for (const v of vectors.entriesPathForLogIndex) {
    test(`the entry bundle holding entry ${v.seq} of a ${v.logSize}-entry log is ${v.want}`, () => {
      const index = BigInt(v.seq) / BigInt(TILE_WIDTH);
      assert.equal(entriesPath(index, tileWidth(0, index, BigInt(v.logSize))), v.want);
    });
  }

  for (const v of vectors.parseTileLevelIndexPartial) {
    const path = `tile/${v.level}/${v.index}`;
    test(`parseTilePath(${JSON.stringify(path)}) ${v.wantErr ? 'fails' : 'parses'}`, () => {
      if (v.wantErr) {
        assert.throws(() => parseTilePath(path), isTilePathError);
        return;
      }
      const width = Number(v.wantWidth) === 0 ? 256 : Number(v.wantWidth);
      assert.deepEqual(parseTilePath(path), { kind: 'hash', level: Number(v.wantLevel), index: BigInt(v.wantIndex!), width });
    });
  }

  for (const v of vectors.goSumdbTilePath_withHeight.filter((x) => x.want !== undefined)) {
    test(`Go sumdb's height-carrying ${v.want} is not a tlog-tiles path`, () => {
      assert.throws(() => parseTilePath(v.want!), isTilePathError);
    });
  }

  test("Go sumdb's data tiles are not tlog-tiles entry bundles", () => {
    assert.ok(vectors.goSumdbTilePath_withHeight.some((x) => x.note?.includes('tile/8/data/000')));
    assert.throws(() => parseTilePath('tile/8/data/000'), isTilePathError);
    assert.throws(() => parseTilePath('tile/data/000'), isTilePathError);
  });

  const rejected = [
    '',
    'tile/0/1',
    'tile/0/0001',
    'tile/00/000',
    'tile/01/000',
    'tile/64/000',
    'tile/-0/000',
    'tile/+1/000',
    'tile/ 1/000',
    '/tile/0/000',
    'tile/0/000/',
    'tile//000',
    'tile/0/x000/001',
    'tile/0/x000/x001/002',
    'tile/entries/x000/255',
    'tile/0/001/x002',
    'tile/0/x01/002',
    'tile/0/X001/002',
    'tile/0/000.p/0',
    'tile/0/000.p/007',
    'tile/0/000.p/256',
    'tile/0/000.p/1000',
    'tile/0/000.p/ 8',
    'tile/0/000.p/8/',
    'tile/0/000.P/8',
    'tile/0/000.p',
    'tile/entries/000.p/256',
    'tile/entries/000.p/0',
    'tile/entries',
    'tile/entries/',
    'tile/Entries/000',
    'tiles/0/000',
    'tile/0/000\n',
    'tile/0/x018/x446/x744/x073/x709/x551/616',
    'tile/0/x100/x000/x000/x000/x000/x000/x000/000',
  ];
  for (const path of rejected) {
    test(`parseTilePath rejects ${JSON.stringify(path)}`, () => assert.throws(() => parseTilePath(path), isTilePathError));
  }

  test('the largest uint64 index parses; one more does not', () => {
    const max = (1n << 64n) - 1n;
    const path = tilePath(0, max, 7);
    assert.equal(path, 'tile/0/x018/x446/x744/x073/x709/x551/615.p/7');
    assert.deepEqual(parseTilePath(path), { kind: 'hash', level: 0, index: max, width: 7 });
    assert.throws(() => tilePath(0, max + 1n), isTilePathError);
  });

  test('tilePath refuses what has no path', () => {
    assert.throws(() => tilePath(64, 0n), isTilePathError);
    assert.throws(() => tilePath(-1, 0n), isTilePathError);
    assert.throws(() => tilePath(1.5, 0n), isTilePathError);
    assert.throws(() => tilePath(0, -1n), isTilePathError);
    assert.throws(() => tilePath(0, 0n, 257), isTilePathError);
    assert.throws(() => tilePath(0, 0n, -1), isTilePathError);
    assert.throws(() => entriesPath(0n, 3.5), isTilePathError);
  });

  test('every path round-trips, and every string either parses to its own path or is refused', () => {
    fc.assert(
      fc.property(fc.nat({ max: 63 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.nat({ max: 256 }), fc.boolean(), (level, index, width, entries) => {
        const path = entries ? entriesPath(index, width) : tilePath(level, index, width);
        const w = width === 0 ? 256 : width;
        const want = entries ? { kind: 'entries', index, width: w } : { kind: 'hash', level, index, width: w };
        assert.deepEqual(parseTilePath(path), want);
      }),
      { numRuns: 2000 },
    );
    const pieces = fc.constantFrom('tile/', 'entries/', '0/', '63/', '64/', 'x', '000', '001', '/', '.p/', '1', '255', '256', '0');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(pieces, { maxLength: 12 }).map((p) => p.join(''))), (s) => {
        let parsed;
        try {
          parsed = parseTilePath(s);
        } catch (err) {
          assert.ok(isTilePathError(err));
          return;
        }
        const again = parsed.kind === 'hash' ? tilePath(parsed.level, parsed.index, parsed.width) : entriesPath(parsed.index, parsed.width);
        assert.equal(again, s);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('tile inventory (C2SP tlog-tiles)', () => {
  for (const v of vectors.tileInventoryForTreeSize) {
    test(`a tree of ${v.treeSize} leaves`, () => {
      const want = v.want.map((w) => ({ level: Number(w.level), fullTiles: BigInt(w.fullTiles), partialWidth: Number(w.partialWidth) }));
      assert.deepEqual(tileWidthsForSize(BigInt(v.treeSize)), want);
    });
  }

  test('size 70,000 as the spec lists it: 273 full level-0 tiles then .p/112, and so on', () => {
    const size = 70_000n;
    assert.equal(tileWidth(0, 272n, size), 256);
    assert.equal(tileWidth(0, 273n, size), 112);
    assert.equal(tileWidth(0, 274n, size), 0);
    assert.equal(tileWidth(1, 0n, size), 256);
    assert.equal(tileWidth(1, 1n, size), 17);
    assert.equal(tileWidth(2, 0n, size), 1);
    assert.equal(tileWidth(3, 0n, size), 0);
    assert.equal(tilePath(0, 273n, tileWidth(0, 273n, size)), 'tile/0/273.p/112');
    assert.equal(tilePath(1, 1n, tileWidth(1, 1n, size)), 'tile/1/001.p/17');
    assert.equal(tilePath(2, 0n, tileWidth(2, 0n, size)), 'tile/2/000.p/1');
  });

  test('edge sizes', () => {
    assert.deepEqual(tileWidthsForSize(0n), []);
    assert.deepEqual(tileWidthsForSize(1n), [{ level: 0, fullTiles: 0n, partialWidth: 1 }]);
    const max = tileWidthsForSize((1n << 64n) - 1n);
    assert.equal(max.length, 8);
    assert.deepEqual(max.at(-1), { level: 7, fullTiles: 0n, partialWidth: 255 });
    assert.throws(() => tileWidthsForSize(-1n), RangeError);
    assert.throws(() => tileWidthsForSize(1n << 64n), RangeError);
  });
});

describe('nodes within tiles', () => {
  test('tileNodes: tile L holds tree level 8L', () => {
    assert.deepEqual(tileNodes(0, 0n, 256), { treeLevel: 0, first: 0n, count: 256 });
    assert.deepEqual(tileNodes(2, 5n, 17), { treeLevel: 16, first: 1280n, count: 17 });
    assert.throws(() => tileNodes(0, 0n, 0), RangeError);
    assert.throws(() => tileNodes(0, 0n, 257), RangeError);
  });

  test('nodeTileCoordinates', () => {
    assert.deepEqual(nodeTileCoordinates({ level: 0, index: 0n }), { tileLevel: 0, tileIndex: 0n, first: 0, count: 1, minWidth: 1 });
    assert.deepEqual(nodeTileCoordinates({ level: 0, index: 300n }), { tileLevel: 0, tileIndex: 1n, first: 44, count: 1, minWidth: 45 });
    assert.deepEqual(nodeTileCoordinates({ level: 3, index: 5n }), { tileLevel: 0, tileIndex: 0n, first: 40, count: 8, minWidth: 48 });
    assert.deepEqual(nodeTileCoordinates({ level: 7, index: 3n }), { tileLevel: 0, tileIndex: 1n, first: 128, count: 128, minWidth: 256 });
    assert.deepEqual(nodeTileCoordinates({ level: 8, index: 0n }), { tileLevel: 1, tileIndex: 0n, first: 0, count: 1, minWidth: 1 });
    assert.deepEqual(nodeTileCoordinates({ level: 10, index: 70n }), { tileLevel: 1, tileIndex: 1n, first: 24, count: 4, minWidth: 28 });
    assert.deepEqual(nodeTileCoordinates({ level: 63, index: 1n }), { tileLevel: 7, tileIndex: 0n, first: 128, count: 128, minWidth: 256 });
    assert.throws(() => nodeTileCoordinates({ level: 64, index: 0n }), RangeError);
    assert.throws(() => nodeTileCoordinates({ level: 0, index: -1n }), RangeError);
  });

  test('hashWithinTile is the perfect subtree, and refuses anything else', () => {
    const h = [0, 1, 2, 3].map((i) => leafHash(Buffer.from([i])));
    assert.deepEqual(hashWithinTile(h.slice(0, 1)), h[0]);
    assert.deepEqual(hashWithinTile(h), nodeHash(nodeHash(h[0]!, h[1]!), nodeHash(h[2]!, h[3]!)));
    assert.throws(() => hashWithinTile([]), isDataError('HASH_TILE_INVALID'));
    assert.throws(() => hashWithinTile(h.slice(0, 3)), isDataError('HASH_TILE_INVALID'));
    assert.throws(() => hashWithinTile([h[0]!, Buffer.alloc(31)]), isDataError('HASH_TILE_INVALID'));
    assert.throws(() => nodeFromTile(h, { level: 3, index: 0n }), isDataError('HASH_TILE_INVALID'));
  });
});

describe('entry bundles and hash tiles', () => {
  test('entry bundles round-trip, empty and 65,535-byte entries included', () => {
    const entries = [Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(0xffff, 7)];
    const bundle = encodeEntryBundle(entries);
    assert.equal(bundle.length, 3 * 2 + 5 + 0xffff);
    assert.deepEqual(bundle.subarray(0, 11), Buffer.from([0, 0, 0, 5, ...Buffer.from('hello'), 0xff, 0xff]));
    assert.deepEqual(decodeEntryBundle(bundle), entries);
    assert.deepEqual(decodeEntryBundle(bundle, 3), entries);
  });

  test('entry bundles are refused when cut short, too long, empty or oversized', () => {
    const bundle = encodeEntryBundle([Buffer.from('ab'), Buffer.from('cde')]);
    const bad = isDataError('ENTRY_BUNDLE_INVALID');
    for (let cut = 1; cut < bundle.length; cut++) {
      if (cut === 4) continue; // a whole first entry is a valid one-entry bundle
      assert.throws(() => decodeEntryBundle(bundle.subarray(0, cut)), bad, `cut at ${cut}`);
    }
    assert.deepEqual(decodeEntryBundle(bundle.subarray(0, 4)), [Buffer.from('ab')]);
    assert.throws(() => decodeEntryBundle(bundle, 1), bad);
    assert.throws(() => decodeEntryBundle(Buffer.concat([bundle, Buffer.from([0])])), bad);
    assert.throws(() => decodeEntryBundle(Buffer.alloc(0)), bad);
    assert.throws(() => decodeEntryBundle(Buffer.alloc(2 * 257)), bad, '257 empty entries');
    assert.equal(decodeEntryBundle(Buffer.alloc(2 * 256)).length, 256);
    assert.throws(() => encodeEntryBundle([Buffer.alloc(0x10000)]), bad);
    assert.throws(() => encodeEntryBundle([]), bad);
    assert.throws(() => encodeEntryBundle(Array.from({ length: 257 }, () => Buffer.alloc(0))), bad);
  });

  test('entry bundle decoding never throws anything but ENTRY_BUNDLE_INVALID', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 1, max: 256 }), (data, max) => {
        try {
          const entries = decodeEntryBundle(data, max);
          assert.deepEqual(encodeEntryBundle(entries), Buffer.from(data));
        } catch (err) {
          assert.ok(isDataError('ENTRY_BUNDLE_INVALID')(err), String(err));
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('hash tiles are exactly 32·width bytes', () => {
    const hashes = Array.from({ length: 5 }, (_, i) => leafHash(Buffer.from([i])));
    const tile = encodeHashTile(hashes);
    assert.equal(tile.length, 160);
    assert.deepEqual(decodeHashTile(tile, 5), hashes);
    const bad = isDataError('HASH_TILE_INVALID');
    assert.throws(() => decodeHashTile(tile, 4), bad);
    assert.throws(() => decodeHashTile(tile, 6), bad);
    assert.throws(() => decodeHashTile(tile.subarray(1), 5), bad);
    assert.throws(() => decodeHashTile(Buffer.alloc(0), 0), bad);
    assert.throws(() => decodeHashTile(Buffer.alloc(32 * 257), 257), bad);
    assert.throws(() => encodeHashTile([]), bad);
    assert.throws(() => encodeHashTile([Buffer.alloc(33)]), bad);
  });
});

/** MTH(D[lo:hi]) from RFC 6962 §2.1, recursively, with no shortcuts. */
function mth(leaves: Buffer[], lo: number, hi: number): Buffer {
  if (hi === lo) return emptyRoot();
  if (hi - lo === 1) return leaves[lo]!;
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return nodeHash(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}

/**
 * What a log of these entries publishes: hash tiles built the way the spec
 * defines them (level 0 holds leaf hashes; each level-(L+1) hash is the root of
 * a full level-L tile) and entry bundles, keyed by path.
 */
function publish(entries: Buffer[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let t = 0; t * TILE_WIDTH < entries.length; t++) {
    const chunk = entries.slice(t * TILE_WIDTH, (t + 1) * TILE_WIDTH);
    files.set(entriesPath(BigInt(t), chunk.length), encodeEntryBundle(chunk));
  }
  let hashes = entries.map((e) => leafHash(e));
  for (let level = 0; hashes.length > 0; level++) {
    const up: Buffer[] = [];
    for (let t = 0; t * TILE_WIDTH < hashes.length; t++) {
      const chunk = hashes.slice(t * TILE_WIDTH, (t + 1) * TILE_WIDTH);
      files.set(tilePath(level, BigInt(t), chunk.length), encodeHashTile(chunk));
      if (chunk.length === TILE_WIDTH) up.push(hashWithinTile(chunk));
    }
    hashes = up;
  }
  return files;
}

/** A tile client for a tree of `size`: it reads only tiles that size implies exist. */
function tileFetcher(files: Map<string, Buffer>, size: bigint): NodeFetcher {
  return async (ids) =>
    ids.map((id) => {
      const c = nodeTileCoordinates(id);
      const width = tileWidth(c.tileLevel, c.tileIndex, size);
      assert.ok(width >= c.minWidth, `node ${id.level}/${id.index} is not in a tile of a ${size}-leaf tree`);
      const data = files.get(tilePath(c.tileLevel, c.tileIndex, width));
      assert.ok(data !== undefined, `no ${tilePath(c.tileLevel, c.tileIndex, width)}`);
      return nodeFromTile(decodeHashTile(data, width), id);
    });
}

describe('a log served as tiles, against the reference tree', () => {
  const entries = Array.from({ length: 70_000 }, (_, i) => Buffer.from(`entry ${i}`));
  const leaves = entries.map((e) => leafHash(e));
  // levels[l][i]: complete node l/i, hashed pairwise straight from the definition.
  const levels: Buffer[][] = [leaves];
  while (levels.at(-1)!.length > 1) {
    const below = levels.at(-1)!;
    levels.push(Array.from({ length: Math.floor(below.length / 2) }, (_, i) => nodeHash(below[2 * i]!, below[2 * i + 1]!)));
  }

  for (const n of [1, 2, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 70_000]) {
    const size = BigInt(n);
    test(`size ${n}: tiles exist as tileWidthsForSize says, nodes and root from tiles match`, async () => {
      const files = publish(entries.slice(0, n));
      const expected = new Set<string>();
      for (const { level, fullTiles, partialWidth } of tileWidthsForSize(size)) {
        for (let t = 0n; t < fullTiles; t++) expected.add(tilePath(level, t));
        if (partialWidth > 0) expected.add(tilePath(level, fullTiles, partialWidth));
        if (level === 0) {
          for (let t = 0n; t < fullTiles; t++) expected.add(entriesPath(t));
          if (partialWidth > 0) expected.add(entriesPath(fullTiles, partialWidth));
        }
      }
      assert.deepEqual([...files.keys()].sort(), [...expected].sort());

      // Every bundle holds the entries its level-0 tile commits to.
      for (const [path, data] of files) {
        const p = parseTilePath(path);
        if (p.kind !== 'entries') continue;
        const hashes = decodeHashTile(files.get(tilePath(0, p.index, p.width))!, p.width);
        assert.deepEqual(decodeEntryBundle(data, p.width).map((e) => leafHash(e)), hashes);
        assert.deepEqual(tileNodes(0, p.index, p.width), { treeLevel: 0, first: p.index * 256n, count: p.width });
      }

      // Complete nodes recomputed from tiles equal the reference; all of them for small sizes, a stride for large.
      const fetch = tileFetcher(files, size);
      const ids: NodeId[] = [];
      for (let level = 0; n >> level > 0; level++) {
        const count = n >> level;
        const stride = n > 600 && level < TILE_HEIGHT ? 97 : 1;
        for (let i = 0; i < count; i += stride) ids.push({ level, index: BigInt(i) });
        ids.push({ level, index: BigInt(count - 1) });
      }
      const got = await fetch(ids);
      ids.forEach((id, k) => assert.deepEqual(got[k], levels[id.level]![Number(id.index)], `node ${id.level}/${id.index}`));

      const root = mth(leaves, 0, n);
      assert.deepEqual(await treeRoot(size, fetch), root);
      assert.ok(rootPlan(size).length >= 1);
    });
  }

  test('proofs built from tiles verify against the reference roots', async () => {
    const files = publish(entries);
    const fetch = tileFetcher(files, 70_000n);
    const root = mth(leaves, 0, 70_000);
    for (const index of [0, 1, 255, 256, 257, 65_535, 65_536, 69_887, 69_888, 69_999]) {
      const proof = await inclusionProof(BigInt(index), 70_000n, fetch);
      verifyInclusion(BigInt(index), 70_000n, leaves[index]!, proof, root);
    }
    for (const m of [1, 255, 256, 257, 65_536, 65_537, 69_999, 70_000]) {
      // An older checkpoint's tiles are a subset of the newer ones' or partial tiles of it; the newer size drives the fetch.
      const proof = await consistencyProof(BigInt(m), 70_000n, fetch);
      verifyConsistency(BigInt(m), 70_000n, proof, mth(leaves, 0, m), root);
    }
  });
});
