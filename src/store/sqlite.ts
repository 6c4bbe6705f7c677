import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { NodeId } from '../ledger/proof.ts';
import type { AppendItem, AppendOutcome, Integrator, LedgerStorage, StoredCheckpoint, TreeHead } from '../ledger/storage.ts';
import { WARRANT_VERSION } from '../version.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, schemaTooNewMessage } from './migrations.ts';
import {
  DEFAULT_LIST_LIMIT,
  StoreError,
  type AddResult,
  type EvidenceStore,
  type NewEvidence,
  contiguous,
  splitDigest,
  type StoredEvidence,
} from './types.ts';

/** How long a writer waits for another process's write lock before giving up. */
const BUSY_TIMEOUT_MS = 10_000;
const SQLITE_BUSY = 5;

/**
 * Switching a fresh file to WAL needs an exclusive lock, and SQLite answers
 * SQLITE_BUSY at once (no busy handler) when other connections race it, so
 * several processes opening a new store together must retry.
 */
function enableWal(db: DatabaseSync): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      db.exec('PRAGMA journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { errcode?: number }).errcode !== SQLITE_BUSY || Date.now() >= deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 + Math.random() * 20);
    }
  }
}

interface EvidenceRow {
  id: number;
  envelope_digest: string;
  payload_type: string;
  predicate_type: string;
  signer: string;
  bundle: string;
  added_at: string;
}

/**
 * The embedded store: one SQLite file (node:sqlite, WAL, synchronous FULL).
 * Several processes may share the file; writes take SQLite's write lock with
 * BEGIN IMMEDIATE so concurrent adders serialize instead of failing.
 */
export class SqliteStore implements EvidenceStore, LedgerStorage<NewEvidence> {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  readonly #db: DatabaseSync;

  private constructor(path: string, db: DatabaseSync) {
    this.location = path;
    this.#db = db;
  }

  static open(path: string): SqliteStore {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
      enableWal(db);
      db.exec('PRAGMA synchronous = FULL');
      db.exec('PRAGMA foreign_keys = ON');
    } catch (err) {
      throw new StoreError('STORE_UNAVAILABLE', `cannot open SQLite store ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const store = new SqliteStore(path, db);
    try {
      store.#migrate();
    } catch (err) {
      db.close();
      throw err;
    }
    return store;
  }

  #migrate(): void {
    this.#transaction(() => {
      this.#db.exec(`CREATE TABLE IF NOT EXISTS warrant_schema (
        version INTEGER PRIMARY KEY, warrant_version TEXT NOT NULL, applied_at TEXT NOT NULL)`);
      const current = this.#currentVersion();
      if (current.version > LATEST_SCHEMA_VERSION) {
        throw new StoreError('SCHEMA_TOO_NEW', schemaTooNewMessage(current.version, current.appliedBy));
      }
      for (const m of MIGRATIONS) {
        if (m.version <= current.version) continue;
        for (const sql of m.sqlite) this.#db.exec(sql);
        this.#db
          .prepare('INSERT INTO warrant_schema (version, warrant_version, applied_at) VALUES (?, ?, ?)')
          .run(m.version, WARRANT_VERSION, new Date().toISOString());
      }
    });
  }

  #currentVersion(): { version: number; appliedBy: string | undefined } {
    const row = this.#db
      .prepare('SELECT version, warrant_version FROM warrant_schema ORDER BY version DESC LIMIT 1')
      .get() as { version: number; warrant_version: string } | undefined;
    return { version: row?.version ?? 0, appliedBy: row?.warrant_version };
  }

  /** Runs fn under SQLite's write lock (BEGIN IMMEDIATE), committing or rolling back. */
  #transaction<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  async schemaVersion(): Promise<number> {
    return this.#currentVersion().version;
  }

  async addEvidence(e: NewEvidence): Promise<AddResult> {
    return this.#transaction(() => {
      const r = this.#insertEvidence(e, null);
      return { envelopeDigest: e.envelopeDigest, id: r.id, inserted: r.inserted };
    });
  }

  /** Inserts evidence and its subject rows once; a second insert of the same envelope finds the first. */
  #insertEvidence(e: NewEvidence, logIndex: number | null): { id: number; inserted: boolean; logIndex: number | null } {
    const inserted = this.#stmt(
      `INSERT INTO evidence (envelope_digest, payload_type, predicate_type, signer, bundle, added_at, log_index)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (envelope_digest) DO NOTHING RETURNING id`,
    ).get(e.envelopeDigest, e.payloadType, e.predicateType, e.signer, e.bundle, new Date().toISOString(), logIndex) as
      | { id: number }
      | undefined;
    if (inserted === undefined) {
      const existing = this.#stmt('SELECT id, log_index FROM evidence WHERE envelope_digest = ?').get(
        e.envelopeDigest,
      ) as { id: number; log_index: number | null };
      return { id: existing.id, inserted: false, logIndex: existing.log_index };
    }
    const addSubject = this.#stmt(
      'INSERT OR IGNORE INTO evidence_subject (evidence_id, algorithm, digest, name) VALUES (?, ?, ?, ?)',
    );
    for (const s of e.subjects) addSubject.run(inserted.id, s.algorithm, s.digest, s.name);
    return { id: inserted.id, inserted: true, logIndex };
  }

  // --- ledger storage -------------------------------------------------------

  async append(
    items: readonly AppendItem<NewEvidence>[],
    integrator: Integrator,
  ): Promise<{ outcomes: AppendOutcome[]; head: TreeHead }> {
    return this.#transaction(() => {
      const start = this.#head();
      const entries: Uint8Array[] = [];
      const outcomes: AppendOutcome[] = [];
      for (const item of items) {
        const index = start.size + BigInt(entries.length);
        if (item.evidence !== undefined) {
          const r = this.#insertEvidence(item.evidence, Number(index));
          if (!r.inserted) {
            if (r.logIndex === null) throw new StoreError('STORE_CORRUPT', `evidence ${item.evidence.envelopeDigest} has no log index`);
            outcomes.push({ index: BigInt(r.logIndex), appended: false });
            continue;
          }
        }
        entries.push(item.entry);
        outcomes.push({ index, appended: true });
      }
      if (entries.length === 0) return { outcomes, head: start };
      const edge = integrator.edge(start.size);
      const integration = integrator.integrate(start.size, this.#nodesSync(edge), entries);
      const addEntry = this.#stmt('INSERT INTO log_entry (idx, entry) VALUES (?, ?)');
      const addNode = this.#stmt('INSERT INTO log_node (level, idx, hash) VALUES (?, ?, ?)');
      const first = Number(start.size);
      entries.forEach((entry, i) => {
        addEntry.run(first + i, entry);
        addNode.run(0, first + i, integration.leafHashes[i]!);
      });
      for (const n of integration.nodes) addNode.run(n.level, Number(n.index), n.hash);
      const head = { size: start.size + BigInt(entries.length), root: integration.root };
      this.#stmt('UPDATE log_head SET size = ?, root = ? WHERE id = 1').run(Number(head.size), head.root);
      return { outcomes, head };
    });
  }

  async treeHead(): Promise<TreeHead> {
    return this.#head();
  }

  #head(): TreeHead {
    const row = this.#stmt('SELECT size, root FROM log_head WHERE id = 1').get() as
      | { size: number; root: Uint8Array }
      | undefined;
    if (row === undefined) throw new StoreError('STORE_CORRUPT', 'the log head row is missing');
    return { size: BigInt(row.size), root: Buffer.from(row.root) };
  }

  async nodes(ids: readonly NodeId[]): Promise<Buffer[]> {
    return this.#nodesSync(ids);
  }

  #nodesSync(ids: readonly NodeId[]): Buffer[] {
    const get = this.#stmt('SELECT hash FROM log_node WHERE level = ? AND idx = ?');
    return ids.map((id) => {
      const row = get.get(id.level, Number(id.index)) as { hash: Uint8Array } | undefined;
      if (row === undefined) throw new StoreError('STORE_CORRUPT', `log node ${id.level}/${id.index} is missing`);
      return Buffer.from(row.hash);
    });
  }

  async nodeRange(level: number, first: bigint, count: number): Promise<Buffer[]> {
    const rows = this.#stmt('SELECT idx, hash FROM log_node WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx').all(
      level,
      Number(first),
      Number(first) + count,
    ) as unknown as { idx: number; hash: Uint8Array }[];
    return contiguous(rows, Number(first)).map((r) => Buffer.from(r.hash));
  }

  async entries(first: bigint, count: number): Promise<Buffer[]> {
    const rows = this.#stmt('SELECT idx, entry FROM log_entry WHERE idx >= ? AND idx < ? ORDER BY idx').all(
      Number(first),
      Number(first) + count,
    ) as unknown as { idx: number; entry: Uint8Array }[];
    return contiguous(rows, Number(first)).map((r) => Buffer.from(r.entry));
  }

  async indexOfEvidence(envelopeDigest: string): Promise<bigint | undefined> {
    const row = this.#stmt('SELECT log_index FROM evidence WHERE envelope_digest = ?').get(envelopeDigest) as
      | { log_index: number | null }
      | undefined;
    return row?.log_index == null ? undefined : BigInt(row.log_index);
  }

  async addCheckpoint(c: StoredCheckpoint): Promise<void> {
    this.#stmt(
      'INSERT INTO log_checkpoint (size, root, note, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (size) DO NOTHING',
    ).run(Number(c.size), c.root, c.note, new Date().toISOString());
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const row = this.#stmt('SELECT size, root, note FROM log_checkpoint ORDER BY size DESC LIMIT 1').get() as
      | CheckpointRow
      | undefined;
    return row === undefined ? undefined : toCheckpoint(row);
  }

  async checkpoints(afterSize: bigint, limit: number): Promise<StoredCheckpoint[]> {
    const rows = this.#stmt('SELECT size, root, note FROM log_checkpoint WHERE size > ? ORDER BY size LIMIT ?').all(
      Number(afterSize),
      limit,
    ) as unknown as CheckpointRow[];
    return rows.map(toCheckpoint);
  }

  readonly #statements = new Map<string, StatementSync>();

  /** Prepared statements are cached: preparing costs more than running on the hot path. */
  #stmt(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  async getEvidence(envelopeDigest: string): Promise<StoredEvidence | undefined> {
    const row = this.#db.prepare('SELECT * FROM evidence WHERE envelope_digest = ?').get(envelopeDigest) as
      | EvidenceRow
      | undefined;
    return row === undefined ? undefined : this.#toEvidence(row);
  }

  async listBySubject(subjectDigest: string, limit = DEFAULT_LIST_LIMIT): Promise<StoredEvidence[]> {
    const [algorithm, digest] = splitDigest(subjectDigest);
    const rows = this.#db
      .prepare(
        `SELECT e.* FROM evidence e JOIN evidence_subject s ON s.evidence_id = e.id
         WHERE s.algorithm = ? AND s.digest = ? ORDER BY e.id LIMIT ?`,
      )
      .all(algorithm, digest, limit) as unknown as EvidenceRow[];
    return rows.map((r) => this.#toEvidence(r));
  }

  async countEvidence(): Promise<number> {
    return (this.#db.prepare('SELECT count(*) AS n FROM evidence').get() as { n: number }).n;
  }

  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }

  #toEvidence(row: EvidenceRow): StoredEvidence {
    const subjects = this.#db
      .prepare('SELECT name, algorithm, digest FROM evidence_subject WHERE evidence_id = ? ORDER BY name, algorithm, digest')
      .all(row.id as SQLInputValue) as unknown as StoredEvidence['subjects'];
    return {
      id: row.id,
      envelopeDigest: row.envelope_digest,
      payloadType: row.payload_type,
      predicateType: row.predicate_type,
      signer: row.signer,
      subjects,
      bundle: row.bundle,
      addedAt: row.added_at,
    };
  }
}

interface CheckpointRow {
  size: number;
  root: Uint8Array;
  note: string;
}

function toCheckpoint(row: CheckpointRow): StoredCheckpoint {
  return { size: BigInt(row.size), root: Buffer.from(row.root), note: row.note };
}
