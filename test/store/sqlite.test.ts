import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { LATEST_SCHEMA_VERSION, openStore, SqliteStore, StoreError } from '../../src/store/index.ts';
import { runConcurrentAdders } from './concurrency.ts';
import { storeContract } from './contract.ts';
import { evidence, subject, tempDir } from './helpers.ts';

describe('SqliteStore', () => {
  let dir: { path: string; remove: () => Promise<void> };

  before(async () => {
    dir = await tempDir();
  });

  after(async () => {
    await dir.remove();
  });

  storeContract('SqliteStore', async () => SqliteStore.open(join(dir.path, 'contract.db')));

  test('a store written by a newer warrant is refused with SCHEMA_TOO_NEW', async () => {
    const path = join(dir.path, 'newer.db');
    const store = SqliteStore.open(path);
    const e = evidence([subject('kept')]);
    await store.addEvidence(e);
    await store.close();

    const db = new DatabaseSync(path);
    db.prepare('INSERT INTO warrant_schema (version, warrant_version, applied_at) VALUES (?, ?, ?)').run(
      LATEST_SCHEMA_VERSION + 1,
      '99.0.0',
      new Date().toISOString(),
    );
    db.close();

    await assert.rejects(openStore({ url: `sqlite:${path}`, home: dir.path }), (err: unknown) => {
      assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
      assert.equal(err.code, 'SCHEMA_TOO_NEW');
      assert.match(err.message, new RegExp(`\\b${LATEST_SCHEMA_VERSION + 1}\\b`), 'names the version found');
      assert.match(err.message, /99\.0\.0/, 'names the release that wrote it');
      return true;
    });

    // Refusing touched nothing and left no lock behind: drop the newer row and the store opens with its data.
    const raw = new DatabaseSync(path);
    const rows = raw.prepare('SELECT version FROM warrant_schema ORDER BY version').all() as { version: number }[];
    assert.deepEqual(
      rows.map((r) => r.version),
      [...Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1), LATEST_SCHEMA_VERSION + 1],
    );
    raw.prepare('DELETE FROM warrant_schema WHERE version > ?').run(LATEST_SCHEMA_VERSION);
    raw.close();
    const reopened = await openStore({ url: `sqlite:${path}`, home: dir.path });
    try {
      assert.equal(await reopened.schemaVersion(), LATEST_SCHEMA_VERSION);
      assert.equal((await reopened.getEvidence(e.envelopeDigest))?.envelopeDigest, e.envelopeDigest);
    } finally {
      await reopened.close();
    }
  });

  test('4 processes adding shared and own envelopes to one file store each exactly once', { timeout: 60_000 }, async () => {
    const path = join(dir.path, 'concurrent.db');
    assert.equal(existsSync(path), false, 'children start from a fresh file');
    await runConcurrentAdders(`sqlite:${path}`);
  });
});
