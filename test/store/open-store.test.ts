import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LATEST_SCHEMA_VERSION, openStore, StoreError } from '../../src/store/index.ts';
import type { StoreErrorCode } from '../../src/store/index.ts';
import { tempDir } from './helpers.ts';

function isStoreError(code: StoreErrorCode): (err: unknown) => true {
  return (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

describe('openStore() URL handling', () => {
  let dir: { path: string; remove: () => Promise<void> };

  before(async () => {
    dir = await tempDir('warrant-openstore-');
  });

  after(async () => {
    await dir.remove();
  });

  for (const [label, url] of [
    ['undefined', undefined],
    ['empty', ''],
    ['blank', '   '],
  ] as const) {
    test(`${label} URL opens SQLite at <home>/warrant.db`, async () => {
      const home = join(dir.path, `home-${label}`, 'nested');
      const store = await openStore({ url, home });
      try {
        assert.equal(store.kind, 'sqlite');
        assert.equal(store.location, join(home, 'warrant.db'));
        assert.equal(await store.schemaVersion(), LATEST_SCHEMA_VERSION);
        assert.ok(existsSync(join(home, 'warrant.db')), 'database file created under home');
      } finally {
        await store.close();
      }
    });
  }

  test('sqlite:PATH opens SQLite at PATH, not under home', async () => {
    const path = join(dir.path, 'elsewhere', 'custom.db');
    const home = join(dir.path, 'unused-home');
    const store = await openStore({ url: `sqlite:${path}`, home });
    try {
      assert.equal(store.kind, 'sqlite');
      assert.equal(store.location, path);
      assert.ok(existsSync(path));
      assert.equal(existsSync(join(home, 'warrant.db')), false);
    } finally {
      await store.close();
    }
  });

  for (const url of ['mysql://127.0.0.1/test', 'http://example.com/db', 'postgres:/missing-slashes', 'file:///tmp/x.db']) {
    test(`invalid scheme ${url} -> STORE_URL_INVALID`, async () => {
      await assert.rejects(openStore({ url, home: dir.path }), isStoreError('STORE_URL_INVALID'));
    });
  }

  for (const schema of ['Bad-Name', '1abc', 'has space', 'x;drop', 'UPPER', `a${'b'.repeat(63)}`]) {
    test(`invalid schema name ${JSON.stringify(schema)} -> STORE_URL_INVALID (before connecting)`, async () => {
      const url = `postgres://127.0.0.1:1/test?schema=${encodeURIComponent(schema)}`;
      await assert.rejects(openStore({ url, home: dir.path }), isStoreError('STORE_URL_INVALID'));
    });
  }
});
