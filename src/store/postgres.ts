import { userInfo } from 'node:os';
import pg from 'pg';
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

/** Any constant works; it only has to be the same for every warrant process migrating one database. */
const MIGRATION_LOCK_KEY = 0x77617272; // "warr"

interface EvidenceRow {
  id: string;
  envelope_digest: string;
  payload_type: string;
  predicate_type: string;
  signer: string;
  bundle: string;
  added_at: Date;
}

export interface PostgresOptions {
  /** postgres:// URL; a `schema` query parameter selects (and creates) a schema, for isolation. */
  url: string;
  maxConnections?: number;
  /** Per-statement timeout, so a stuck database is an error, not a hang. */
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/**
 * The shared store for several `warrant serve` replicas. Every write is one
 * transaction; uniqueness of the envelope digest is enforced by the database,
 * so concurrent adders from any number of processes store one row.
 */
export class PostgresStore implements EvidenceStore, LedgerStorage<NewEvidence> {
  readonly kind = 'postgres' as const;
  readonly location: string;
  readonly #pool: pg.Pool;

  private constructor(location: string, pool: pg.Pool) {
    this.location = location;
    this.#pool = pool;
  }

  static async open(options: PostgresOptions): Promise<PostgresStore> {
    const { connectionString, schema, location, hasUser } = parsePostgresUrl(options.url);
    const pool = new pg.Pool({
      connectionString,
      // libpq defaults the user to the OS account; node-postgres reads $USER, which services often lack.
      ...(hasUser || process.env.PGUSER || process.env.USER ? {} : { user: userInfo().username }),
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      statement_timeout: options.statementTimeoutMs ?? 30_000,
      ...(schema ? { options: `-c search_path=${quoteIdent(schema)}` } : {}),
    });
    // An idle client's network error must not crash the process; the next query reports it.
    pool.on('error', () => {});
    const store = new PostgresStore(location, pool);
    try {
      await store.#migrate(schema);
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  async #migrate(schema: string | undefined): Promise<void> {
    await this.#transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      // Under the lock: concurrent CREATE SCHEMA IF NOT EXISTS can still collide on pg_namespace.
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS warrant_schema (
        version INTEGER PRIMARY KEY, warrant_version TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      const { rows } = await client.query<{ version: number; warrant_version: string }>(
        'SELECT version, warrant_version FROM warrant_schema ORDER BY version DESC LIMIT 1',
      );
      const current = rows[0]?.version ?? 0;
      if (current > LATEST_SCHEMA_VERSION) {
        throw new StoreError('SCHEMA_TOO_NEW', schemaTooNewMessage(current, rows[0]?.warrant_version));
      }
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        for (const sql of m.postgres) await client.query(sql);
        await client.query('INSERT INTO warrant_schema (version, warrant_version) VALUES ($1, $2)', [
          m.version,
          WARRANT_VERSION,
        ]);
      }
    });
  }

  async #query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(sql, params);
    } catch (err) {
      throw unavailable(err, this.location);
    }
  }

  async #transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw unavailable(err, this.location);
    }
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err instanceof StoreError ? err : unavailable(err, this.location);
    } finally {
      client.release();
    }
  }

  async schemaVersion(): Promise<number> {
    const { rows } = await this.#query<{ v: number | null }>('SELECT max(version) AS v FROM warrant_schema');
    return rows[0]?.v ?? 0;
  }

  async addEvidence(e: NewEvidence): Promise<AddResult> {
    return this.#transaction(async (client) => {
      const r = await insertEvidence(client, e, null);
      return { envelopeDigest: e.envelopeDigest, id: r.id, inserted: r.inserted };
    });
  }

  // --- ledger storage -------------------------------------------------------

  async append(
    items: readonly AppendItem<NewEvidence>[],
    integrator: Integrator,
  ): Promise<{ outcomes: AppendOutcome[]; head: TreeHead }> {
    return this.#transaction(async (client) => {
      // The head row lock makes this transaction the one sequencer, across every process and replica.
      const headRows = await client.query<{ size: string; root: Buffer }>(
        'SELECT size, root FROM log_head WHERE id = 1 FOR UPDATE',
      );
      if (headRows.rows[0] === undefined) throw new StoreError('STORE_CORRUPT', 'the log head row is missing');
      const start = { size: BigInt(headRows.rows[0].size), root: headRows.rows[0].root };
      const entries: Uint8Array[] = [];
      const outcomes: AppendOutcome[] = [];
      for (const item of items) {
        const index = start.size + BigInt(entries.length);
        if (item.evidence !== undefined) {
          const r = await insertEvidence(client, item.evidence, index);
          if (!r.inserted) {
            if (r.logIndex === null) throw new StoreError('STORE_CORRUPT', `evidence ${item.evidence.envelopeDigest} has no log index`);
            outcomes.push({ index: r.logIndex, appended: false });
            continue;
          }
        }
        entries.push(item.entry);
        outcomes.push({ index, appended: true });
      }
      if (entries.length === 0) return { outcomes, head: start };
      const edgeIds = integrator.edge(start.size);
      const integration = integrator.integrate(start.size, await fetchNodes(client, edgeIds), entries);
      const indices = entries.map((_, i) => String(start.size + BigInt(i)));
      await client.query('INSERT INTO log_entry (idx, entry) SELECT * FROM unnest($1::bigint[], $2::bytea[])', [
        indices,
        entries.map((e) => Buffer.from(e)),
      ]);
      const nodes = [
        ...integration.leafHashes.map((hash, i) => ({ level: 0, index: indices[i]!, hash })),
        ...integration.nodes.map((n) => ({ level: n.level, index: String(n.index), hash: n.hash })),
      ];
      await client.query(
        'INSERT INTO log_node (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])',
        [nodes.map((n) => n.level), nodes.map((n) => n.index), nodes.map((n) => n.hash)],
      );
      const head = { size: start.size + BigInt(entries.length), root: integration.root };
      await client.query('UPDATE log_head SET size = $1, root = $2 WHERE id = 1', [String(head.size), head.root]);
      return { outcomes, head };
    });
  }

  async treeHead(): Promise<TreeHead> {
    const { rows } = await this.#query<{ size: string; root: Buffer }>('SELECT size, root FROM log_head WHERE id = 1');
    if (rows[0] === undefined) throw new StoreError('STORE_CORRUPT', 'the log head row is missing');
    return { size: BigInt(rows[0].size), root: rows[0].root };
  }

  async nodes(ids: readonly NodeId[]): Promise<Buffer[]> {
    const client = await this.#pool.connect().catch((err: unknown) => {
      throw unavailable(err, this.location);
    });
    try {
      return await fetchNodes(client, ids);
    } finally {
      client.release();
    }
  }

  async nodeRange(level: number, first: bigint, count: number): Promise<Buffer[]> {
    const { rows } = await this.#query<{ idx: string; hash: Buffer }>(
      'SELECT idx, hash FROM log_node WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx',
      [level, String(first), String(first + BigInt(count))],
    );
    return contiguous(rows, Number(first)).map((r) => r.hash);
  }

  async entries(first: bigint, count: number): Promise<Buffer[]> {
    const { rows } = await this.#query<{ idx: string; entry: Buffer }>(
      'SELECT idx, entry FROM log_entry WHERE idx >= $1 AND idx < $2 ORDER BY idx',
      [String(first), String(first + BigInt(count))],
    );
    return contiguous(rows, Number(first)).map((r) => r.entry);
  }

  async indexOfEvidence(envelopeDigest: string): Promise<bigint | undefined> {
    const { rows } = await this.#query<{ log_index: string | null }>(
      'SELECT log_index FROM evidence WHERE envelope_digest = $1',
      [envelopeDigest],
    );
    return rows[0]?.log_index == null ? undefined : BigInt(rows[0].log_index);
  }

  async addCheckpoint(c: StoredCheckpoint): Promise<void> {
    await this.#query('INSERT INTO log_checkpoint (size, root, note) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING', [
      String(c.size),
      c.root,
      c.note,
    ]);
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const { rows } = await this.#query<CheckpointRow>(
      'SELECT size, root, note FROM log_checkpoint ORDER BY size DESC LIMIT 1',
    );
    return rows[0] === undefined ? undefined : toCheckpoint(rows[0]);
  }

  async checkpoints(afterSize: bigint, limit: number): Promise<StoredCheckpoint[]> {
    const { rows } = await this.#query<CheckpointRow>(
      'SELECT size, root, note FROM log_checkpoint WHERE size > $1 ORDER BY size LIMIT $2',
      [String(afterSize), limit],
    );
    return rows.map(toCheckpoint);
  }

  async getEvidence(envelopeDigest: string): Promise<StoredEvidence | undefined> {
    const { rows } = await this.#query<EvidenceRow>('SELECT * FROM evidence WHERE envelope_digest = $1', [
      envelopeDigest,
    ]);
    return rows[0] === undefined ? undefined : (await this.#withSubjects(rows))[0];
  }

  async listBySubject(subjectDigest: string, limit = DEFAULT_LIST_LIMIT): Promise<StoredEvidence[]> {
    const [algorithm, digest] = splitDigest(subjectDigest);
    const { rows } = await this.#query<EvidenceRow>(
      `SELECT e.* FROM evidence e JOIN evidence_subject s ON s.evidence_id = e.id
       WHERE s.algorithm = $1 AND s.digest = $2 ORDER BY e.id LIMIT $3`,
      [algorithm, digest, limit],
    );
    return this.#withSubjects(rows);
  }

  async countEvidence(): Promise<number> {
    const { rows } = await this.#query<{ n: string }>('SELECT count(*) AS n FROM evidence');
    return Number(rows[0]!.n);
  }

  async ping(): Promise<void> {
    await this.#query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #withSubjects(rows: EvidenceRow[]): Promise<StoredEvidence[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const subjects = await this.#query<{ evidence_id: string; name: string; algorithm: string; digest: string }>(
      `SELECT evidence_id, name, algorithm, digest FROM evidence_subject
       WHERE evidence_id = ANY($1::bigint[]) ORDER BY name, algorithm, digest`,
      [ids],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      envelopeDigest: r.envelope_digest,
      payloadType: r.payload_type,
      predicateType: r.predicate_type,
      signer: r.signer,
      subjects: subjects.rows
        .filter((s) => s.evidence_id === r.id)
        .map((s) => ({ name: s.name, algorithm: s.algorithm, digest: s.digest })),
      bundle: r.bundle,
      addedAt: r.added_at.toISOString(),
    }));
  }
}

function parsePostgresUrl(url: string): {
  connectionString: string;
  schema: string | undefined;
  location: string;
  hasUser: boolean;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError('STORE_URL_INVALID', 'WARRANT_DB is not a valid postgres:// URL');
  }
  const schema = parsed.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new StoreError('STORE_URL_INVALID', `schema "${schema}" must match [a-z_][a-z0-9_]*`);
  }
  parsed.searchParams.delete('schema');
  const location = `postgres://${parsed.host}${parsed.pathname}${schema ? ` (schema ${schema})` : ''}`;
  return { connectionString: parsed.toString(), schema, location, hasUser: parsed.username !== '' };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function unavailable(err: unknown, location: string): Error {
  if (err instanceof StoreError) return err;
  const e = err as { code?: string; message?: string };
  // SQLSTATE classes 08 (connection), 57 (operator intervention), 53 (resources) mean "could not answer".
  if (e.code === undefined || /^(08|57|53)/.test(e.code) || /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|timeout/i.test(e.message ?? '')) {
    return new StoreError('STORE_UNAVAILABLE', `PostgreSQL store ${location} is unavailable: ${e.message}`, { cause: err });
  }
  return err as Error;
}

interface CheckpointRow {
  size: string;
  root: Buffer;
  note: string;
}

function toCheckpoint(row: CheckpointRow): StoredCheckpoint {
  return { size: BigInt(row.size), root: row.root, note: row.note };
}

async function insertEvidence(
  client: pg.PoolClient,
  e: NewEvidence,
  logIndex: bigint | null,
): Promise<{ id: number; inserted: boolean; logIndex: bigint | null }> {
  const ins = await client.query<{ id: string }>(
    `INSERT INTO evidence (envelope_digest, payload_type, predicate_type, signer, bundle, log_index)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (envelope_digest) DO NOTHING RETURNING id`,
    [e.envelopeDigest, e.payloadType, e.predicateType, e.signer, e.bundle, logIndex === null ? null : String(logIndex)],
  );
  const id = ins.rows[0]?.id;
  if (id === undefined) {
    // The row may come from a transaction that committed after ours began; READ COMMITTED sees it.
    const existing = await client.query<{ id: string; log_index: string | null }>(
      'SELECT id, log_index FROM evidence WHERE envelope_digest = $1',
      [e.envelopeDigest],
    );
    const row = existing.rows[0]!;
    return { id: Number(row.id), inserted: false, logIndex: row.log_index === null ? null : BigInt(row.log_index) };
  }
  if (e.subjects.length > 0) {
    await client.query(
      `INSERT INTO evidence_subject (evidence_id, algorithm, digest, name)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`,
      [id, e.subjects.map((s) => s.algorithm), e.subjects.map((s) => s.digest), e.subjects.map((s) => s.name)],
    );
  }
  return { id: Number(id), inserted: true, logIndex };
}

async function fetchNodes(client: pg.PoolClient, ids: readonly NodeId[]): Promise<Buffer[]> {
  if (ids.length === 0) return [];
  const { rows } = await client.query<{ level: number; idx: string; hash: Buffer }>(
    'SELECT level, idx, hash FROM log_node WHERE (level, idx) IN (SELECT * FROM unnest($1::smallint[], $2::bigint[]))',
    [ids.map((i) => i.level), ids.map((i) => String(i.index))],
  );
  const byKey = new Map(rows.map((r) => [`${r.level}/${r.idx}`, r.hash]));
  return ids.map((id) => {
    const hash = byKey.get(`${id.level}/${id.index}`);
    if (hash === undefined) throw new StoreError('STORE_CORRUPT', `log node ${id.level}/${id.index} is missing`);
    return hash;
  });
}
