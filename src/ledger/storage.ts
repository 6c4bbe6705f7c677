import type { NodeId } from './proof.ts';

/** A complete subtree hash, as the ledger stores it. */
export interface StoredNode {
  level: number;
  index: bigint;
  hash: Buffer;
}

/** What integrating a batch adds to the tree: computed by the ledger, written by the storage. */
export interface Integration {
  leafHashes: Buffer[];
  /** Every complete subtree (level >= 1) the batch completes. */
  nodes: StoredNode[];
  root: Buffer;
}

/**
 * How storage asks the ledger to integrate a batch, inside its transaction:
 * `edge` names the compact-range nodes of the current tree, `integrate` turns
 * them and the new entries into hashes. Synchronous on purpose: an embedded
 * database holds its write lock for exactly this long.
 */
export interface Integrator {
  edge(size: bigint): NodeId[];
  integrate(size: bigint, edgeHashes: Buffer[], entries: readonly Uint8Array[]): Integration;
}

/** A stored envelope the log entry stands for; de-duplicated by `envelopeDigest` in the same transaction. */
export interface AppendItem<E> {
  entry: Uint8Array;
  /** Evidence to store atomically with the entry. An already-stored envelope appends nothing. */
  evidence?: E;
  /** Key of the evidence for de-duplication, required with `evidence`. */
  evidenceKey?: string;
}

export interface AppendOutcome {
  index: bigint;
  /** False when the item's evidence was already stored: the log did not grow for it. */
  appended: boolean;
}

export interface TreeHead {
  size: bigint;
  root: Buffer;
}

export interface StoredCheckpoint {
  size: bigint;
  root: Buffer;
  /** The signed note, exactly as issued. */
  note: string;
}

/**
 * The ledger's storage port, implemented by `store/` for SQLite and PostgreSQL.
 * One sequencer at a time: `append` serializes writers across processes.
 */
export interface LedgerStorage<E = unknown> {
  append(items: readonly AppendItem<E>[], integrator: Integrator): Promise<{ outcomes: AppendOutcome[]; head: TreeHead }>;
  treeHead(): Promise<TreeHead>;
  /** Node hashes in the order asked; throws when one does not exist. */
  nodes(ids: readonly NodeId[]): Promise<Buffer[]>;
  /** Hashes of level `level`, indices [first, first+count), as far as they exist. */
  nodeRange(level: number, first: bigint, count: number): Promise<Buffer[]>;
  /** Entries [first, first+count), as far as they exist. */
  entries(first: bigint, count: number): Promise<Buffer[]>;
  /** The log index of stored evidence, by its key. */
  indexOfEvidence(evidenceKey: string): Promise<bigint | undefined>;
  addCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** Stored checkpoints in size order, starting after `afterSize`, at most `limit`. */
  checkpoints(afterSize: bigint, limit: number): Promise<StoredCheckpoint[]>;
}
