import { signCheckpoint, openCheckpoint } from './checkpoint.ts';
import { merkleIntegrator } from './integrate.ts';
import type { NoteSigner, NoteVerifier } from './note.ts';
import { consistencyProof, inclusionProof, treeRoot, verifyConsistency, type NodeId } from './proof.ts';
import type { AppendItem, AppendOutcome, LedgerStorage, StoredCheckpoint, TreeHead } from './storage.ts';
import { MAX_ENTRY_BYTES } from './entries.ts';

export interface LedgerOptions {
  /** The log's identity, the first line of every checkpoint. */
  origin: string;
  signer: NoteSigner;
  verifier: NoteVerifier;
  /** Most items committed in one transaction (group commit). */
  maxBatch?: number;
  /** How often a checkpoint is issued while entries arrive. */
  checkpointIntervalMs?: number;
  /** Called when an invariant is found broken, before the error is thrown. */
  onInvariantViolation?: (what: string) => void;
}

export type LedgerErrorCode = 'INVARIANT_VIOLATION' | 'SIZE_INVALID' | 'ENTRY_TOO_LARGE' | 'CLOSED';

export class LedgerError extends Error {
  readonly code: LedgerErrorCode;
  constructor(code: LedgerErrorCode, message: string) {
    super(message);
    this.name = 'LedgerError';
    this.code = code;
  }
}

interface Pending<E> {
  item: AppendItem<E>;
  resolve: (o: AppendOutcome) => void;
  reject: (e: unknown) => void;
}

/**
 * warrant's transparency log: an RFC 6962 Merkle tree over storage that
 * serializes writers, with group commit, signed C2SP checkpoints and proofs.
 * An append resolves only after its transaction committed (durable); one
 * sequencer assigns indices at a time, across processes.
 */
export class Ledger<E = unknown> {
  readonly origin: string;
  readonly #storage: LedgerStorage<E>;
  readonly #signer: NoteSigner;
  readonly #verifier: NoteVerifier;
  readonly #maxBatch: number;
  readonly #intervalMs: number;
  readonly #onViolation: (what: string) => void;
  #pending: Pending<E>[] = [];
  #flushScheduled = false;
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #issuing: Promise<StoredCheckpoint> | undefined;
  #waiters: { index: bigint; resolve: (c: StoredCheckpoint) => void; reject: (e: unknown) => void }[] = [];
  #closed = false;

  constructor(storage: LedgerStorage<E>, options: LedgerOptions) {
    this.origin = options.origin;
    this.#storage = storage;
    this.#signer = options.signer;
    this.#verifier = options.verifier;
    this.#maxBatch = options.maxBatch ?? 2048;
    this.#intervalMs = options.checkpointIntervalMs ?? 1000;
    this.#onViolation = options.onInvariantViolation ?? (() => {});
  }

  /** Appends one entry (with the evidence it stands for, stored in the same transaction). */
  append(entry: Uint8Array, evidence?: { key: string; record: E }): Promise<AppendOutcome> {
    if (this.#closed) return Promise.reject(new LedgerError('CLOSED', 'the ledger is closed'));
    if (entry.byteLength > MAX_ENTRY_BYTES) {
      return Promise.reject(new LedgerError('ENTRY_TOO_LARGE', `entry is ${entry.byteLength} bytes, over ${MAX_ENTRY_BYTES}`));
    }
    return new Promise((resolve, reject) => {
      const item: AppendItem<E> = evidence ? { entry, evidence: evidence.record, evidenceKey: evidence.key } : { entry };
      this.#pending.push({ item, resolve, reject });
      this.#scheduleFlush();
    });
  }

  /** Appends arriving in the same turn of the event loop, or while a commit runs, share one transaction. */
  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#flushing) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flushing = this.#flushLoop().finally(() => {
        this.#flushing = undefined;
        if (this.#pending.length > 0) this.#scheduleFlush();
      });
    });
  }

  async #flushLoop(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#maxBatch);
      try {
        const { outcomes } = await this.#storage.append(
          batch.map((p) => p.item),
          merkleIntegrator,
        );
        batch.forEach((p, i) => p.resolve(outcomes[i]!));
      } catch (err) {
        batch.forEach((p) => p.reject(err));
      }
    }
  }

  /** Resolves when every append issued so far has committed or failed. */
  async flush(): Promise<void> {
    while (this.#flushScheduled || this.#flushing || this.#pending.length > 0) {
      await (this.#flushing ?? new Promise((r) => setImmediate(r)));
    }
  }

  treeHead(): Promise<TreeHead> {
    return this.#storage.treeHead();
  }

  latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.#storage.latestCheckpoint();
  }

  /**
   * Signs a checkpoint for the current tree if it grew since the latest one,
   * after checking that the stored tree recomputes to the head's root and is
   * consistent with the latest checkpoint: the log never signs a fork.
   */
  checkpoint(): Promise<StoredCheckpoint> {
    this.#issuing ??= this.#issue().finally(() => (this.#issuing = undefined));
    return this.#issuing;
  }

  async #issue(): Promise<StoredCheckpoint> {
    const [head, latest] = await Promise.all([this.#storage.treeHead(), this.#storage.latestCheckpoint()]);
    if (latest !== undefined && latest.size >= head.size) {
      if (latest.size > head.size) this.#violation(`latest checkpoint size ${latest.size} is beyond the tree head ${head.size}`);
      return latest;
    }
    const recomputed = await treeRoot(head.size, this.#fetch);
    if (!recomputed.equals(head.root)) this.#violation(`stored tree at size ${head.size} does not recompute to the head root`);
    if (latest !== undefined && latest.size > 0n) {
      const proof = await consistencyProof(latest.size, head.size, this.#fetch);
      try {
        verifyConsistency(latest.size, head.size, proof, latest.root, head.root);
      } catch {
        this.#violation(`tree at size ${head.size} is not consistent with checkpoint ${latest.size}`);
      }
    }
    const note = signCheckpoint({ origin: this.origin, size: head.size, rootHash: head.root, extensions: [] }, this.#signer);
    const checkpoint = { size: head.size, root: head.root, note };
    await this.#storage.addCheckpoint(checkpoint);
    this.#releaseWaiters(checkpoint);
    return checkpoint;
  }

  /** The first checkpoint that covers `index`: the next periodic one, or one issued now when none is scheduled. */
  async checkpointCovering(index: bigint): Promise<StoredCheckpoint> {
    const latest = await this.#storage.latestCheckpoint();
    if (this.#closed) throw new LedgerError('CLOSED', 'the ledger closed');
    if (latest !== undefined && latest.size > index) return latest;
    if (this.#timer === undefined) {
      // A checkpoint already being signed may predate this entry; then sign the next one.
      const c = await this.checkpoint();
      return c.size > index ? c : this.checkpoint();
    }
    return new Promise((resolve, reject) => this.#waiters.push({ index, resolve, reject }));
  }

  #releaseWaiters(c: StoredCheckpoint): void {
    const ready = this.#waiters.filter((w) => w.index < c.size);
    this.#waiters = this.#waiters.filter((w) => w.index >= c.size);
    for (const w of ready) w.resolve(c);
  }

  /** Issues a checkpoint every interval while the tree grows. */
  startCheckpointing(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      void this.#tick();
    }, this.#intervalMs);
  }

  async #tick(): Promise<void> {
    try {
      const [head, latest] = await Promise.all([this.#storage.treeHead(), this.#storage.latestCheckpoint()]);
      if (latest === undefined || head.size > latest.size) await this.checkpoint();
      else if (latest !== undefined) this.#releaseWaiters(latest);
    } catch (err) {
      for (const w of this.#waiters.splice(0)) w.reject(err);
    }
  }

  async inclusionProof(index: bigint, size: bigint): Promise<Buffer[]> {
    await this.#checkSize(size);
    if (index < 0n || index >= size) throw new LedgerError('SIZE_INVALID', `index ${index} is not below size ${size}`);
    return inclusionProof(index, size, this.#fetch);
  }

  async consistencyProof(oldSize: bigint, newSize: bigint): Promise<Buffer[]> {
    await this.#checkSize(newSize);
    if (oldSize < 1n || oldSize > newSize) {
      throw new LedgerError('SIZE_INVALID', `old size ${oldSize} must be between 1 and the new size ${newSize}`);
    }
    return consistencyProof(oldSize, newSize, this.#fetch);
  }

  async rootAt(size: bigint): Promise<Buffer> {
    await this.#checkSize(size);
    return treeRoot(size, this.#fetch);
  }

  async #checkSize(size: bigint): Promise<void> {
    const head = await this.#storage.treeHead();
    if (size < 0n || size > head.size) throw new LedgerError('SIZE_INVALID', `size ${size} is beyond the tree size ${head.size}`);
  }

  /** Opens a checkpoint note signed by this log's key. */
  openCheckpoint(note: string) {
    return openCheckpoint(note, this.#verifier, this.origin);
  }

  get storage(): LedgerStorage<E> {
    return this.#storage;
  }

  readonly #fetch = (ids: NodeId[]): Promise<Buffer[]> => this.#storage.nodes(ids);

  #violation(what: string): never {
    this.#onViolation(what);
    throw new LedgerError('INVARIANT_VIOLATION', `refusing to sign: ${what}`);
  }

  /** Stops the checkpoint timer and waits for pending appends. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
    for (const w of this.#waiters.splice(0)) w.reject(new LedgerError('CLOSED', 'the ledger closed'));
  }
}
