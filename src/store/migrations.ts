/**
 * Versioned schema migrations, one entry per version, for both dialects.
 * Append only: a released migration is never edited. `warrant` records the
 * version it applied and the warrant release that applied it, so an older
 * binary meeting a newer store can say which release it needs.
 */
export interface Migration {
  version: number;
  description: string;
  sqlite: string[];
  postgres: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'evidence and its subject index',
    sqlite: [
      `CREATE TABLE evidence (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         envelope_digest TEXT NOT NULL UNIQUE,
         payload_type TEXT NOT NULL,
         predicate_type TEXT NOT NULL,
         signer TEXT NOT NULL,
         bundle TEXT NOT NULL,
         added_at TEXT NOT NULL
       )`,
      `CREATE TABLE evidence_subject (
         evidence_id INTEGER NOT NULL REFERENCES evidence(id),
         algorithm TEXT NOT NULL,
         digest TEXT NOT NULL,
         name TEXT NOT NULL,
         PRIMARY KEY (algorithm, digest, evidence_id)
       ) WITHOUT ROWID`,
    ],
    postgres: [
      `CREATE TABLE evidence (
         id BIGSERIAL PRIMARY KEY,
         envelope_digest TEXT NOT NULL UNIQUE,
         payload_type TEXT NOT NULL,
         predicate_type TEXT NOT NULL,
         signer TEXT NOT NULL,
         bundle TEXT NOT NULL,
         added_at TIMESTAMPTZ NOT NULL DEFAULT now()
       )`,
      `CREATE TABLE evidence_subject (
         evidence_id BIGINT NOT NULL REFERENCES evidence(id),
         algorithm TEXT NOT NULL,
         digest TEXT NOT NULL,
         name TEXT NOT NULL,
         PRIMARY KEY (algorithm, digest, evidence_id)
       )`,
    ],
  },
  {
    version: 2,
    description: 'transparency log: entries, Merkle nodes, tree head, checkpoints; evidence log index',
    sqlite: [
      'ALTER TABLE evidence ADD COLUMN log_index INTEGER',
      'CREATE UNIQUE INDEX evidence_log_index ON evidence (log_index)',
      'CREATE TABLE log_entry (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL)',
      `CREATE TABLE log_node (
         level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
         PRIMARY KEY (level, idx)
       ) WITHOUT ROWID`,
      `CREATE TABLE log_head (
         id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, root BLOB NOT NULL)`,
      `INSERT INTO log_head (id, size, root) VALUES
         (1, 0, x'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')`,
      `CREATE TABLE log_checkpoint (
         size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL, created_at TEXT NOT NULL)`,
    ],
    postgres: [
      'ALTER TABLE evidence ADD COLUMN log_index BIGINT UNIQUE',
      'CREATE TABLE log_entry (idx BIGINT PRIMARY KEY, entry BYTEA NOT NULL)',
      `CREATE TABLE log_node (
         level SMALLINT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL,
         PRIMARY KEY (level, idx))`,
      `CREATE TABLE log_head (
         id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, root BYTEA NOT NULL)`,
      `INSERT INTO log_head (id, size, root) VALUES
         (1, 0, '\\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')`,
      `CREATE TABLE log_checkpoint (
         size BIGINT PRIMARY KEY, root BYTEA NOT NULL, note TEXT NOT NULL,
         created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    ],
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function schemaTooNewMessage(found: number, appliedBy: string | undefined): string {
  const needs = appliedBy ? `warrant ${appliedBy} or newer` : `a warrant release that knows schema ${found}`;
  return (
    `the store has schema version ${found}, newer than this warrant understands (${LATEST_SCHEMA_VERSION}); ` +
    `run ${needs} against it`
  );
}
