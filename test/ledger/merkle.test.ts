import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { decodeBase64Strict } from '../../src/evidence/base64.ts';
import {
  consistencyProof,
  consistencyProofPlan,
  foldRange,
  inclusionProof,
  inclusionProofPlan,
  type NodeFetcher,
  type NodeId,
  ProofError,
  type ProofErrorCode,
  rangeNodes,
  rootFromInclusionProof,
  rootPlan,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from '../../src/ledger/proof.ts';
import { emptyRoot, HASH_SIZE, leafHash, nodeHash } from '../../src/ledger/rfc6962.ts';

// Test vectors:
// - test/fixtures/tlog/transparency-dev-merkle/testdata/{inclusion,consistency}/**: the JSON probes of
//   transparency-dev/merkle @ 417fb0c314750d94e53942e9f92e79b6d35915db, testdata/ (Apache-2.0).
// - test/fixtures/tlog/merkle-reference-8leaves.json: transcribed from transparency-dev/merkle
//   testonly/constants.go, testonly/reference_test.go and rfc6962/rfc6962_test.go (the 8-leaf RFC tree);
//   its derived_* sections were computed by an independent RFC 6962 implementation.
// See test/fixtures/tlog/README.md.

const FIXTURES = fileURLToPath(new URL('../fixtures/tlog/', import.meta.url));
const PROBES = join(FIXTURES, 'transparency-dev-merkle/testdata');

// Probe sizes are uint64 and one is 2^64-1, which JSON.parse would round; keep them as strings.
function readJson(path: string): unknown {
  const text = readFileSync(path, 'utf8').replace(/"(leafIdx|treeSize|size1|size2)":\s*(\d+)/g, '"$1": "$2"');
  return JSON.parse(text);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');
const b64 = (s: string) => decodeBase64Strict(s, 'probe');

/** The code a verifier failed with, or 'ok'; anything but a ProofError is a bug. */
function outcome(fn: () => void): ProofErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof ProofError) return err.code;
    throw err;
  }
}

function flipBit(b: Uint8Array, bit: number): Buffer {
  const out = Buffer.from(b);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

function isPowerOfTwo(n: bigint): boolean {
  return n > 0n && (n & (n - 1n)) === 0n;
}

function log2(n: bigint): number {
  return n.toString(2).length - 1;
}

/** k with k < n <= 2k, n > 1: where RFC 6962 splits D[0:n]. */
function splitPoint(n: bigint): bigint {
  let k = 1n;
  while (k << 1n < n) k <<= 1n;
  return k;
}

/**
 * A Merkle tree hashed straight from RFC 6962's recursive MTH, PATH and PROOF.
 * A sparse tree has real leaves (leafHash of the decimal index) only at the
 * marked indices and one filler leaf everywhere else; a complete subtree of
 * filler leaves hashes to a constant per level, so a tree of 2^40 or 2^64-1
 * leaves is hashed only along the marked paths.
 */
class ReferenceTree {
  private readonly leafAt: (i: bigint) => Buffer;
  private readonly marked: bigint[] | undefined;
  private readonly filler: Buffer[] = [leafHash(Buffer.from('filler'))];
  private readonly memo = new Map<string, Buffer>();

  private constructor(leafAt: (i: bigint) => Buffer, marked: bigint[] | undefined) {
    this.leafAt = leafAt;
    this.marked = marked;
    for (let l = 1; l <= 64; l++) this.filler.push(nodeHash(this.filler[l - 1]!, this.filler[l - 1]!));
  }

  static fromLeaves(leaves: Buffer[]): ReferenceTree {
    return new ReferenceTree((i) => leaves[Number(i)]!, undefined);
  }

  static counting(): ReferenceTree {
    return new ReferenceTree((i) => leafHash(Buffer.from(String(i))), undefined);
  }

  static sparse(marked: Iterable<bigint>): ReferenceTree {
    const set = [...new Set(marked)];
    // mth() answers every unmarked leaf with the filler before it asks leafAt.
    return new ReferenceTree((i) => leafHash(Buffer.from(String(i))), set);
  }

  private plain(lo: bigint, hi: bigint): boolean {
    return this.marked !== undefined && !this.marked.some((x) => x >= lo && x < hi);
  }

  /** MTH(D[lo:hi]). */
  mth(lo: bigint, hi: bigint): Buffer {
    const n = hi - lo;
    if (n === 0n) return emptyRoot();
    if (isPowerOfTwo(n) && this.plain(lo, hi)) return this.filler[log2(n)]!;
    if (n === 1n) return this.leafAt(lo);
    const key = `${lo}:${hi}`;
    let h = this.memo.get(key);
    if (h === undefined) {
      const k = splitPoint(n);
      h = nodeHash(this.mth(lo, lo + k), this.mth(lo + k, hi));
      this.memo.set(key, h);
    }
    return h;
  }

  leaf(i: bigint): Buffer {
    return this.mth(i, i + 1n);
  }

  node(id: NodeId): Buffer {
    const l = BigInt(id.level);
    return this.mth(id.index << l, (id.index + 1n) << l);
  }

  /** PATH(m - lo, D[lo:hi]). */
  path(m: bigint, lo: bigint, hi: bigint): Buffer[] {
    const n = hi - lo;
    if (n === 1n) return [];
    const k = splitPoint(n);
    if (m - lo < k) return [...this.path(m, lo, lo + k), this.mth(lo + k, hi)];
    return [...this.path(m, lo + k, hi), this.mth(lo, lo + k)];
  }

  /** PROOF(m, D[0:n]). */
  proof(m: bigint, n: bigint): Buffer[] {
    return this.subproof(m, 0n, n, true);
  }

  /** SUBPROOF(m, D[lo:hi], b), m counted from lo. */
  private subproof(m: bigint, lo: bigint, hi: bigint, b: boolean): Buffer[] {
    const n = hi - lo;
    if (m === n) return b ? [] : [this.mth(lo, hi)];
    const k = splitPoint(n);
    if (m <= k) return [...this.subproof(m, lo, lo + k, b), this.mth(lo + k, hi)];
    return [...this.subproof(m - k, lo + k, hi, false), this.mth(lo, lo + k)];
  }

  readonly fetch: NodeFetcher = async (ids) => ids.map((id) => this.node(id));
}

describe('RFC 6962 hashing', () => {
  const ref = readJson(join(FIXTURES, 'merkle-reference-8leaves.json')) as {
    hasher: { op: string; input_hex?: string; left_hex?: string; right_hex?: string; want_hex: string; desc: string }[];
  };
  for (const v of ref.hasher) {
    test(v.desc, () => {
      const got =
        v.op === 'emptyRoot' ? emptyRoot() : v.op === 'hashLeaf' ? leafHash(unhex(v.input_hex!)) : nodeHash(unhex(v.left_hex!), unhex(v.right_hex!));
      assert.equal(hex(got), v.want_hex);
      assert.equal(got.length, HASH_SIZE);
    });
  }
});

describe('the 8-leaf reference tree (transparency-dev/merkle testonly)', () => {
  interface IncVector {
    leafIndex: number;
    treeSize: number;
    proof: string[];
    leafHash?: string;
    root?: string;
  }
  interface ConVector {
    size1: number;
    size2: number;
    proof: string[];
    root1?: string;
    root2?: string;
  }
  const ref = readJson(join(FIXTURES, 'merkle-reference-8leaves.json')) as {
    leafInputs_hex: string[];
    nodeHashes_hex_by_level: string[][];
    rootHashes_hex_by_treeSize: string[];
    inclusionProofs: IncVector[];
    consistencyProofs: ConVector[];
    derived_allInclusionProofs: IncVector[];
    derived_allConsistencyProofs: ConVector[];
  };
  const leaves = ref.leafInputs_hex.map((h) => leafHash(unhex(h)));
  const tree = ReferenceTree.fromLeaves(leaves);
  const rootOf = (size: number) => unhex(ref.rootHashes_hex_by_treeSize[size]!);

  test('node hashes by level', () => {
    ref.nodeHashes_hex_by_level.forEach((row, level) => {
      row.forEach((want, index) => assert.equal(hex(tree.node({ level, index: BigInt(index) })), want, `node ${level}/${index}`));
    });
  });

  test('roots for sizes 0..8, through treeRoot', async () => {
    for (let size = 0; size <= 8; size++) {
      assert.equal(hex(await treeRoot(BigInt(size), tree.fetch)), ref.rootHashes_hex_by_treeSize[size], `size ${size}`);
    }
  });

  for (const [name, vectors] of [
    ['transcribed', ref.inclusionProofs],
    ['derived (all)', ref.derived_allInclusionProofs],
  ] as const) {
    test(`inclusion proofs, ${name}: generated equal, and verify`, async () => {
      for (const v of vectors) {
        const [index, size] = [BigInt(v.leafIndex), BigInt(v.treeSize)];
        const proof = await inclusionProof(index, size, tree.fetch);
        assert.deepEqual(proof.map(hex), v.proof, `${index}/${size}`);
        if (v.leafHash !== undefined) assert.equal(hex(leaves[v.leafIndex]!), v.leafHash);
        if (v.root !== undefined) assert.equal(v.root, hex(rootOf(v.treeSize)));
        verifyInclusion(index, size, leaves[v.leafIndex]!, v.proof.map(unhex), rootOf(v.treeSize));
      }
    });
  }

  for (const [name, vectors] of [
    ['transcribed', ref.consistencyProofs],
    ['derived (all)', ref.derived_allConsistencyProofs],
  ] as const) {
    test(`consistency proofs, ${name}: generated equal, and verify`, async () => {
      for (const v of vectors) {
        const [m, n] = [BigInt(v.size1), BigInt(v.size2)];
        const proof = await consistencyProof(m, n, tree.fetch);
        assert.deepEqual(proof.map(hex), v.proof, `${m} -> ${n}`);
        if (v.root1 !== undefined) assert.equal(v.root1, hex(rootOf(v.size1)));
        if (v.root2 !== undefined) assert.equal(v.root2, hex(rootOf(v.size2)));
        verifyConsistency(m, n, v.proof.map(unhex), rootOf(v.size1), rootOf(v.size2));
      }
    });
  }

  test('flipping any bit of any proof hash makes verification fail', () => {
    let flips = 0;
    for (const v of ref.derived_allInclusionProofs) {
      const proof: Buffer[] = v.proof.map(unhex);
      proof.forEach((_, i) => {
        for (let bit = 0; bit < 8 * HASH_SIZE; bit++) {
          const bad = proof.with(i, flipBit(proof[i]!, bit));
          const code = outcome(() => verifyInclusion(BigInt(v.leafIndex), BigInt(v.treeSize), leaves[v.leafIndex]!, bad, rootOf(v.treeSize)));
          assert.equal(code, 'ROOT_MISMATCH');
          flips++;
        }
      });
    }
    for (const v of ref.derived_allConsistencyProofs) {
      const proof: Buffer[] = v.proof.map(unhex);
      proof.forEach((_, i) => {
        for (let bit = 0; bit < 8 * HASH_SIZE; bit++) {
          const bad = proof.with(i, flipBit(proof[i]!, bit));
          assert.equal(outcome(() => verifyConsistency(BigInt(v.size1), BigInt(v.size2), bad, rootOf(v.size1), rootOf(v.size2))), 'ROOT_MISMATCH');
          flips++;
        }
      });
    }
    assert.ok(flips > 40_000);
  });
});

function probeFiles(kind: string): string[] {
  return (readdirSync(join(PROBES, kind), { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();
}

describe('transparency-dev/merkle inclusion probes (testdata/inclusion)', () => {
  interface Probe {
    leafIdx: string;
    treeSize: string;
    root: string;
    leafHash: string;
    proof: string[] | null;
    desc: string;
    wantErr: boolean;
  }
  const files = probeFiles('inclusion');
  test('all probe files are present', () => assert.equal(files.length, 98));
  for (const file of files) {
    const p = readJson(join(PROBES, 'inclusion', file)) as Probe;
    test(`${file}: ${p.desc} -> ${p.wantErr ? 'fails' : 'verifies'}`, () => {
      const args = [BigInt(p.leafIdx), BigInt(p.treeSize), b64(p.leafHash), (p.proof ?? []).map(b64)] as const;
      const code = outcome(() => verifyInclusion(...args, b64(p.root)));
      assert.equal(code === 'ok', !p.wantErr, `got ${code}`);
      if (!p.wantErr) assert.deepEqual(rootFromInclusionProof(...args), b64(p.root));
    });
  }
});

describe('transparency-dev/merkle consistency probes (testdata/consistency)', () => {
  interface Probe {
    size1: string;
    size2: string;
    root1: string;
    root2: string;
    proof: string[] | null;
    desc: string;
    wantErr: boolean;
  }
  const files = probeFiles('consistency');
  test('all probe files are present', () => assert.equal(files.length, 98));
  for (const file of files) {
    const p = readJson(join(PROBES, 'consistency', file)) as Probe;
    test(`${file}: ${p.desc} -> ${p.wantErr ? 'fails' : 'verifies'}`, () => {
      const code = outcome(() =>
        verifyConsistency(BigInt(p.size1), BigInt(p.size2), (p.proof ?? []).map(b64), b64(p.root1), b64(p.root2)),
      );
      assert.equal(code === 'ok', !p.wantErr, `got ${code}`);
    });
  }
});

describe('compact ranges', () => {
  test('rangeNodes covers [lo, hi) exactly with aligned complete subtrees, left to right', () => {
    for (let lo = 0n; lo <= 70n; lo++) {
      for (let hi = lo; hi <= 70n; hi++) {
        let at = lo;
        for (const { level, index } of rangeNodes(lo, hi)) {
          assert.equal(index << BigInt(level), at, `[${lo}, ${hi})`);
          at += 1n << BigInt(level);
        }
        assert.equal(at, hi);
      }
    }
  });

  test('rangeNodes is the binary expansion of the size for a tree-aligned range', () => {
    assert.deepEqual(rangeNodes(0n, 13n), [
      { level: 3, index: 0n },
      { level: 2, index: 2n },
      { level: 0, index: 12n },
    ]);
    assert.deepEqual(rangeNodes(16n, 23n), [
      { level: 2, index: 4n },
      { level: 1, index: 10n },
      { level: 0, index: 22n },
    ]);
    assert.deepEqual(rangeNodes(0n, (1n << 64n) - 1n).length, 64);
    assert.deepEqual(rootPlan(0n), []);
  });

  test('foldRange of rootPlan is MTH for every size below 130', () => {
    const tree = ReferenceTree.counting();
    for (let size = 0n; size < 130n; size++) {
      assert.deepEqual(foldRange(rootPlan(size).map((id) => tree.node(id))), tree.mth(0n, size), `size ${size}`);
    }
  });

  test('reversed, negative or oversized ranges are RangeErrors', () => {
    assert.throws(() => rangeNodes(5n, 3n), RangeError);
    assert.throws(() => rangeNodes(-1n, 3n), RangeError);
    assert.throws(() => rangeNodes(0n, 1n << 64n), RangeError);
    assert.throws(() => rangeNodes(0 as unknown as bigint, 3n), RangeError);
    assert.throws(() => foldRange([Buffer.alloc(31)]), RangeError);
  });
});

describe('iterative proof plans against the recursive RFC 6962 definitions', () => {
  const tree = ReferenceTree.counting();
  const complete = (id: NodeId, size: bigint) => (id.index + 1n) << BigInt(id.level) <= size;

  test('inclusion: PATH(index, D[0:size]) for every index < size < 130, and it verifies', () => {
    for (let size = 1n; size < 130n; size++) {
      const root = tree.mth(0n, size);
      for (let index = 0n; index < size; index++) {
        const plan = inclusionProofPlan(index, size);
        for (const ids of plan) for (const id of ids) assert.ok(complete(id, size), `${index}/${size}: ${id.level}/${id.index}`);
        const proof = plan.map((ids) => foldRange(ids.map((id) => tree.node(id))));
        assert.deepEqual(proof.map(hex), tree.path(index, 0n, size).map(hex), `${index}/${size}`);
        verifyInclusion(index, size, tree.leaf(index), proof, root);
      }
    }
  });

  test('consistency: PROOF(m, D[0:n]) for every 1 <= m <= n < 70, and it verifies', () => {
    for (let n = 1n; n < 70n; n++) {
      for (let m = 1n; m <= n; m++) {
        const plan = consistencyProofPlan(m, n);
        for (const ids of plan) for (const id of ids) assert.ok(complete(id, n), `${m}->${n}: ${id.level}/${id.index}`);
        const proof = plan.map((ids) => foldRange(ids.map((id) => tree.node(id))));
        assert.deepEqual(proof.map(hex), tree.proof(m, n).map(hex), `${m} -> ${n}`);
        verifyConsistency(m, n, proof, tree.mth(0n, m), tree.mth(0n, n));
      }
    }
  });

  test('each proof is fetched in one call, with every node once', async () => {
    const calls: NodeId[][] = [];
    const spy: NodeFetcher = (ids) => {
      calls.push(ids);
      return tree.fetch(ids);
    };
    for (let n = 1n; n < 40n; n++) {
      for (let m = 1n; m <= n; m++) {
        calls.length = 0;
        await consistencyProof(m, n, spy);
        await inclusionProof(m - 1n, n, spy);
        await treeRoot(n, spy);
        for (const ids of calls) assert.equal(new Set(ids.map((id) => `${id.level}/${id.index}`)).size, ids.length);
        assert.ok(calls.length <= 3 && calls.every((ids) => ids.length > 0));
      }
    }
    calls.length = 0;
    assert.deepEqual(await treeRoot(0n, spy), emptyRoot());
    assert.deepEqual(await consistencyProof(5n, 5n, spy), []);
    assert.deepEqual(await inclusionProof(0n, 1n, spy), []);
    assert.equal(calls.length, 0, 'nothing to fetch, no fetch');
  });

  test('a fetch that returns the wrong number of hashes is refused', async () => {
    await assert.rejects(inclusionProof(3n, 10n, async () => []), RangeError);
    await assert.rejects(inclusionProof(3n, 10n, async (ids) => ids.map(() => Buffer.alloc(31))), RangeError);
  });

  test('impossible proofs are RangeErrors', async () => {
    assert.throws(() => inclusionProofPlan(3n, 3n), RangeError);
    assert.throws(() => inclusionProofPlan(0n, 0n), RangeError);
    assert.throws(() => inclusionProofPlan(-1n, 3n), RangeError);
    assert.throws(() => consistencyProofPlan(0n, 5n), RangeError);
    assert.throws(() => consistencyProofPlan(6n, 5n), RangeError);
    assert.deepEqual(consistencyProofPlan(5n, 5n), []);
    await assert.rejects(inclusionProof(3n, 3n, tree.fetch), RangeError);
    await assert.rejects(treeRoot(-1n, tree.fetch), RangeError);
  });
});

describe('trees beyond 2^31 leaves (bigint positions)', () => {
  const P = (k: number) => 1n << BigInt(k);
  const sizes = [P(31) - 1n, P(31), P(31) + 1n, P(32) - 1n, P(32), P(32) + 5n, P(40), P(53) + 3n, P(63), P(64) - 1n];
  const indicesFor = (size: bigint) =>
    [...new Set([0n, 1n, 2n, P(31) - 1n, P(31), P(31) + 1n, P(32) - 1n, P(32), P(32) + 3n, size / 3n, size / 2n, size - 2n, size - 1n])].filter(
      (i) => i >= 0n && i < size,
    );
  const olds = [1n, 2n, 3n, 7n, P(31) - 1n, P(31), P(31) + 1n, P(32) - 3n, P(32), P(32) + 5n, P(40) - 1n, P(40)];
  const marked = new Set<bigint>();
  for (const size of sizes) for (const i of indicesFor(size)) for (const j of [i - 1n, i, i + 1n]) marked.add(j);
  for (const m of olds) for (const j of [m - 1n, m]) marked.add(j);
  const tree = ReferenceTree.sparse([...marked].filter((i) => i >= 0n));

  for (const size of sizes) {
    test(`inclusion proofs in a tree of ${size} leaves equal PATH and verify`, async () => {
      const root = await treeRoot(size, tree.fetch);
      assert.deepEqual(root, tree.mth(0n, size));
      for (const index of indicesFor(size)) {
        const proof = await inclusionProof(index, size, tree.fetch);
        assert.deepEqual(proof.map(hex), tree.path(index, 0n, size).map(hex), `index ${index}`);
        verifyInclusion(index, size, tree.leaf(index), proof, root);
        // The same proof for the neighbouring leaf, whose hash differs, must not verify.
        const other = index ^ 1n;
        if (other < size) assert.notEqual(outcome(() => verifyInclusion(other, size, tree.leaf(index), proof, root)), 'ok');
        // Nor for the index a 32-bit truncation would have produced.
        const truncated = index & 0xffffffffn;
        if (truncated !== index) assert.notEqual(outcome(() => verifyInclusion(truncated, size, tree.leaf(index), proof, root)), 'ok');
      }
    });

    test(`consistency proofs into a tree of ${size} leaves equal PROOF and verify`, async () => {
      for (const m of [...olds, ...indicesFor(size).map((i) => i + 1n)].filter((x) => x <= size)) {
        const proof = await consistencyProof(m, size, tree.fetch);
        assert.deepEqual(proof.map(hex), tree.proof(m, size).map(hex), `${m} -> ${size}`);
        verifyConsistency(m, size, proof, tree.mth(0n, m), tree.mth(0n, size));
        if (m > 1n && proof.length > 0) {
          assert.notEqual(outcome(() => verifyConsistency(m - 1n, size, proof, tree.mth(0n, m), tree.mth(0n, size))), 'ok');
        }
      }
    });
  }
});

describe('verifier failure codes', () => {
  const tree = ReferenceTree.counting();
  const size = 13n;
  const index = 6n;
  const root = tree.mth(0n, size);
  const proof = tree.path(index, 0n, size);
  const leaf = tree.leaf(index);

  test('inclusion', () => {
    assert.equal(outcome(() => verifyInclusion(index, size, leaf, proof, root)), 'ok');
    assert.equal(outcome(() => verifyInclusion(size, size, leaf, proof, root)), 'SIZE_INVALID');
    assert.equal(outcome(() => verifyInclusion(-1n, size, leaf, proof, root)), 'SIZE_INVALID');
    assert.equal(outcome(() => verifyInclusion(index, 1n << 64n, leaf, proof, root)), 'SIZE_INVALID');
    assert.equal(outcome(() => verifyInclusion(6 as unknown as bigint, size, leaf, proof, root)), 'SIZE_INVALID');
    assert.equal(outcome(() => verifyInclusion(index, size, leaf, [...proof, root], root)), 'PROOF_INVALID');
    assert.equal(outcome(() => verifyInclusion(index, size, leaf, proof.slice(1), root)), 'PROOF_INVALID');
    assert.equal(outcome(() => verifyInclusion(index, size, leaf, proof.with(0, proof[0]!.subarray(1)), root)), 'PROOF_INVALID');
    assert.equal(outcome(() => verifyInclusion(index, size, leaf.subarray(1), proof, root)), 'PROOF_INVALID');
    assert.equal(outcome(() => verifyInclusion(index, size, leaf, proof, root.subarray(1))), 'PROOF_INVALID');
    assert.equal(outcome(() => verifyInclusion(index, size, tree.leaf(5n), proof, root)), 'ROOT_MISMATCH');
    assert.equal(outcome(() => verifyInclusion(index, size + 1n, leaf, proof, tree.mth(0n, size + 1n))), 'ROOT_MISMATCH');
    assert.deepEqual(rootFromInclusionProof(index, size, leaf, proof), root);
  });

  test('consistency', () => {
    const [m, r1] = [5n, tree.mth(0n, 5n)];
    const cp = tree.proof(m, size);
    assert.equal(outcome(() => verifyConsistency(m, size, cp, r1, root)), 'ok');
    assert.equal(outcome(() => verifyConsistency(size, m, cp, root, r1)), 'SIZE_INVALID');
    assert.equal(outcome(() => verifyConsistency(0n, size, cp, emptyRoot(), root)), 'SIZE_INVALID');
    assert.equal(outcome(() => verifyConsistency(0n, 0n, [], emptyRoot(), emptyRoot())), 'SIZE_INVALID');
    assert.equal(outcome(() => verifyConsistency(m, size, [], r1, root)), 'PROOF_INVALID');
    assert.equal(outcome(() => verifyConsistency(m, size, [...cp, root], r1, root)), 'PROOF_INVALID');
    assert.equal(outcome(() => verifyConsistency(m, size, cp.slice(0, -1), r1, root)), 'PROOF_INVALID');
    assert.equal(outcome(() => verifyConsistency(m, size, cp, r1.subarray(1), root)), 'PROOF_INVALID');
    assert.equal(outcome(() => verifyConsistency(m, size, cp, tree.mth(0n, 4n), root)), 'ROOT_MISMATCH');
    assert.equal(outcome(() => verifyConsistency(m, size, cp, r1, tree.mth(0n, 12n))), 'ROOT_MISMATCH');
    assert.equal(outcome(() => verifyConsistency(size, size, [], root, root)), 'ok');
    assert.equal(outcome(() => verifyConsistency(size, size, [root], root, root)), 'PROOF_INVALID');
    assert.equal(outcome(() => verifyConsistency(size, size, [], root, r1)), 'ROOT_MISMATCH');
  });
});

describe('properties (fast-check)', () => {
  const MAX = (1n << 64n) - 1n;
  const sizeArb = fc.oneof(fc.bigInt({ min: 1n, max: 300n }), fc.bigInt({ min: 1n, max: 1n << 34n }), fc.bigInt({ min: 1n, max: MAX }));
  const flips = fc.array(fc.nat({ max: 8 * HASH_SIZE - 1 }), { minLength: 64, maxLength: 64 });

  test('generated inclusion proofs verify; a flipped bit in any element does not', async () => {
    await fc.assert(
      fc.asyncProperty(sizeArb, fc.bigInt({ min: 0n, max: MAX }), flips, async (size, r, bits) => {
        const index = r % size;
        const tree = ReferenceTree.sparse([index, index ^ 1n, size - 1n, r % (size + 7n)]);
        const root = await treeRoot(size, tree.fetch);
        const proof = await inclusionProof(index, size, tree.fetch);
        verifyInclusion(index, size, tree.leaf(index), proof, root);
        proof.forEach((p, i) => {
          const bad = proof.with(i, flipBit(p, bits[i]!));
          assert.equal(outcome(() => verifyInclusion(index, size, tree.leaf(index), bad, root)), 'ROOT_MISMATCH');
        });
        assert.equal(outcome(() => verifyInclusion(index, size, flipBit(tree.leaf(index), bits[0]!), proof, root)), 'ROOT_MISMATCH');
      }),
      { numRuns: 300 },
    );
  });

  test('generated consistency proofs verify; a flipped bit in any element does not', async () => {
    await fc.assert(
      fc.asyncProperty(sizeArb, fc.bigInt({ min: 0n, max: MAX }), flips, async (n, r, bits) => {
        const m = 1n + (r % n);
        const tree = ReferenceTree.sparse([m - 1n, m, n - 1n, r % n]);
        const [root1, root2] = [await treeRoot(m, tree.fetch), await treeRoot(n, tree.fetch)];
        const proof = await consistencyProof(m, n, tree.fetch);
        verifyConsistency(m, n, proof, root1, root2);
        proof.forEach((p, i) => {
          const bad = proof.with(i, flipBit(p, bits[i]!));
          assert.equal(outcome(() => verifyConsistency(m, n, bad, root1, root2)), 'ROOT_MISMATCH');
        });
      }),
      { numRuns: 300 },
    );
  });
});
