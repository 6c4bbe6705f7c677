// Ledger throughput, proof latency and storage cost: warrant's Ledger (group
// commit over SqliteStore and PostgresStore) against raw inserts of the same
// rows into the same tables, with no Merkle work.
//
//   npx node bench/ledger.ts [--quick] [--skip-postgres] [--appends 200000] [--pg-appends 200000]
//       [--proof-size 1000000] [--proofs 20000] [--rounds 5] [--concurrency 4096] [--batch 2048]
//       [--pg-url postgres://127.0.0.1:5432/test] [--keep]
//
// Every timed append must come back with the index it was issued for, every
// timed log must recompute (independently, in memory) to its stored root and
// sign a checkpoint that verifies, and a sample of the timed proofs must verify
// against independently computed roots: a failure aborts the run.

import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, tmpdir, totalmem, userInfo } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  auditEntry,
  integrate,
  leafHash,
  Ledger,
  loadOrCreateLogKey,
  merkleIntegrator,
  nodeHash,
  ProofError,
  verifyConsistency,
  verifyInclusion,
  type LedgerStorage,
  type LogKey,
} from '../src/ledger/index.ts';
import { consistencyProofPlan, foldRange, inclusionProofPlan, type NodeId } from '../src/ledger/proof.ts';
import { MIGRATIONS } from '../src/store/migrations.ts';
import { PostgresStore, SqliteStore, type NewEvidence } from '../src/store/index.ts';
import { fmtInt, median, quantile, table } from './common.ts';

// ---------------------------------------------------------------- options

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'skip-postgres': { type: 'boolean', default: false },
    appends: { type: 'string' },
    'pg-appends': { type: 'string' },
    'proof-size': { type: 'string' },
    proofs: { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string', default: '4096' },
    batch: { type: 'string', default: '2048' },
    'pg-url': { type: 'string', default: process.env.WARRANT_BENCH_PG ?? 'postgres://127.0.0.1:5432/test' },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});

function positiveInt(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return n;
}

const QUICK = args.quick;
const APPENDS = positiveInt(args.appends ?? (QUICK ? '20000' : '200000'), 'appends');
const PG_APPENDS = positiveInt(args['pg-appends'] ?? (QUICK ? '5000' : '200000'), 'pg-appends');
const PROOF_SIZE = positiveInt(args['proof-size'] ?? (QUICK ? '100000' : '1000000'), 'proof-size');
const PROOFS = positiveInt(args.proofs ?? (QUICK ? '2000' : '20000'), 'proofs');
const ROUNDS = positiveInt(args.rounds ?? (QUICK ? '3' : '5'), 'rounds');
const CONCURRENCY = positiveInt(args.concurrency, 'concurrency');
const BATCH = positiveInt(args.batch, 'batch');
const PG_URL = args['pg-url'];
/** Entries per storage.append while the proof log is grown to PROOF_SIZE (not timed against anything). */
const BUILD_BATCH = 10_000;
/** Proofs per kind verified after timing. */
const VERIFY_SAMPLE = Math.min(PROOFS, 1000);
const PROOF_WARMUP = Math.min(PROOFS, 1000);
/** Appends through a scratch Ledger that must check out before anything is timed. */
const PRECHECK_APPENDS = 3000;

if (PROOF_SIZE < APPENDS) throw new Error(`--proof-size (${PROOF_SIZE}) must be at least --appends (${APPENDS})`);
if (PROOF_SIZE >= 2 ** 31) throw new Error('--proof-size must be below 2^31');

// node-postgres reads $USER for the default user; minimal containers leave it unset. Do what libpq does.
if (!process.env.PGUSER && !process.env.USER) process.env.PGUSER = userInfo().username;

// ---------------------------------------------------------------- entries

/**
 * Log entry i: an audit event as warrant logs it (`auditEntry`, RFC 8785
 * text): about 310 bytes, distinct for every i, the same on every run.
 */
function entryFor(i: number): Buffer {
  return auditEntry({
    time: new Date(1_767_225_600_000 + i * 250).toISOString(),
    actor: `spiffe://prod.example/sa/deployer-${i % 97}`,
    action: 'deploy.admit',
    target: `sha256:${createHash('sha256').update(`artifact-${i}`).digest('hex')}`,
    outcome: 'success',
    details: { cluster: `eu-west-${i % 3}`, warrant: `w-${i.toString(36)}` },
  });
}

function entriesFor(first: number, count: number): Buffer[] {
  return Array.from({ length: count }, (_, k) => entryFor(first + k));
}

// ---------------------------------------------------------------- an independent tree

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

function h2(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/**
 * The whole RFC 6962 tree in memory, one contiguous buffer per level, written
 * here and not with warrant's code: the roots it gives are what warrant's
 * stored roots and proofs are checked against.
 */
class MemTree {
  readonly #levels: Buffer[] = [];
  readonly #capacity: number;
  size = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
    for (let n = capacity; n >= 1; n = Math.floor(n / 2)) this.#levels.push(Buffer.allocUnsafe(n * 32));
  }

  #at(level: number, index: number): Buffer {
    return this.#levels[level]!.subarray(index * 32, index * 32 + 32);
  }

  leaf(index: number): Buffer {
    if (index >= this.size) throw new RangeError(`leaf ${index} is not in the tree of ${this.size}`);
    return this.#at(0, index);
  }

  push(entry: Uint8Array): void {
    if (this.size >= this.#capacity) throw new RangeError('MemTree is full');
    let i = this.size;
    let level = 0;
    createHash('sha256').update(LEAF_PREFIX).update(entry).digest().copy(this.#levels[0]!, i * 32);
    while (i % 2 === 1) {
      const parent = h2(this.#at(level, i - 1), this.#at(level, i));
      level++;
      i = (i - 1) / 2;
      parent.copy(this.#levels[level]!, i * 32);
    }
    this.size++;
  }

  /** MTH(D[0:m]): the complete subtrees covering [0, m), largest first, folded from the right. */
  root(m: number): Buffer {
    if (m > this.size) throw new RangeError(`no root at ${m} in a tree of ${this.size}`);
    if (m === 0) return createHash('sha256').digest();
    const parts: Buffer[] = [];
    let offset = 0;
    for (let level = 31; level >= 0; level--) {
      const width = 2 ** level;
      if (m - offset >= width) {
        parts.push(this.#at(level, offset / width));
        offset += width;
      }
    }
    let acc = parts[parts.length - 1]!;
    for (let k = parts.length - 2; k >= 0; k--) acc = h2(parts[k]!, acc);
    return Buffer.from(acc);
  }
}

// ---------------------------------------------------------------- helpers

/** mulberry32: the same "random" indices on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}


function popCount(n: number): number {
  let c = 0;
  for (; n > 0; n = Math.floor(n / 2)) c += n % 2;
  return c;
}

/** Rows an RFC 6962 log of n entries stores in log_node: n leaves and n - popcount(n) interior nodes. */
function expectedNodes(n: number): number {
  return 2 * n - popCount(n);
}

/** Mean time of an fdatasync after a 4 KiB write in dir, in microseconds: what one durable commit costs at least. */
function fdatasyncUs(dir: string): number {
  const path = join(dir, 'fsync-probe');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096, 0x5a);
  try {
    for (let i = 0; i < 20; i++) {
      writeSync(fd, block);
      fdatasyncSync(fd);
    }
    const n = 200;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      writeSync(fd, block);
      fdatasyncSync(fd);
    }
    return (seconds(start) * 1e6) / n;
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

/** Runs op(0..count-1) with at most `concurrency` outstanding, issuing in index order. */
async function pump(count: number, concurrency: number, op: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

interface TxStats {
  transactions: number;
  items: number;
}

/** The storage as is, counting the transactions (append calls) the Ledger makes and their sizes. */
function counting<E>(inner: LedgerStorage<E>, stats: TxStats): LedgerStorage<E> {
  return {
    append: (items, integrator) => {
      stats.transactions++;
      stats.items += items.length;
      return inner.append(items, integrator);
    },
    treeHead: () => inner.treeHead(),
    nodes: (ids) => inner.nodes(ids),
    nodeRange: (level, first, count) => inner.nodeRange(level, first, count),
    entries: (first, count) => inner.entries(first, count),
    indexOfEvidence: (key) => inner.indexOfEvidence(key),
    addCheckpoint: (c) => inner.addCheckpoint(c),
    latestCheckpoint: () => inner.latestCheckpoint(),
    checkpoints: (after, limit) => inner.checkpoints(after, limit),
  };
}

function newLedger(storage: LedgerStorage<NewEvidence>, key: LogKey): Ledger<NewEvidence> {
  return new Ledger(storage, { origin: key.origin, signer: key.signer, verifier: key.verifier, maxBatch: BATCH });
}

// ---------------------------------------------------------------- correctness

/**
 * The log holds exactly `tree`'s entries: same size, same root, entries read
 * back byte for byte, a checkpoint that verifies, and proofs that verify
 * against the independent roots (and fail when tampered with).
 */
async function checkLedger(ledger: Ledger<NewEvidence>, tree: MemTree, samples: number, seed: number): Promise<void> {
  const head = await ledger.treeHead();
  const n = tree.size;
  if (head.size !== BigInt(n)) throw new Error(`log size ${head.size}, expected ${n}`);
  if (!head.root.equals(tree.root(n))) throw new Error(`stored root at ${n} differs from the independently computed root`);
  const checkpoint = await ledger.checkpoint();
  const opened = ledger.openCheckpoint(checkpoint.note).checkpoint;
  if (opened.size !== head.size || !opened.rootHash.equals(head.root)) throw new Error('signed checkpoint does not match the head');
  const rand = prng(seed);
  for (let k = 0; k < samples; k++) {
    const index = Math.floor(rand() * n);
    const [stored] = await ledger.storage.entries(BigInt(index), 1);
    if (stored === undefined || !stored.equals(entryFor(index))) throw new Error(`entry ${index} does not read back as written`);
    const size = 1 + index + Math.floor(rand() * (n - index));
    const proof = await ledger.inclusionProof(BigInt(index), BigInt(size));
    verifyInclusion(BigInt(index), BigInt(size), tree.leaf(index), proof, tree.root(size));
    const m = 1 + Math.floor(rand() * size);
    const cproof = await ledger.consistencyProof(BigInt(m), BigInt(size));
    verifyConsistency(BigInt(m), BigInt(size), cproof, tree.root(m), tree.root(size));
    if (k === 0 && proof.length > 0) {
      const bad = proof.map((p) => Buffer.from(p));
      bad[0]![0]! ^= 1;
      let rejected = false;
      try {
        verifyInclusion(BigInt(index), BigInt(size), tree.leaf(index), bad, tree.root(size));
      } catch (err) {
        rejected = err instanceof ProofError;
      }
      if (!rejected) throw new Error('a tampered inclusion proof verified');
    }
  }
}

/** A scratch log of PRECHECK_APPENDS entries through the Ledger, checked before anything is timed. */
async function precheck(storage: LedgerStorage<NewEvidence>, key: LogKey, what: string): Promise<void> {
  const ledger = newLedger(storage, key);
  const tree = new MemTree(PRECHECK_APPENDS);
  await pump(PRECHECK_APPENDS, 512, async (i) => {
    const o = await ledger.append(entryFor(i));
    if (!o.appended || o.index !== BigInt(i)) throw new Error(`${what}: append ${i} came back as index ${o.index}`);
  });
  for (let i = 0; i < PRECHECK_APPENDS; i++) tree.push(entryFor(i));
  await checkLedger(ledger, tree, 200, 7);
  await ledger.close();
}

// ---------------------------------------------------------------- raw writers

function hashPool(): Buffer[] {
  return Array.from({ length: 4096 }, (_, i) => createHash('sha256').update(`pool-${i}`).digest());
}

/**
 * The rows one RFC 6962 append of entry `idx` writes to log_node: its leaf,
 * and every interior node it completes (level l, index ((idx+1) >> l) - 1).
 */
function nodeRows(idx: number, visit: (level: number, index: number) => void): void {
  visit(0, idx);
  let j = idx + 1;
  let level = 0;
  while (j % 2 === 0) {
    j /= 2;
    level++;
    visit(level, j - 1);
  }
}

/**
 * node:sqlite writing the rows warrant writes (log_entry, log_node leaves and
 * interior nodes, the log_head update) into the same schema, with the same
 * pragmas, in transactions of BATCH entries: hashes come from a pool, so there
 * is no Merkle work, no head or edge reads, and no promise per entry.
 */
class RawSqlite {
  readonly #db: DatabaseSync;
  readonly #addEntry: StatementSync;
  readonly #addNode: StatementSync;
  readonly #setHead: StatementSync;
  readonly #pool = hashPool();
  size = 0;

  constructor(path: string) {
    this.#db = new DatabaseSync(path, { timeout: 10_000 });
    this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec('PRAGMA synchronous = FULL');
    this.#db.exec('PRAGMA foreign_keys = ON');
    this.#db.exec('BEGIN IMMEDIATE');
    for (const m of MIGRATIONS) for (const sql of m.sqlite) this.#db.exec(sql);
    this.#db.exec('COMMIT');
    this.#addEntry = this.#db.prepare('INSERT INTO log_entry (idx, entry) VALUES (?, ?)');
    this.#addNode = this.#db.prepare('INSERT INTO log_node (level, idx, hash) VALUES (?, ?, ?)');
    this.#setHead = this.#db.prepare('UPDATE log_head SET size = ?, root = ? WHERE id = 1');
  }

  append(entries: readonly Buffer[]): void {
    const pool = this.#pool;
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (const entry of entries) {
        const idx = this.size++;
        this.#addEntry.run(idx, entry);
        nodeRows(idx, (level, index) => this.#addNode.run(level, index, pool[(idx + level) % pool.length]!));
      }
      this.#setHead.run(this.size, pool[0]!);
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  counts(): { entries: number; nodes: number } {
    const e = this.#db.prepare('SELECT count(*) AS n FROM log_entry').get() as { n: number };
    const n = this.#db.prepare('SELECT count(*) AS n FROM log_node').get() as { n: number };
    return { entries: e.n, nodes: n.n };
  }

  close(): void {
    this.#db.close();
  }
}

function pgClient(): pg.Client {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  return client;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * node-postgres writing the same rows as PostgresStore.append into the same
 * schema (its own), with the same unnest statements and parameter encodings,
 * in transactions of BATCH entries, with no head lock, edge read or Merkle work.
 */
class RawPostgres {
  readonly #client: pg.Client;
  readonly #pool = hashPool();
  size = 0;

  private constructor(client: pg.Client) {
    this.#client = client;
  }

  static async open(schema: string): Promise<RawPostgres> {
    const client = pgClient();
    await client.connect();
    await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await client.query(`SET search_path TO ${quoteIdent(schema)}`);
    await client.query('BEGIN');
    for (const m of MIGRATIONS) for (const sql of m.postgres) await client.query(sql);
    await client.query('COMMIT');
    return new RawPostgres(client);
  }

  async append(entries: readonly Buffer[]): Promise<void> {
    const first = this.size;
    const indices = entries.map((_, k) => String(first + k));
    const levels: number[] = [];
    const nodeIdx: string[] = [];
    const hashes: Buffer[] = [];
    for (let k = 0; k < entries.length; k++) {
      nodeRows(first + k, (level, index) => {
        levels.push(level);
        nodeIdx.push(String(index));
        hashes.push(this.#pool[(first + k + level) % this.#pool.length]!);
      });
    }
    const c = this.#client;
    await c.query('BEGIN');
    try {
      await c.query('INSERT INTO log_entry (idx, entry) SELECT * FROM unnest($1::bigint[], $2::bytea[])', [indices, entries]);
      await c.query(
        'INSERT INTO log_node (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])',
        [levels, nodeIdx, hashes],
      );
      await c.query('UPDATE log_head SET size = $1, root = $2 WHERE id = 1', [String(first + entries.length), this.#pool[0]!]);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
    this.size += entries.length;
  }

  async counts(): Promise<{ entries: number; nodes: number }> {
    const e = await this.#client.query<{ n: string }>('SELECT count(*) AS n FROM log_entry');
    const n = await this.#client.query<{ n: string }>('SELECT count(*) AS n FROM log_node');
    return { entries: Number(e.rows[0]!.n), nodes: Number(n.rows[0]!.n) };
  }

  async close(): Promise<void> {
    await this.#client.end();
  }
}

// ---------------------------------------------------------------- durable appends

interface Contender {
  name: string;
  /** Appends entries [first, first + count) of `all`, resolving when all are durable. */
  run(all: readonly Buffer[], first: number, count: number): Promise<void>;
}

interface Measured {
  name: string;
  rates: number[];
  median: number;
  best: number;
  /** This process's CPU time (user + system) per append, median round: robust to other load on the machine. */
  cpuUs: number;
}

/**
 * `rounds` rounds of about `all.length / rounds` appends each; within a round every
 * contender appends the same slice of entries to its own database, in an order
 * that rotates, so the databases grow alike and a burst of load from elsewhere
 * lands on all of them.
 */
async function measureAppends(contenders: readonly Contender[], all: readonly Buffer[], rounds: number): Promise<Measured[]> {
  const rates = contenders.map(() => [] as number[]);
  const cpu = contenders.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    const first = Math.round((r * all.length) / rounds);
    const count = Math.round(((r + 1) * all.length) / rounds) - first;
    for (let k = 0; k < contenders.length; k++) {
      const j = (k + r) % contenders.length;
      const cpu0 = process.cpuUsage();
      const start = process.hrtime.bigint();
      await contenders[j]!.run(all, first, count);
      rates[j]!.push(count / seconds(start));
      const used = process.cpuUsage(cpu0);
      cpu[j]!.push((used.user + used.system) / count);
    }
  }
  return contenders.map((c, j) => ({
    name: c.name,
    rates: rates[j]!,
    median: median(rates[j]!),
    best: Math.max(...rates[j]!),
    cpuUs: median(cpu[j]!),
  }));
}

function ledgerContender(name: string, ledger: Ledger<NewEvidence>): Contender {
  return {
    name,
    run: (all, first, count) =>
      pump(count, CONCURRENCY, async (k) => {
        const o = await ledger.append(all[first + k]!);
        if (!o.appended || o.index !== BigInt(first + k)) throw new Error(`${name}: append ${first + k} came back as index ${o.index}`);
      }),
  };
}

/** The storage port alone: one append call (one transaction) per BATCH entries, no Ledger queue or promise per entry. */
function storageContender(name: string, storage: LedgerStorage<NewEvidence>): Contender {
  return {
    name,
    run: async (all, first, count) => {
      for (let k = 0; k < count; k += BATCH) {
        const n = Math.min(BATCH, count - k);
        const { outcomes } = await storage.append(
          all.slice(first + k, first + k + n).map((entry) => ({ entry })),
          merkleIntegrator,
        );
        outcomes.forEach((o, i) => {
          if (!o.appended || o.index !== BigInt(first + k + i)) throw new Error(`${name}: append ${first + k + i} came back as index ${o.index}`);
        });
      }
    },
  };
}

function appendTable(results: readonly Measured[], raw: Measured, stats: TxStats): string {
  return (
    table(
      ['writer', 'appends/s (median)', 'appends/s (best)', 'us/append', 'node cpu us/append', 'x raw'],
      results.map((r) => [
        r.name,
        fmtInt(r.median),
        fmtInt(r.best),
        (1e6 / r.median).toFixed(1),
        r.cpuUs.toFixed(2),
        (r.median / raw.median).toFixed(2),
      ]),
    ) +
    `\nrounds (appends/s): ${results.map((r) => `${r.name}: ${r.rates.map(fmtInt).join(', ')}`).join('; ')}` +
    `\nLedger transactions: ${fmtInt(stats.transactions)}, ${(stats.items / stats.transactions).toFixed(0)} entries each on average (storage.append and raw: ${BATCH})`
  );
}

/** Median CPU microseconds (user + system) of one call of fn, over `calls` calls. */
function cpuUs(calls: number, fn: () => unknown): number {
  const us: number[] = [];
  for (let k = 0; k < calls; k++) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    us.push(c.user + c.system);
  }
  return median(us);
}

// ---------------------------------------------------------------- storage cost

interface Bytes {
  total: number;
  entryTable: number;
  nodeTable: number;
}

function sqliteBytes(path: string): Bytes & { other: number; pageSize: number } {
  const db = new DatabaseSync(path);
  try {
    const ck = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get() as { busy: number; log: number; checkpointed: number };
    if (ck.busy !== 0) throw new Error('wal_checkpoint(TRUNCATE) could not complete: the database is busy');
    const rows = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all() as unknown as {
      name: string;
      bytes: number;
    }[];
    const of = (name: string): number => rows.find((r) => r.name === name)?.bytes ?? 0;
    const pageSize = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
    const total = statSync(path).size;
    return { total, entryTable: of('log_entry'), nodeTable: of('log_node'), other: total - of('log_entry') - of('log_node'), pageSize };
  } finally {
    db.close();
  }
}

async function postgresBytes(schema: string): Promise<Bytes & { detail: string }> {
  const client = pgClient();
  await client.connect();
  try {
    const size = async (table: string): Promise<{ total: number; heap: number; index: number; toast: number }> => {
      const rel = `${quoteIdent(schema)}.${table}`;
      const { rows } = await client.query<{ total: string; heap: string; index: string; toast: string }>(
        `SELECT pg_total_relation_size($1::regclass) AS total, pg_relation_size($1::regclass) AS heap,
                pg_indexes_size($1::regclass) AS index,
                coalesce((SELECT pg_total_relation_size(reltoastrelid) FROM pg_class WHERE oid = $1::regclass AND reltoastrelid <> 0), 0) AS toast`,
        [rel],
      );
      const r = rows[0]!;
      return { total: Number(r.total), heap: Number(r.heap), index: Number(r.index), toast: Number(r.toast) };
    };
    const e = await size('log_entry');
    const n = await size('log_node');
    const detail =
      `log_entry heap ${fmtInt(e.heap)} + pkey ${fmtInt(e.index)} + toast ${fmtInt(e.toast)}; ` +
      `log_node heap ${fmtInt(n.heap)} + pkey ${fmtInt(n.index)} + toast ${fmtInt(n.toast)} (bytes)`;
    return { total: e.total + n.total, entryTable: e.total, nodeTable: n.total, detail };
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------- proofs

interface Latency {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

function latency(us: number[]): Latency {
  const s = [...us].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1]!, mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Median microseconds of fn over `n` calls. */
async function medianUs(n: number, fn: (k: number) => Promise<unknown> | unknown): Promise<number> {
  const us: number[] = [];
  for (let k = 0; k < n; k++) {
    const start = process.hrtime.bigint();
    await fn(k);
    us.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  return median(us);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'warrant-bench-ledger-'));
  const schemas: string[] = [];
  const runId = createHash('sha256').update(`${process.pid}-${Date.now()}`).digest('hex').slice(0, 8);
  const probeDb = new DatabaseSync(':memory:');
  const sqliteVersion = (probeDb.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  probeDb.close();

  console.log('warrant ledger benchmark (bench/ledger.ts)');
  console.log(`date: ${new Date().toISOString()}${QUICK ? ' (--quick)' : ''}`);
  console.log(`node: ${process.version} (${process.platform}/${process.arch}), SQLite ${sqliteVersion} (node:sqlite)`);
  console.log(`cpu: ${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}, memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
  console.log(`temp dir: ${dir}; fdatasync after a 4 KiB write there: ${fdatasyncUs(dir).toFixed(0)} us`);

  let pgVersion: string | undefined;
  if (!args['skip-postgres']) {
    const client = pgClient();
    try {
      await client.connect();
      const r = await client.query<{ v: string; fsync: string; sc: string }>(
        "SELECT current_setting('server_version') AS v, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc",
      );
      pgVersion = r.rows[0]!.v;
      console.log(`postgres: ${PG_URL}, server ${pgVersion}, fsync=${r.rows[0]!.fsync}, synchronous_commit=${r.rows[0]!.sc}`);
    } catch (err) {
      throw new Error(`PostgreSQL at ${PG_URL} is unavailable (${(err as Error).message}); pass --skip-postgres to run without it`);
    } finally {
      await client.end().catch(() => {});
    }
  } else {
    console.log('postgres: skipped (--skip-postgres)');
  }
  console.log(
    `appends: ${fmtInt(APPENDS)} on SQLite, ${args['skip-postgres'] ? 'none' : fmtInt(PG_APPENDS)} on PostgreSQL, ` +
      `${ROUNDS} interleaved rounds (median reported), ${CONCURRENCY} outstanding, maxBatch ${BATCH}`,
  );
  console.log(`proofs: ${fmtInt(PROOFS)} inclusion + ${fmtInt(PROOFS)} consistency at ${fmtInt(PROOF_SIZE)} entries, ${VERIFY_SAMPLE} of each verified`);

  const key = await loadOrCreateLogKey(join(dir, 'log.key'), 'bench.warrant.local/ledger');
  const entries = entriesFor(0, Math.max(APPENDS, PG_APPENDS));
  const avgEntry = entries.reduce((s, e) => s + e.length, 0) / entries.length;
  console.log(`entries: audit events (auditEntry), ${avgEntry.toFixed(0)} bytes average`);

  // -------------------------------------------------------------- correctness first
  {
    const scratch = SqliteStore.open(join(dir, 'precheck.db'));
    await precheck(scratch, key, 'SQLite');
    await scratch.close();
    const raw = new RawSqlite(join(dir, 'precheck-raw.db'));
    raw.append(entries.slice(0, 1000));
    raw.append(entries.slice(1000, 1001));
    const c = raw.counts();
    raw.close();
    if (c.entries !== 1001 || c.nodes !== expectedNodes(1001)) throw new Error(`raw SQLite wrote ${c.entries}/${c.nodes} rows`);
    if (pgVersion !== undefined) {
      const schema = `bench_ledger_${runId}_check`;
      schemas.push(schema, `${schema}_raw`);
      const store = await PostgresStore.open({ url: `${PG_URL}?schema=${schema}` });
      await precheck(store, key, 'PostgreSQL');
      await store.close();
      const rawPg = await RawPostgres.open(`${schema}_raw`);
      await rawPg.append(entries.slice(0, 1000));
      await rawPg.append(entries.slice(1000, 1001));
      const pc = await rawPg.counts();
      await rawPg.close();
      if (pc.entries !== 1001 || pc.nodes !== expectedNodes(1001)) throw new Error(`raw PostgreSQL wrote ${pc.entries}/${pc.nodes} rows`);
    }
    console.log(
      `checked: ${PRECHECK_APPENDS} appends through the Ledger on ${pgVersion ? 'SQLite and PostgreSQL' : 'SQLite'} come back in ` +
        'order, recompute to the stored root, sign a checkpoint that verifies, and give proofs that verify against ' +
        'independent roots (a tampered one fails); the raw writers store the same row counts as warrant',
    );
  }

  const summary: string[][] = [];

  // -------------------------------------------------------------- 1. SQLite durable appends
  const sqlitePath = join(dir, 'warrant.db');
  const sqliteStore = SqliteStore.open(sqlitePath);
  const sqliteStats: TxStats = { transactions: 0, items: 0 };
  let sqliteLedger = newLedger(counting(sqliteStore, sqliteStats), key);
  sqliteLedger.startCheckpointing();
  const directStore = SqliteStore.open(join(dir, 'direct.db'));
  const rawSqlite = new RawSqlite(join(dir, 'raw.db'));
  const sqliteResults = await measureAppends(
    [
      ledgerContender('warrant Ledger (SqliteStore)', sqliteLedger),
      storageContender('SqliteStore.append (no Ledger)', directStore),
      {
        name: 'raw node:sqlite inserts',
        run: async (all, first, count) => {
          for (let k = 0; k < count; k += BATCH) rawSqlite.append(all.slice(first + k, first + Math.min(count, k + BATCH)));
        },
      },
    ],
    entries.slice(0, APPENDS),
    ROUNDS,
  );
  await sqliteLedger.close();
  const tree = new MemTree(PROOF_SIZE);
  for (let i = 0; i < APPENDS; i++) tree.push(entries[i]!);
  await checkLedger(sqliteLedger, tree, 100, 11);
  if (!(await directStore.treeHead()).root.equals(tree.root(APPENDS))) throw new Error('SqliteStore.append: wrong root');
  await directStore.close();
  const rawCounts = rawSqlite.counts();
  rawSqlite.close();
  if (rawCounts.entries !== APPENDS || rawCounts.nodes !== expectedNodes(APPENDS)) throw new Error('raw SQLite row counts are off');
  const [sqliteWarrant, sqliteDirect, sqliteRaw] = sqliteResults as [Measured, Measured, Measured];
  console.log('');
  console.log(`1. durable appends, SQLite (WAL, synchronous=FULL), ${fmtInt(APPENDS)} entries each:`);
  console.log(appendTable(sqliteResults, sqliteRaw, sqliteStats));
  console.log('checked: the timed logs recompute to their roots, the Ledger\'s checkpoint verifies, sampled proofs verify');

  // Where an append's time goes, in this process's CPU time (the figure least disturbed by other load).
  {
    const batch = entries.slice(0, BATCH);
    const integrateUs = cpuUs(25, () => integrate(0n, [], batch)) / BATCH;
    const leaves = batch.slice(0, 256);
    const leafUs = cpuUs(25, () => leaves.forEach((e) => leafHash(e))) / leaves.length;
    const pair = [tree.leaf(0), tree.leaf(1)] as const;
    const nodeUs = cpuUs(25, () => {
      for (let k = 0; k < 256; k++) nodeHash(pair[0], pair[1]);
    }) / 256;
    const rows = [
      ['raw inserts: the same rows and commits', sqliteRaw.cpuUs.toFixed(2)],
      ['+ SqliteStore.append: Merkle integrate, head and edge reads, outcomes', (sqliteDirect.cpuUs - sqliteRaw.cpuUs).toFixed(2)],
      [`    integrate() alone (1 leafHash ${leafUs.toFixed(2)} + ~1 nodeHash ${nodeUs.toFixed(2)} + objects)`, integrateUs.toFixed(2)],
      ['+ Ledger: queue, a promise per append, checkpoint each second', (sqliteWarrant.cpuUs - sqliteDirect.cpuUs).toFixed(2)],
      ['= warrant Ledger (SqliteStore)', sqliteWarrant.cpuUs.toFixed(2)],
    ];
    console.log('where an append goes (node cpu us per append, median rounds):');
    console.log(table(['part', 'cpu us'], rows));
  }
  summary.push([
    'SQLite durable appends/s (Ledger, group commit)',
    fmtInt(sqliteWarrant.median),
    `${fmtInt(sqliteRaw.median)} raw (x${(sqliteWarrant.median / sqliteRaw.median).toFixed(2)})`,
    '>= 10,000/s',
    sqliteWarrant.median >= 10_000 ? 'met' : 'NOT MET',
  ]);

  // -------------------------------------------------------------- 2. PostgreSQL durable appends
  let pgBytes: (Bytes & { detail: string }) | undefined;
  if (pgVersion !== undefined) {
    const schema = `bench_ledger_${runId}`;
    schemas.push(schema, `${schema}_direct`, `${schema}_raw`);
    const store = await PostgresStore.open({ url: `${PG_URL}?schema=${schema}` });
    const stats: TxStats = { transactions: 0, items: 0 };
    const ledger = newLedger(counting(store, stats), key);
    ledger.startCheckpointing();
    const direct = await PostgresStore.open({ url: `${PG_URL}?schema=${schema}_direct` });
    const raw = await RawPostgres.open(`${schema}_raw`);
    const results = await measureAppends(
      [
        ledgerContender('warrant Ledger (PostgresStore)', ledger),
        storageContender('PostgresStore.append (no Ledger)', direct),
        {
          name: 'raw pg unnest inserts',
          run: async (all, first, count) => {
            for (let k = 0; k < count; k += BATCH) await raw.append(all.slice(first + k, first + Math.min(count, k + BATCH)));
          },
        },
      ],
      entries.slice(0, PG_APPENDS),
      ROUNDS,
    );
    await ledger.close();
    const pgTree = new MemTree(PG_APPENDS);
    for (let i = 0; i < PG_APPENDS; i++) pgTree.push(entries[i]!);
    await checkLedger(ledger, pgTree, 100, 13);
    if (!(await direct.treeHead()).root.equals(pgTree.root(PG_APPENDS))) throw new Error('PostgresStore.append: wrong root');
    await direct.close();
    const counts = await raw.counts();
    await raw.close();
    if (counts.entries !== PG_APPENDS || counts.nodes !== expectedNodes(PG_APPENDS)) throw new Error('raw PostgreSQL row counts are off');
    pgBytes = await postgresBytes(schema);
    await store.close();
    const [w, , r] = results as [Measured, Measured, Measured];
    console.log('');
    console.log(`2. durable appends, PostgreSQL (fsync, synchronous_commit as the server sets), ${fmtInt(PG_APPENDS)} entries each:`);
    console.log(appendTable(results, r, stats));
    console.log('checked: the timed logs recompute to their roots, the Ledger\'s checkpoint verifies, sampled proofs verify');
    summary.push([
      'PostgreSQL durable appends/s (Ledger, group commit)',
      fmtInt(w.median),
      `${fmtInt(r.median)} raw (x${(w.median / r.median).toFixed(2)})`,
      '-',
      '-',
    ]);
  } else {
    console.log('');
    console.log('2. durable appends, PostgreSQL: skipped (--skip-postgres)');
  }

  // -------------------------------------------------------------- 3. proofs at PROOF_SIZE entries
  {
    const start = process.hrtime.bigint();
    let appendSeconds = 0;
    for (let first = APPENDS; first < PROOF_SIZE; first += BUILD_BATCH) {
      const batch = entriesFor(first, Math.min(BUILD_BATCH, PROOF_SIZE - first));
      const s = process.hrtime.bigint();
      const { head } = await sqliteStore.append(
        batch.map((entry) => ({ entry })),
        merkleIntegrator,
      );
      appendSeconds += seconds(s);
      for (const e of batch) tree.push(e);
      if (head.size !== BigInt(tree.size)) throw new Error(`build: log size ${head.size}, expected ${tree.size}`);
    }
    const added = PROOF_SIZE - APPENDS;
    console.log('');
    console.log(
      `3. proofs at ${fmtInt(PROOF_SIZE)} entries (SQLite): grew the log from ${fmtInt(APPENDS)} in ${seconds(start).toFixed(1)} s ` +
        `(SqliteStore.append with merkleIntegrator, ${fmtInt(BUILD_BATCH)} per transaction: ` +
        `${added > 0 ? fmtInt(added / appendSeconds) : '-'} entries/s)`,
    );
    sqliteLedger = newLedger(sqliteStore, key);
    await checkLedger(sqliteLedger, tree, 100, 17);
    const N = BigInt(PROOF_SIZE);
    const rand = prng(42);
    const picks = Array.from({ length: PROOF_WARMUP + PROOFS }, () => ({
      index: Math.floor(rand() * PROOF_SIZE),
      m: 1 + Math.floor(rand() * (PROOF_SIZE - 1)),
    }));
    const incl: number[] = [];
    const cons: number[] = [];
    let inclLen = 0;
    let consLen = 0;
    const inclProofs: Buffer[][] = [];
    const consProofs: Buffer[][] = [];
    const every = Math.floor(PROOFS / VERIFY_SAMPLE);
    for (let k = 0; k < picks.length; k++) {
      const { index, m } = picks[k]!;
      let s = process.hrtime.bigint();
      const ip = await sqliteLedger.inclusionProof(BigInt(index), N);
      const iUs = Number(process.hrtime.bigint() - s) / 1e3;
      s = process.hrtime.bigint();
      const cp = await sqliteLedger.consistencyProof(BigInt(m), N);
      const cUs = Number(process.hrtime.bigint() - s) / 1e3;
      if (k < PROOF_WARMUP) continue;
      incl.push(iUs);
      cons.push(cUs);
      inclLen += ip.length;
      consLen += cp.length;
      if ((k - PROOF_WARMUP) % every === 0) {
        inclProofs[k] = ip;
        consProofs[k] = cp;
      }
    }
    const rootN = tree.root(PROOF_SIZE);
    let verified = 0;
    for (let k = 0; k < picks.length; k++) {
      const ip = inclProofs[k];
      const cp = consProofs[k];
      if (ip === undefined || cp === undefined) continue;
      const { index, m } = picks[k]!;
      verifyInclusion(BigInt(index), N, tree.leaf(index), ip, rootN);
      verifyConsistency(BigInt(m), N, cp, tree.root(m), rootN);
      verified++;
    }
    const li = latency(incl);
    const lc = latency(cons);
    const us = (x: number): string => x.toFixed(1);
    console.log(
      table(
        [`proof (Ledger API, N = ${fmtInt(PROOF_SIZE)})`, 'p50 us', 'p99 us', 'max us', 'mean us', 'hashes (mean)'],
        [
          ['inclusionProof(random index, N)', us(li.p50), us(li.p99), us(li.max), us(li.mean), (inclLen / PROOFS).toFixed(1)],
          ['consistencyProof(random m, N)', us(lc.p50), us(lc.p99), us(lc.max), us(lc.mean), (consLen / PROOFS).toFixed(1)],
        ],
      ),
    );
    console.log(`checked: ${verified} inclusion and ${verified} consistency proofs of the timed ones verify against independent roots`);

    // Where a proof's time goes: each step alone, over the same picks.
    const stageN = Math.min(2000, PROOFS);
    const plans = picks.slice(PROOF_WARMUP, PROOF_WARMUP + stageN).map((p) => inclusionProofPlan(BigInt(p.index), N));
    const flat = plans.map((plan) => {
      const seen = new Map<string, NodeId>();
      for (const ids of plan) for (const id of ids) seen.set(`${id.level}/${id.index}`, id);
      return [...seen.values()];
    });
    const folds = await Promise.all(
      plans.map(async (plan, k) => {
        const got = new Map((await sqliteStore.nodes(flat[k]!)).map((h, i) => [`${flat[k]![i]!.level}/${flat[k]![i]!.index}`, h]));
        return plan.map((ids) => ids.map((id) => got.get(`${id.level}/${id.index}`)!));
      }),
    );
    const headUs = await medianUs(stageN, () => sqliteStore.treeHead());
    const planUs = await medianUs(stageN, (k) => inclusionProofPlan(BigInt(picks[PROOF_WARMUP + k]!.index), N));
    const cplanUs = await medianUs(stageN, (k) => consistencyProofPlan(BigInt(picks[PROOF_WARMUP + k]!.m), N));
    const fetchUs = await medianUs(stageN, (k) => sqliteStore.nodes(flat[k]!));
    const foldUs = await medianUs(stageN, (k) => folds[k]!.map((hashes) => foldRange(hashes)));
    const nodesPer = flat.reduce((s, ids) => s + ids.length, 0) / flat.length;
    console.log(
      `inclusion proof steps alone (median us): treeHead ${headUs.toFixed(1)}, plan ${planUs.toFixed(1)} ` +
        `(consistency plan ${cplanUs.toFixed(1)}), SqliteStore.nodes of ${nodesPer.toFixed(1)} nodes ${fetchUs.toFixed(1)} ` +
        `(${(fetchUs / nodesPer).toFixed(2)} per node), fold ${foldUs.toFixed(1)}`,
    );
    summary.push(['inclusion proof p99 at ' + fmtInt(PROOF_SIZE), `${us(li.p99)} us`, `p50 ${us(li.p50)} us`, '< 1,000 us', li.p99 < 1000 ? 'met' : 'NOT MET']);
    summary.push(['consistency proof p99 at ' + fmtInt(PROOF_SIZE), `${us(lc.p99)} us`, `p50 ${us(lc.p50)} us`, '< 1,000 us', lc.p99 < 1000 ? 'met' : 'NOT MET']);
  }
  await sqliteLedger.close();
  await sqliteStore.close();

  // -------------------------------------------------------------- 4. bytes per entry
  {
    const sb = sqliteBytes(sqlitePath);
    const per = (b: number, n: number): string => (b / n).toFixed(1);
    const rows: string[][] = [
      [
        `SQLite, ${fmtInt(PROOF_SIZE)} entries`,
        per(sb.total, PROOF_SIZE),
        per(sb.entryTable, PROOF_SIZE),
        per(sb.nodeTable, PROOF_SIZE),
        per(sb.other, PROOF_SIZE),
        (sb.total / PROOF_SIZE / avgEntry).toFixed(2),
      ],
    ];
    if (pgBytes !== undefined) {
      rows.push([
        `PostgreSQL, ${fmtInt(PG_APPENDS)} entries`,
        per(pgBytes.total, PG_APPENDS),
        per(pgBytes.entryTable, PG_APPENDS),
        per(pgBytes.nodeTable, PG_APPENDS),
        '-',
        (pgBytes.total / PG_APPENDS / avgEntry).toFixed(2),
      ]);
    }
    console.log('');
    console.log(`4. bytes stored per entry (entry payload ${avgEntry.toFixed(0)} B; ${(expectedNodes(PROOF_SIZE) / PROOF_SIZE).toFixed(3)} log_node rows of 32-byte hashes per entry):`);
    console.log(table(['store', 'total B/entry', 'log_entry', 'log_node (Merkle)', 'other', 'x payload'], rows));
    console.log(
      `SQLite: file ${fmtInt(sb.total)} bytes after wal_checkpoint(TRUNCATE), page size ${sb.pageSize}; split by dbstat` +
        (pgBytes !== undefined ? `\nPostgreSQL: pg_total_relation_size; ${pgBytes.detail}` : ''),
    );
    summary.push([
      'SQLite bytes/entry (entry + Merkle nodes)',
      per(sb.total, PROOF_SIZE),
      `${per(sb.entryTable, PROOF_SIZE)} + ${per(sb.nodeTable, PROOF_SIZE)}`,
      '-',
      '-',
    ]);
    if (pgBytes !== undefined) {
      summary.push([
        'PostgreSQL bytes/entry (entry + Merkle nodes)',
        per(pgBytes.total, PG_APPENDS),
        `${per(pgBytes.entryTable, PG_APPENDS)} + ${per(pgBytes.nodeTable, PG_APPENDS)}`,
        '-',
        '-',
      ]);
    }
  }

  // -------------------------------------------------------------- summary and clean-up
  console.log('');
  console.log(table(['figure', 'warrant', 'beside', 'target', 'verdict'], summary));

  if (args.keep) {
    console.log(`kept: ${dir}${schemas.length > 0 ? `, schemas ${schemas.join(', ')}` : ''}`);
  } else {
    rmSync(dir, { recursive: true, force: true });
    if (schemas.length > 0) {
      const client = pgClient();
      await client.connect();
      for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
      await client.end();
    }
  }
  console.log(`total time: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

await main();
