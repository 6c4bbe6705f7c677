import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { NewEvidence, StoredSubject } from '../../src/store/index.ts';

export const PG_HOST = '127.0.0.1';
export const PG_PORT = 5432;
export const PG_BASE_URL = `postgres://${PG_HOST}:${PG_PORT}/test`;

// The test URL names no user. libpq would default to the OS account; node-postgres reads $USER,
// which minimal containers leave unset. Do what libpq does (children inherit it).
if (!process.env.PGUSER && !process.env.USER) process.env.PGUSER = userInfo().username;

export function hex(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}

/** A fresh `sha256:` subject with a random 64-hex digest. */
export function subject(name: string, digest = hex()): StoredSubject {
  return { name, algorithm: 'sha256', digest };
}

export function subjectDigest(s: StoredSubject): string {
  return `${s.algorithm}:${s.digest}`;
}

/** A synthetic, well-formed record; the store does not verify bundles. */
export function evidence(subjects: StoredSubject[], overrides: Partial<NewEvidence> = {}): NewEvidence {
  return {
    envelopeDigest: `sha256:${hex()}`,
    payloadType: 'application/vnd.in-toto+json',
    predicateType: 'https://slsa.dev/provenance/v1',
    signer: 'keyid:test-signer',
    subjects,
    bundle: '{}',
    ...overrides,
  };
}

/** Order-insensitive view of a subject list, for comparing what went in with what came out. */
export function sortedSubjects(subjects: readonly StoredSubject[]): StoredSubject[] {
  const key = (s: StoredSubject): string => `${s.algorithm}:${s.digest}:${s.name}`;
  return [...subjects]
    .map((s) => ({ name: s.name, algorithm: s.algorithm, digest: s.digest }))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export async function tempDir(prefix = 'warrant-store-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A schema name unique to this run: `t_<random hex>`. */
export function uniqueSchema(): string {
  return `t_${hex(8)}`;
}

export function pgUrl(schema: string): string {
  return `${PG_BASE_URL}?schema=${schema}`;
}

/**
 * Resolves undefined when PostgreSQL answers within 2 s, else the reason it did not.
 */
export async function probePostgres(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Runs fn with a raw pg client whose search_path is `schema`. */
export async function withPgClient<T>(schema: string | undefined, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    if (schema !== undefined) await client.query(`SET search_path TO "${schema}"`);
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function dropSchemas(schemas: readonly string[]): Promise<void> {
  if (schemas.length === 0) return;
  await withPgClient(undefined, async (client) => {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  });
}
