import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { LATEST_SCHEMA_VERSION, openStore, PostgresStore, StoreError } from '../../src/store/index.ts';
import { runConcurrentAdders } from './concurrency.ts';
import { storeContract } from './contract.ts';
import { dropSchemas, evidence, PG_HOST, PG_PORT, pgUrl, probePostgres, subject, uniqueSchema, withPgClient } from './helpers.ts';

const unreachable = await probePostgres();
const skipReason =
  unreachable === undefined ? undefined : `PostgreSQL not reachable at ${PG_HOST}:${PG_PORT}: ${unreachable}`;

if (skipReason !== undefined && process.env.CI === 'true') {
  test('PostgreSQL is required in CI', () => {
    assert.fail(`${skipReason} (CI=true: the PostgreSQL store tests must run)`);
  });
}

describe('PostgresStore', { skip: skipReason ?? false }, () => {
  const schemas: string[] = [];
  const freshSchema = (): string => {
    const s = uniqueSchema();
    schemas.push(s);
    return s;
  };

  after(async () => {
    await dropSchemas(schemas);
  });

  const contractSchema = freshSchema();
  storeContract('PostgresStore', () => PostgresStore.open({ url: pgUrl(contractSchema) }));

  test('the schema query parameter isolates stores', async () => {
    const a = await PostgresStore.open({ url: pgUrl(freshSchema()) });
    const b = await PostgresStore.open({ url: pgUrl(freshSchema()) });
    try {
      const e = evidence([subject('isolated')]);
      await a.addEvidence(e);
      assert.equal(await a.countEvidence(), 1);
      assert.equal(await b.countEvidence(), 0);
      assert.equal(await b.getEvidence(e.envelopeDigest), undefined);
      assert.doesNotMatch(a.location, /password/i);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a store written by a newer warrant is refused with SCHEMA_TOO_NEW', async () => {
    const schema = freshSchema();
    const url = pgUrl(schema);
    const store = await openStore({ url, home: '/nonexistent' });
    const e = evidence([subject('kept')]);
    await store.addEvidence(e);
    await store.close();

    await withPgClient(schema, (c) =>
      c.query('INSERT INTO warrant_schema (version, warrant_version) VALUES ($1, $2)', [LATEST_SCHEMA_VERSION + 1, '99.0.0']),
    );

    await assert.rejects(openStore({ url, home: '/nonexistent' }), (err: unknown) => {
      assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
      assert.equal(err.code, 'SCHEMA_TOO_NEW');
      assert.match(err.message, new RegExp(`\\b${LATEST_SCHEMA_VERSION + 1}\\b`), 'names the version found');
      assert.match(err.message, /99\.0\.0/, 'names the release that wrote it');
      return true;
    });

    // Refusing changed nothing: drop the newer row and the store opens with its data.
    await withPgClient(schema, async (c) => {
      const { rows } = await c.query<{ version: number }>('SELECT version FROM warrant_schema ORDER BY version');
      assert.deepEqual(
        rows.map((r) => r.version),
        [...Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1), LATEST_SCHEMA_VERSION + 1],
      );
      await c.query('DELETE FROM warrant_schema WHERE version > $1', [LATEST_SCHEMA_VERSION]);
    });
    const reopened = await openStore({ url, home: '/nonexistent' });
    try {
      assert.equal(await reopened.schemaVersion(), LATEST_SCHEMA_VERSION);
      assert.equal((await reopened.getEvidence(e.envelopeDigest))?.envelopeDigest, e.envelopeDigest);
    } finally {
      await reopened.close();
    }
  });

  test('4 processes adding shared and own envelopes to one schema store each exactly once', { timeout: 60_000 }, async () => {
    await runConcurrentAdders(pgUrl(freshSchema()));
  });
});

describe('PostgresStore without a server', () => {
  test('opening postgres://127.0.0.1:1/test rejects with STORE_UNAVAILABLE within a few seconds', async () => {
    const started = Date.now();
    await assert.rejects(openStore({ url: 'postgres://127.0.0.1:1/test', home: '/nonexistent' }), (err: unknown) => {
      assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
      assert.equal(err.code, 'STORE_UNAVAILABLE');
      assert.match(err.message, /127\.0\.0\.1:1/, 'names where it tried');
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5_000, `took ${elapsed} ms`);
  });
});
