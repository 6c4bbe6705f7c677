/**
 * Shared helpers for the ledger tests that run over the real stores (SQLite
 * file and PostgreSQL schema): backends, raw SQL for tampering, log keys,
 * an independent RFC 6962 root, and child processes speaking a line protocol.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { test } from 'node:test';
import { emptyRoot, leafHash, loadOrCreateLogKey, nodeHash, type LogKey } from '../../src/ledger/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { dropSchemas, PG_HOST, PG_PORT, pgUrl, probePostgres, uniqueSchema, withPgClient } from '../store/helpers.ts';

export { dropSchemas, pgUrl, uniqueSchema } from '../store/helpers.ts';

export type BackendName = 'sqlite' | 'postgres';

/** Raw SQL against a store's database, `?` placeholders in both dialects. */
export interface RawDb {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

/** One fresh, empty store location. */
export interface Location {
  backend: BackendName;
  /** For openStore({ url }) and WARRANT_DB. */
  url: string;
  /** A private temp directory (WARRANT_HOME, key files, copies). */
  dir: string;
  open(): Promise<Store>;
  raw<T>(fn: (db: RawDb) => Promise<T>): Promise<T>;
}

export interface Backend {
  name: BackendName;
  /** A reason to skip, or false. */
  skip: string | false;
  fresh(): Promise<Location>;
  /** Removes every temp directory and schema this backend made. */
  cleanup(): Promise<void>;
}

/**
 * PostgreSQL availability, as test/store/postgres.test.ts handles it: skipped
 * with a one-line reason locally, a failing test when CI=true.
 */
export async function postgresSkipReason(): Promise<string | false> {
  const unreachable = await probePostgres();
  if (unreachable === undefined) return false;
  const reason = `PostgreSQL not reachable at ${PG_HOST}:${PG_PORT}: ${unreachable}`;
  if (process.env.CI === 'true') {
    test('PostgreSQL is required in CI', () => {
      assert.fail(`${reason} (CI=true: the PostgreSQL ledger tests must run)`);
    });
  }
  return reason;
}

export async function tempDir(prefix = 'warrant-ledger-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

function toPgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Runs fn with one connection to the SQLite file at `path`. */
export async function sqliteRaw<T>(path: string, fn: (db: RawDb) => Promise<T>): Promise<T> {
  const db = new DatabaseSync(path, { timeout: 10_000 });
  try {
    return await fn({
      async query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
        const stmt = db.prepare(sql);
        const args = params as SQLInputValue[];
        if (/^\s*(select|with)\b/i.test(sql) || /\breturning\b/i.test(sql)) return stmt.all(...args) as R[];
        stmt.run(...args);
        return [];
      },
    });
  } finally {
    db.close();
  }
}

export async function pgRaw<T>(schema: string, fn: (db: RawDb) => Promise<T>): Promise<T> {
  return withPgClient(schema, (client) =>
    fn({
      async query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
        return (await client.query(toPgPlaceholders(sql), params)).rows as R[];
      },
    }),
  );
}

export function sqliteBackend(): Backend {
  const dirs: string[] = [];
  return {
    name: 'sqlite',
    skip: false,
    async fresh() {
      const dir = await tempDir();
      dirs.push(dir);
      const path = join(dir, 'home', 'warrant.db');
      return {
        backend: 'sqlite',
        url: `sqlite:${path}`,
        dir,
        open: () => openStore({ url: `sqlite:${path}`, home: join(dir, 'home') }),
        raw: (fn) => sqliteRaw(path, fn),
      };
    },
    async cleanup() {
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

export function postgresBackend(skip: string | false): Backend {
  const dirs: string[] = [];
  const schemas: string[] = [];
  return {
    name: 'postgres',
    skip,
    async fresh() {
      const dir = await tempDir();
      dirs.push(dir);
      const schema = uniqueSchema();
      schemas.push(schema);
      const url = pgUrl(schema);
      return {
        backend: 'postgres',
        url,
        dir,
        open: () => openStore({ url, home: join(dir, 'home') }),
        raw: (fn) => pgRaw(schema, fn),
      };
    },
    async cleanup() {
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
      if (!skip) await dropSchemas(schemas.splice(0));
    },
  };
}

/** Both backends, PostgreSQL skipped (or failing in CI) when it is not reachable. */
export async function backends(): Promise<Backend[]> {
  return [sqliteBackend(), postgresBackend(await postgresSkipReason())];
}

/** A log key in `dir` (created once, shared by every process given the same path). */
export function logKeyIn(dir: string, origin = 'warrant.test/log'): Promise<LogKey> {
  return loadOrCreateLogKey(join(dir, 'log.skey'), origin);
}

export function sha256hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** RFC 6962 MTH computed from scratch (recursive definition), independent of the ledger's code paths. */
export function referenceRoot(entries: readonly Uint8Array[]): Buffer {
  const mth = (lo: number, hi: number): Buffer => {
    const n = hi - lo;
    if (n === 0) return emptyRoot();
    if (n === 1) return leafHash(entries[lo]!);
    let k = 1;
    while (k * 2 < n) k *= 2;
    return nodeHash(mth(lo, lo + k), mth(lo + k, hi));
  };
  return mth(0, entries.length);
}

/**
 * Every stored node of the RFC 6962 tree over `entries`: the leaf hashes
 * (level 0) and each complete subtree (level >= 1), as the ledger stores them.
 */
export function allNodes(entries: readonly Uint8Array[]): { level: number; index: number; hash: Buffer }[] {
  const out: { level: number; index: number; hash: Buffer }[] = [];
  let level = entries.map((e) => leafHash(e));
  level.forEach((hash, index) => out.push({ level: 0, index, hash }));
  for (let l = 1; level.length >= 2; l++) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    next.forEach((hash, index) => out.push({ level: l, index, hash }));
    level = next;
  }
  return out;
}

export interface Child {
  proc: ChildProcess;
  /** Complete stdout lines so far. */
  lines: string[];
  stderr(): string;
  /** Resolves when a stdout line equal to `line` has appeared. */
  reached(line: string): Promise<void>;
  send(line: string): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `node script ...args` with a line-oriented stdout. */
export function spawnChild(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines: string[] = [];
  let partial = '';
  let err = '';
  const waiting: { line: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const settle = () => {
    for (let i = waiting.length - 1; i >= 0; i--) {
      const w = waiting[i]!;
      if (lines.includes(w.line)) {
        waiting.splice(i, 1);
        w.resolve();
      }
    }
  };
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const p of parts) lines.push(p);
    if (waiting.length > 0) settle();
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  // A child killed while we write to it must not crash the parent.
  proc.stdin!.on('error', () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      for (const w of waiting.splice(0)) {
        w.reject(new Error(`${script} exited (code ${code}, signal ${signal}) before "${w.line}":\n${err}`));
      }
      resolve({ code, signal });
    });
  });
  return {
    proc,
    lines,
    stderr: () => err,
    reached: (line) =>
      new Promise<void>((resolve, reject) => {
        if (lines.includes(line)) resolve();
        else if (proc.exitCode !== null || proc.signalCode !== null) reject(new Error(`${script} already exited:\n${err}`));
        else waiting.push({ line, resolve, reject });
      }),
    send: (line) => {
      proc.stdin!.write(`${line}\n`);
    },
    exited,
  };
}
