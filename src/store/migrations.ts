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
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function schemaTooNewMessage(found: number, appliedBy: string | undefined): string {
  const needs = appliedBy ? `warrant ${appliedBy} or newer` : `a warrant release that knows schema ${found}`;
  return (
    `the store has schema version ${found}, newer than this warrant understands (${LATEST_SCHEMA_VERSION}); ` +
    `run ${needs} against it`
  );
}
