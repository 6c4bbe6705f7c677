import { emptyRoot, HASH_SIZE, nodeHash } from './rfc6962.ts';

// Merkle inclusion and consistency proofs (RFC 6962 §2.1.1-2.1.2, RFC 9162 §2.1.3-2.1.4).
//
// Positions are bigint throughout: JavaScript's bitwise operators work on
// signed 32-bit values, so `index & 1` or `size >> 1` on a number silently
// corrupts every tree larger than 2^31 leaves. Sizes are uint64, as in the
// checkpoint format.
//
// Generation is split into a plan (which complete subtrees are needed) and a
// fetch, so a tile client or a node store can load everything in one round.

export type ProofErrorCode = 'PROOF_INVALID' | 'ROOT_MISMATCH' | 'SIZE_INVALID';

/** A proof that does not verify. The code is stable; the message is for people. */
export class ProofError extends Error {
  readonly code: ProofErrorCode;
  constructor(code: ProofErrorCode, message: string) {
    super(message);
    this.name = 'ProofError';
    this.code = code;
  }
}

/** The complete subtree over leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  level: number;
  index: bigint;
}

/** Returns the hashes of the given complete subtrees, in the order asked. */
export type NodeFetcher = (ids: NodeId[]) => Promise<Buffer[]>;

const MAX_UINT64 = (1n << 64n) - 1n;

function isUint64(x: unknown): x is bigint {
  return typeof x === 'bigint' && x >= 0n && x <= MAX_UINT64;
}

function requireUint64(x: bigint, what: string): void {
  if (!isUint64(x)) throw new RangeError(`${what} must be a bigint in [0, 2^64)`);
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

function popCount(x: bigint): number {
  let n = 0;
  for (const c of x.toString(2)) if (c === '1') n++;
  return n;
}

/** Trailing zero bits of x > 0. */
function trailingZeros(x: bigint): number {
  const s = x.toString(2);
  return s.length - 1 - s.lastIndexOf('1');
}

function isPowerOfTwo(x: bigint): boolean {
  return x > 0n && (x & (x - 1n)) === 0n;
}

/**
 * The complete subtrees that exactly cover [lo, hi), left to right: at each
 * step the largest subtree that starts at lo, is aligned there, and fits.
 * For a range that is a subtree of an RFC 6962 tree (lo aligned to a power of
 * two at least hi-lo) that is the binary expansion of hi-lo, largest first.
 */
export function rangeNodes(lo: bigint, hi: bigint): NodeId[] {
  requireUint64(lo, 'range start');
  requireUint64(hi, 'range end');
  if (lo > hi) throw new RangeError(`range [${lo}, ${hi}) is reversed`);
  const out: NodeId[] = [];
  while (lo < hi) {
    let level = bitLength(hi - lo) - 1;
    if (lo !== 0n) level = Math.min(level, trailingZeros(lo));
    out.push({ level, index: lo >> BigInt(level) });
    lo += 1n << BigInt(level);
  }
  return out;
}

/**
 * MTH of a range from its compact-range hashes, left to right. RFC 6962 splits
 * at the largest power of two, so the left part is always the first complete
 * subtree and the fold goes from the right: H(a, H(b, c)). The empty range is
 * MTH({}).
 */
export function foldRange(hashes: Uint8Array[]): Buffer {
  const last = hashes.at(-1);
  if (last === undefined) return emptyRoot();
  for (const h of hashes) {
    if (h.length !== HASH_SIZE) throw new RangeError(`node hash is ${h.length} bytes, not ${HASH_SIZE}`);
  }
  let acc: Buffer = Buffer.from(last);
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i]!, acc);
  return acc;
}

/** The subtrees whose fold is MTH(D[0:size]). */
export function rootPlan(size: bigint): NodeId[] {
  return rangeNodes(0n, size);
}

/**
 * The siblings of complete node (level, index) on its way to the root of the
 * size-`size` tree, lowest first. Below the level where the paths to the node
 * and to the last leaf part ("inner"), every sibling is a complete subtree,
 * except that the one at the top of that part may be the right border,
 * MTH(D[lo:size]). Above it ("border") only left siblings appear, all complete.
 */
function pathPlan(level: number, index: bigint, size: bigint): NodeId[][] {
  const plan: NodeId[][] = [];
  const inner = bitLength(index ^ ((size - 1n) >> BigInt(level)));
  for (let h = 0; h < inner; h++) {
    const sibling = (index >> BigInt(h)) ^ 1n;
    const shift = BigInt(level + h);
    const lo = sibling << shift;
    const end = (sibling + 1n) << shift;
    plan.push(rangeNodes(lo, end < size ? end : size));
  }
  for (let h = inner; index >> BigInt(h) !== 0n; h++) {
    const i = index >> BigInt(h);
    if ((i & 1n) === 1n) plan.push([{ level: level + h, index: i - 1n }]);
  }
  return plan;
}

/** PATH(index, D[0:size]) of RFC 6962 §2.1.1, as the subtrees each element folds from. */
export function inclusionProofPlan(index: bigint, size: bigint): NodeId[][] {
  requireUint64(index, 'leaf index');
  requireUint64(size, 'tree size');
  if (index >= size) throw new RangeError(`leaf index ${index} is not below tree size ${size}`);
  return pathPlan(0, index, size);
}

/**
 * PROOF(m, D[0:n]) of RFC 6962 §2.1.2, as the subtrees each element folds from.
 * It starts from the last complete subtree of the old tree's compact range;
 * when m is a power of two that subtree is the old root, which the verifier
 * already has, so it is left out.
 */
export function consistencyProofPlan(m: bigint, n: bigint): NodeId[][] {
  requireUint64(m, 'old tree size');
  requireUint64(n, 'new tree size');
  if (m === 0n || m > n) throw new RangeError(`no consistency proof from size ${m} to size ${n}`);
  if (m === n) return [];
  const level = trailingZeros(m);
  const index = (m - 1n) >> BigInt(level);
  const first: NodeId[][] = index === 0n ? [] : [[{ level, index }]];
  return first.concat(pathPlan(level, index, n));
}

function nodeKey(id: NodeId): string {
  return `${id.level}/${id.index}`;
}

/** Fetches every distinct node of a plan in one call, then folds each element. */
async function fetchPlan(plan: NodeId[][], fetch: NodeFetcher): Promise<Buffer[]> {
  const wanted = new Map<string, NodeId>();
  for (const ids of plan) for (const id of ids) wanted.set(nodeKey(id), id);
  const got = new Map<string, Buffer>();
  if (wanted.size > 0) {
    const ids = [...wanted.values()];
    const hashes = await fetch(ids);
    if (!Array.isArray(hashes) || hashes.length !== ids.length) {
      throw new RangeError(`fetch returned ${Array.isArray(hashes) ? hashes.length : 'no'} hashes for ${ids.length} nodes`);
    }
    ids.forEach((id, i) => got.set(nodeKey(id), hashes[i]!));
  }
  return plan.map((ids) => foldRange(ids.map((id) => got.get(nodeKey(id))!)));
}

export async function inclusionProof(index: bigint, size: bigint, fetch: NodeFetcher): Promise<Buffer[]> {
  return fetchPlan(inclusionProofPlan(index, size), fetch);
}

export async function consistencyProof(m: bigint, n: bigint, fetch: NodeFetcher): Promise<Buffer[]> {
  return fetchPlan(consistencyProofPlan(m, n), fetch);
}

/** MTH(D[0:size]); the empty tree needs no fetch. */
export async function treeRoot(size: bigint, fetch: NodeFetcher): Promise<Buffer> {
  const [root] = await fetchPlan([rootPlan(size)], fetch);
  return root!;
}

// Verification. Every length is checked before any hashing, so a proof that
// is too short, too long or made of odd-sized hashes fails the same way
// whatever its contents.

function requireHash(h: Uint8Array, what: string): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw new ProofError('PROOF_INVALID', `${what} is not a ${HASH_SIZE}-byte hash`);
  }
}

function requireHashes(proof: readonly Uint8Array[]): void {
  if (!Array.isArray(proof)) throw new ProofError('PROOF_INVALID', 'proof is not a list of hashes');
  proof.forEach((p, i) => requireHash(p, `proof[${i}]`));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * Proof length for leaf `index` in a tree of `size`, split as in
 * transparency-dev/merkle's decompInclProof: `inner` siblings below the level
 * where the paths to index and to size-1 part, `border` left siblings above.
 */
function decompInclProof(index: bigint, size: bigint): { inner: number; border: number } {
  const inner = bitLength(index ^ (size - 1n));
  return { inner, border: popCount(index >> BigInt(inner)) };
}

function requireLeafPosition(index: bigint, size: bigint): void {
  if (!isUint64(index) || !isUint64(size)) throw new ProofError('SIZE_INVALID', 'leaf index and tree size must be uint64 bigints');
  if (index >= size) throw new ProofError('SIZE_INVALID', `leaf index ${index} is not below tree size ${size}`);
}

/** The root that an audit path implies, RFC 9162 §2.1.3.2. Throws ProofError if the proof is malformed. */
export function rootFromInclusionProof(
  index: bigint,
  size: bigint,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Buffer {
  requireLeafPosition(index, size);
  requireHash(leafHash, 'leaf hash');
  requireHashes(proof);
  const { inner, border } = decompInclProof(index, size);
  if (proof.length !== inner + border) {
    throw new ProofError('PROOF_INVALID', `wrong proof size ${proof.length}, want ${inner + border}`);
  }
  let fn = index;
  let sn = size - 1n;
  let r: Uint8Array = leafHash;
  for (const p of proof) {
    if (sn === 0n) throw new ProofError('PROOF_INVALID', 'proof is too long');
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      // fn == sn and even: the right border is lone here and promoted without hashing.
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError('PROOF_INVALID', 'proof is too short');
  return Buffer.from(r);
}

/** Checks that `proof` shows leafHash at `index` in the size-`size` tree with `root`. */
export function verifyInclusion(
  index: bigint,
  size: bigint,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  requireLeafPosition(index, size);
  requireHash(root, 'root');
  const got = rootFromInclusionProof(index, size, leafHash, proof);
  if (!sameBytes(got, root)) throw new ProofError('ROOT_MISMATCH', 'inclusion proof does not lead to the root');
}

/**
 * Checks that the size1 tree with root1 is a prefix of the size2 tree with
 * root2, RFC 9162 §2.1.4.2 with transparency-dev/merkle's edge cases: size1 = 0
 * is refused (a proof from the empty tree proves nothing; the protocol layer
 * decides what an old size of 0 means), and equal sizes need an empty proof and
 * equal roots, which are compared but never hashed.
 */
export function verifyConsistency(
  size1: bigint,
  size2: bigint,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  if (!isUint64(size1) || !isUint64(size2)) throw new ProofError('SIZE_INVALID', 'tree sizes must be uint64 bigints');
  if (size2 < size1) throw new ProofError('SIZE_INVALID', `new size ${size2} is below old size ${size1}`);
  if (size1 === 0n) throw new ProofError('SIZE_INVALID', 'a consistency proof from the empty tree is meaningless');
  if (!Array.isArray(proof)) throw new ProofError('PROOF_INVALID', 'proof is not a list of hashes');
  if (size1 === size2) {
    if (proof.length !== 0) throw new ProofError('PROOF_INVALID', 'sizes are equal but the proof is not empty');
    if (!sameBytes(root1, root2)) throw new ProofError('ROOT_MISMATCH', 'sizes are equal but the roots differ');
    return;
  }
  requireHash(root1, 'old root');
  requireHash(root2, 'new root');
  requireHashes(proof);
  // The proof is the path of the old tree's last complete subtree (level
  // `shift`), preceded by that subtree's hash unless it is the old root itself.
  const shift = trailingZeros(size1);
  const { inner, border } = decompInclProof(size1 - 1n, size2);
  const seeded = isPowerOfTwo(size1);
  const want = (seeded ? 0 : 1) + inner - shift + border;
  if (proof.length !== want) throw new ProofError('PROOF_INVALID', `wrong proof size ${proof.length}, want ${want}`);
  const path = seeded ? [root1, ...proof] : proof;
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ProofError('PROOF_INVALID', 'proof is too long');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError('PROOF_INVALID', 'proof is too short');
  if (!sameBytes(fr, root1)) throw new ProofError('ROOT_MISMATCH', 'consistency proof does not lead to the old root');
  if (!sameBytes(sr, root2)) throw new ProofError('ROOT_MISMATCH', 'consistency proof does not lead to the new root');
}
