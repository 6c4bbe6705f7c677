import { openCheckpoint } from './checkpoint.ts';
import type { NoteVerifier } from './note.ts';
import { foldRange } from './proof.ts';
import { pushLeaf } from './integrate.ts';
import { emptyRoot, leafHash } from './rfc6962.ts';
import type { LedgerStorage, StoredCheckpoint, StoredNode } from './storage.ts';

export interface AuditProblem {
  /** The first log index known to be affected, when one can be named. */
  index: bigint | undefined;
  message: string;
}

export interface AuditReport {
  ok: boolean;
  size: bigint;
  entriesChecked: bigint;
  checkpointsChecked: number;
  problem: AuditProblem | undefined;
}

type Frame = StoredNode;

class AuditFailure extends Error {
  readonly index: bigint | undefined;
  constructor(index: bigint | undefined, message: string) {
    super(message);
    this.index = index;
  }
}

/**
 * Recomputes the whole log from its entries and checks every stored hash,
 * the tree head and every stored checkpoint (signature, size, root) against
 * the recomputation. Stops at the first problem and names the first index it
 * affects: an entry or node altered, deleted, reordered or inserted, or a
 * checkpoint that the stored tree no longer matches.
 */
export async function auditLog(
  storage: LedgerStorage<unknown>,
  verifier: NoteVerifier,
  origin: string,
  options: { chunk?: number } = {},
): Promise<AuditReport> {
  const chunk = options.chunk ?? 4096;
  const head = await storage.treeHead();
  let checked = 0n;
  let checkpointsChecked = 0;
  const stack: Frame[] = [];
  let lastGood: StoredCheckpoint | undefined;
  const pendingCheckpoints: StoredCheckpoint[] = [];
  let checkpointCursor = -1n;
  let checkpointsDone = false;

  const rootOfStack = () => (stack.length === 0 ? emptyRoot() : foldRange(stack.map((f) => f.hash)));

  /** Checks every stored checkpoint of size `position` against the root recomputed there. */
  const checkCheckpointsAt = async (position: bigint) => {
    for (;;) {
      if (pendingCheckpoints.length === 0 && !checkpointsDone) {
        const page = await storage.checkpoints(checkpointCursor, 256);
        if (page.length === 0) checkpointsDone = true;
        pendingCheckpoints.push(...page);
        if (page.length > 0) checkpointCursor = page[page.length - 1]!.size;
      }
      const next = pendingCheckpoints[0];
      if (next === undefined || next.size > position) return;
      pendingCheckpoints.shift();
      let opened;
      try {
        opened = openCheckpoint(next.note, verifier, origin).checkpoint;
      } catch (err) {
        throw new AuditFailure(undefined, `checkpoint at size ${next.size} does not verify: ${(err as Error).message}`);
      }
      if (opened.size !== next.size || !opened.rootHash.equals(next.root)) {
        throw new AuditFailure(undefined, `checkpoint at size ${next.size} does not match its stored size and root`);
      }
      if (!opened.rootHash.equals(rootOfStack())) {
        const from = lastGood?.size ?? 0n;
        throw new AuditFailure(
          from,
          `the stored tree no longer matches the checkpoint at size ${next.size}: ` +
            `an entry in [${from}, ${next.size}) was changed and its hashes recomputed`,
        );
      }
      lastGood = next;
      checkpointsChecked++;
    }
  };

  try {
    await checkCheckpointsAt(0n);
    for (let first = 0n; first < head.size; first += BigInt(chunk)) {
      const count = Number(head.size - first < BigInt(chunk) ? head.size - first : BigInt(chunk));
      const [entries, leaves] = await Promise.all([storage.entries(first, count), storage.nodeRange(0, first, count)]);
      const completed = new Map<number, Frame[]>();
      for (let i = 0; i < count; i++) {
        const index = first + BigInt(i);
        const entry = entries[i];
        if (entry === undefined) throw new AuditFailure(index, `entry ${index} is missing`);
        const hash = leafHash(entry);
        const stored = leaves[i];
        if (stored === undefined) throw new AuditFailure(index, `leaf hash ${index} is missing`);
        if (!stored.equals(hash)) throw new AuditFailure(index, `entry ${index} does not match its stored leaf hash`);
        pushLeaf(stack, { level: 0, index, hash }, (parent) =>
          (completed.get(parent.level) ?? completed.set(parent.level, []).get(parent.level)!).push(parent),
        );
        checked = index + 1n;
        await checkCheckpointsAt(checked);
      }
      for (const [level, frames] of completed) {
        const stored = await storage.nodeRange(level, frames[0]!.index, frames.length);
        frames.forEach((f, k) => {
          const s = stored[k];
          const firstLeaf = f.index << BigInt(level);
          if (s === undefined) throw new AuditFailure(firstLeaf, `node ${level}/${f.index} is missing`);
          if (!s.equals(f.hash)) {
            throw new AuditFailure(firstLeaf, `node ${level}/${f.index} over entries from ${firstLeaf} does not match`);
          }
        });
      }
    }
    const beyond = await storage.entries(head.size, 1);
    if (beyond.length > 0) throw new AuditFailure(head.size, `entry ${head.size} exists beyond the tree head`);
    if (!rootOfStack().equals(head.root)) throw new AuditFailure(undefined, 'the tree head root does not match the entries');
    const extra = pendingCheckpoints[0] ?? (checkpointsDone ? undefined : (await storage.checkpoints(checkpointCursor, 1))[0]);
    if (extra !== undefined) {
      throw new AuditFailure(head.size, `a checkpoint at size ${extra.size} is beyond the tree head ${head.size}`);
    }
    return { ok: true, size: head.size, entriesChecked: checked, checkpointsChecked, problem: undefined };
  } catch (err) {
    if (!(err instanceof AuditFailure)) throw err;
    return {
      ok: false,
      size: head.size,
      entriesChecked: checked,
      checkpointsChecked,
      problem: { index: err.index, message: err.message },
    };
  }
}
