import { foldRange, rootPlan, type NodeId } from './proof.ts';
import { emptyRoot, leafHash, nodeHash } from './rfc6962.ts';
import type { Integration, Integrator, StoredNode } from './storage.ts';

/**
 * Appends leaves to a tree known only by its compact range (the complete
 * subtrees covering [0, size), largest first), returning the leaf hashes,
 * every subtree the new leaves complete, and the new root. Each leaf costs
 * one hash plus one per subtree it completes: O(1) amortized.
 */
export function integrate(size: bigint, edgeHashes: readonly Buffer[], entries: readonly Uint8Array[]): Integration {
  const edge = rootPlan(size);
  if (edge.length !== edgeHashes.length) throw new Error(`integrate: ${edge.length} edge nodes expected, got ${edgeHashes.length}`);
  const stack: StoredNode[] = edge.map((id, i) => ({ level: id.level, index: id.index, hash: edgeHashes[i]! }));
  const leafHashes: Buffer[] = [];
  const nodes: StoredNode[] = [];
  let index = size;
  for (const entry of entries) {
    const hash = leafHash(entry);
    leafHashes.push(hash);
    pushLeaf(stack, { level: 0, index, hash }, (parent) => nodes.push(parent));
    index++;
  }
  const root = stack.length === 0 ? emptyRoot() : foldRange(stack.map((n) => n.hash));
  return { leafHashes, nodes, root };
}

/**
 * Adds a leaf to a compact range (a stack of complete subtrees, largest first),
 * merging while the two rightmost subtrees are siblings: equal height, the
 * right one odd. `completed` sees every subtree the leaf completes.
 */
export function pushLeaf(stack: StoredNode[], leaf: StoredNode, completed: (node: StoredNode) => void): void {
  stack.push(leaf);
  while (stack.length >= 2 && stack[stack.length - 1]!.level === stack[stack.length - 2]!.level) {
    const right = stack.pop()!;
    const left = stack.pop()!;
    const parent = { level: left.level + 1, index: left.index / 2n, hash: nodeHash(left.hash, right.hash) };
    completed(parent);
    stack.push(parent);
  }
}

export const merkleIntegrator: Integrator = {
  edge: (size: bigint): NodeId[] => rootPlan(size),
  integrate,
};
