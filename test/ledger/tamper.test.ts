/**
 * Tampering with a stored log, on SQLite and PostgreSQL: a log is built with
 * the CLI (trust add, evidence add of bundles from `warrant attest` and from
 * the evidence API, log checkpoint) and the Ledger API into the store the CLI
 * uses. Each tampering is done on a fresh copy of that log with plain SQL, by
 * someone with database access but not the log key; `warrant log audit` must
 * exit 1 and name the first index affected, and exit 0 on the untouched copy.
 */
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportPublicKeyPem, generateKey } from '../../src/evidence/index.ts';
import { auditEntry, Ledger, loadOrCreateLogKey } from '../../src/ledger/index.ts';
import { openStore, type NewEvidence } from '../../src/store/index.ts';
import { runCli, type CliResult } from '../helpers/cli.ts';
import { signedBundle } from '../helpers/evidence.ts';
import { withPgClient } from '../store/helpers.ts';
import { allNodes, backends, pgRaw, referenceRoot, sqliteRaw, tempDir, type Backend, type RawDb } from './helpers.ts';

const PT = 'https://example.com/predicate/tamper/v1';
const LOG_TABLES = ['warrant_schema', 'evidence', 'evidence_subject', 'log_entry', 'log_node', 'log_head', 'log_checkpoint'];

interface Bundles {
  pubs: string[];
  files: string[];
}

/** Four bundles by two signers: two from `warrant attest`, two from the evidence API. */
async function makeBundles(dir: string): Promise<Bundles> {
  const ok = (r: CliResult, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  ok(await runCli(['keygen', '--out', join(dir, 'k')], { cwd: dir }), 'keygen');
  const files: string[] = [];
  await Promise.all(
    [1, 2].map(async (n) => {
      const artifact = join(dir, `app${n}.bin`);
      writeFileSync(artifact, `artifact ${n}\n`);
      const out = join(dir, `cli${n}.bundle.json`);
      ok(await runCli(['attest', '--key', join(dir, 'k', 'warrant.key'), '--predicate-type', PT, '--subject', artifact, '--out', out], { cwd: dir }), 'attest');
    }),
  );
  files.push(join(dir, 'cli1.bundle.json'), join(dir, 'cli2.bundle.json'));
  const apiKey = generateKey('ecdsa-p256');
  const apiPub = join(dir, 'api.pub');
  writeFileSync(apiPub, exportPublicKeyPem(apiKey));
  for (const n of [3, 4]) {
    const file = join(dir, `api${n}.bundle.json`);
    writeFileSync(file, JSON.stringify(signedBundle(apiKey, String(n).repeat(64), { n })));
    files.push(file);
  }
  return { pubs: [join(dir, 'k', 'warrant.pub'), apiPub], files };
}

/** A built log: where it lives, and what it holds (read back after building). */
interface Base {
  home: string;
  /** WARRANT_DB for the CLI ('' for the SQLite file in home). */
  db: string;
  schema: string | undefined;
  size: number;
  entries: Buffer[];
  checkpointSizes: number[];
  /** First index appended through the Ledger API (after the first evidence add). */
  apiFrom: number;
}

/** A copy of the base log to tamper with. */
interface Copy {
  env: NodeJS.ProcessEnv;
  raw<T>(fn: (db: RawDb) => Promise<T>): Promise<T>;
}

async function buildBase(backend: Backend, bundles: Bundles): Promise<Base> {
  const loc = await backend.fresh();
  const home = join(loc.dir, 'home');
  const db = backend.name === 'postgres' ? loc.url : '';
  const env = { WARRANT_HOME: home, WARRANT_DB: db };
  const cli = async (args: string[]) => {
    const r = await runCli(args, { env, cwd: loc.dir });
    assert.equal(r.code, 0, `warrant ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const logKey = () => loadOrCreateLogKey(join(home, 'log', 'log.skey'));
  const withLedger = async (fn: (ledger: Ledger<NewEvidence>) => Promise<void>) => {
    const key = await logKey();
    const store = await openStore({ url: db || undefined, home });
    const ledger = new Ledger<NewEvidence>(store, { origin: key.origin, signer: key.signer, verifier: key.verifier });
    try {
      await fn(ledger);
    } finally {
      await ledger.close();
      await store.close();
    }
  };
  const audit = (n: number) =>
    auditEntry({ time: new Date(Date.UTC(2025, 0, 1, 0, n)).toISOString(), actor: 'tamper-test', action: 'test.event', target: `t${n}`, outcome: 'success' });

  await cli(['trust', 'add', ...bundles.pubs]);
  await cli(['evidence', 'add', bundles.files[0]!, bundles.files[1]!]);
  await cli(['log', 'checkpoint']);
  let apiFrom = 0;
  await withLedger(async (ledger) => {
    apiFrom = Number((await ledger.treeHead()).size);
    for (let n = 0; n < 12; n++) await ledger.append(audit(n));
  });
  await cli(['log', 'checkpoint']);
  await cli(['evidence', 'add', bundles.files[2]!, bundles.files[3]!]);
  await withLedger(async (ledger) => {
    await Promise.all(Array.from({ length: 5 }, (_, n) => ledger.append(audit(100 + n))));
    await ledger.checkpoint();
    // The last entries are covered by no checkpoint.
    await Promise.all(Array.from({ length: 4 }, (_, n) => ledger.append(audit(200 + n))));
  });

  const store = await openStore({ url: db || undefined, home });
  try {
    const size = Number((await store.treeHead()).size);
    const entries = await store.entries(0n, size + 1);
    const checkpointSizes = (await store.checkpoints(-1n, 1000)).map((c) => Number(c.size));
    if (backend.name === 'sqlite') await sqliteRaw(join(home, 'warrant.db'), (r) => r.query('PRAGMA wal_checkpoint(TRUNCATE)'));
    return { home, db, schema: db ? new URL(db).searchParams.get('schema')! : undefined, size, entries, checkpointSizes, apiFrom };
  } finally {
    await store.close();
  }
}

async function copyOf(backend: Backend, base: Base): Promise<Copy> {
  const loc = await backend.fresh();
  const home = join(loc.dir, 'home');
  cpSync(base.home, home, { recursive: true });
  if (backend.name === 'sqlite') {
    return { env: { WARRANT_HOME: home, WARRANT_DB: '' }, raw: (fn) => sqliteRaw(join(home, 'warrant.db'), fn) };
  }
  const schema = new URL(loc.url).searchParams.get('schema')!;
  await withPgClient(undefined, async (c) => {
    await c.query(`CREATE SCHEMA "${schema}"`);
    for (const t of LOG_TABLES) {
      await c.query(`CREATE TABLE "${schema}".${t} (LIKE "${base.schema}".${t} INCLUDING ALL)`);
      await c.query(`INSERT INTO "${schema}".${t} SELECT * FROM "${base.schema}".${t}`);
    }
  });
  return { env: { WARRANT_HOME: home, WARRANT_DB: loc.url }, raw: (fn) => pgRaw(schema, fn) };
}

async function rewriteTree(db: RawDb, entries: Buffer[]): Promise<void> {
  await db.query('DELETE FROM log_node');
  for (const n of allNodes(entries)) await db.query('INSERT INTO log_node (level, idx, hash) VALUES (?, ?, ?)', [n.level, n.index, n.hash]);
  await db.query('UPDATE log_head SET size = ?, root = ? WHERE id = 1', [entries.length, referenceRoot(entries)]);
}

/** What an attacker with the database but not the key does: change an entry and recompute every hash over it. */
async function forgeEntry(db: RawDb, base: Base, index: number, dropCheckpoints = false): Promise<void> {
  const forged = [...base.entries];
  forged[index] = Buffer.from(base.entries[index]!.toString().replace('test.event', 'test.forged'));
  assert.ok(!forged[index]!.equals(base.entries[index]!));
  await db.query('UPDATE log_entry SET entry = ? WHERE idx = ?', [forged[index], index]);
  await rewriteTree(db, forged);
  if (dropCheckpoints) await db.query('DELETE FROM log_checkpoint');
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

interface Tampering {
  name: string;
  tamper(db: RawDb, base: Base): Promise<unknown>;
  /** The first index named, or undefined when the problem has none (a checkpoint, the head). */
  index(base: Base): number | undefined;
  message(base: Base): string;
}

const TAMPERINGS: Tampering[] = [
  {
    name: "UPDATE an entry's bytes",
    tamper: (db) => db.query('UPDATE log_entry SET entry = ? WHERE idx = ?', [Buffer.from('{"forged":true}'), 7]),
    index: () => 7,
    message: () => 'entry 7 does not match its stored leaf hash',
  },
  {
    name: 'DELETE an entry row',
    tamper: (db) => db.query('DELETE FROM log_entry WHERE idx = ?', [10]),
    index: () => 10,
    message: () => 'entry 10 is missing',
  },
  {
    name: "swap two entries' contents",
    tamper: async (db, base) => {
      await db.query('UPDATE log_entry SET entry = ? WHERE idx = ?', [base.entries[15], 3]);
      await db.query('UPDATE log_entry SET entry = ? WHERE idx = ?', [base.entries[3], 15]);
    },
    index: () => 3,
    message: () => 'entry 3 does not match its stored leaf hash',
  },
  {
    name: 'swap two leaf rows',
    tamper: async (db) => {
      // Move the rows, not just the hashes: leaf 4 becomes leaf 9 and back.
      await db.query('UPDATE log_node SET idx = -1 WHERE level = 0 AND idx = 4');
      await db.query('UPDATE log_node SET idx = 4 WHERE level = 0 AND idx = 9');
      await db.query('UPDATE log_node SET idx = 9 WHERE level = 0 AND idx = -1');
    },
    index: () => 4,
    message: () => 'entry 4 does not match its stored leaf hash',
  },
  {
    name: 'DELETE a leaf row',
    tamper: (db) => db.query('DELETE FROM log_node WHERE level = 0 AND idx = ?', [6]),
    index: () => 6,
    message: () => 'leaf hash 6 is missing',
  },
  {
    name: 'INSERT an extra entry row beyond the head',
    tamper: (db, base) => db.query('INSERT INTO log_entry (idx, entry) VALUES (?, ?)', [base.size, Buffer.from('{"extra":true}')]),
    index: (base) => base.size,
    message: (base) => `entry ${base.size} exists beyond the tree head`,
  },
  {
    name: 'UPDATE a stored upper node',
    // Level 2, index 2: the subtree over leaves 8..11.
    tamper: (db) => db.query('UPDATE log_node SET hash = ? WHERE level = 2 AND idx = 2', [Buffer.alloc(32, 0xab)]),
    index: () => 8,
    message: () => 'node 2/2 over entries from 8 does not match',
  },
  {
    name: 'UPDATE an entry and recompute its leaf, every node and the head (no key): the checkpoint betrays it',
    tamper: (db, base) => forgeEntry(db, base, base.apiFrom + 3),
    index: (base) => Math.max(0, ...base.checkpointSizes.filter((s) => s <= base.apiFrom + 3)),
    message: (base) => {
      const k = base.apiFrom + 3;
      const from = Math.max(0, ...base.checkpointSizes.filter((s) => s <= k));
      const next = Math.min(...base.checkpointSizes.filter((s) => s > k));
      return `the stored tree no longer matches the checkpoint at size ${next}: an entry in [${from}, ${next}) was changed and its hashes recomputed`;
    },
  },
  {
    name: 'roll the log back below a checkpoint (entries, nodes and head truncated consistently)',
    tamper: async (db, base) => {
      const keep = base.size - 6;
      await db.query('DELETE FROM log_entry WHERE idx >= ?', [keep]);
      await rewriteTree(db, base.entries.slice(0, keep));
    },
    index: (base) => base.size - 6,
    message: (base) =>
      `a checkpoint at size ${Math.min(...base.checkpointSizes.filter((s) => s > base.size - 6))} is beyond the tree head ${base.size - 6}`,
  },
  {
    name: 'alter a stored checkpoint note',
    tamper: async (db, base) => {
      const size = middleCheckpoint(base);
      const [row] = await db.query<{ note: string }>('SELECT note FROM log_checkpoint WHERE size = ?', [size]);
      const lines = row!.note.split('\n');
      lines[2] = Buffer.alloc(32, 0x11).toString('base64'); // the root hash line
      await db.query('UPDATE log_checkpoint SET note = ? WHERE size = ?', [lines.join('\n'), size]);
    },
    index: () => undefined,
    message: (base) => `checkpoint at size ${middleCheckpoint(base)} does not verify`,
  },
  {
    name: "replace a stored checkpoint's note with another genuine one",
    tamper: async (db, base) => {
      const size = middleCheckpoint(base);
      const [other] = await db.query<{ note: string }>('SELECT note FROM log_checkpoint WHERE size = ?', [base.checkpointSizes.at(-1)]);
      await db.query('UPDATE log_checkpoint SET note = ? WHERE size = ?', [other!.note, size]);
    },
    index: () => undefined,
    message: (base) => `checkpoint at size ${middleCheckpoint(base)} does not match its stored size and root`,
  },
  {
    name: "UPDATE the head's root",
    tamper: (db) => db.query('UPDATE log_head SET root = ? WHERE id = 1', [Buffer.alloc(32, 0x42)]),
    index: () => undefined,
    message: () => 'the tree head root does not match the entries',
  },
];

function middleCheckpoint(base: Base): number {
  return base.checkpointSizes[Math.floor(base.checkpointSizes.length / 2)]!;
}

const all = await backends();
let bundlesPromise: Promise<Bundles> | undefined;
const bundleDir = await tempDir('warrant-tamper-');
after(() => rm(bundleDir, { recursive: true, force: true }));

for (const backend of all) {
  describe(`warrant log audit over ${backend.name}: tampering is found and located`, { skip: backend.skip, concurrency: 2 }, () => {
    let base: Base;
    before(async () => {
      bundlesPromise ??= makeBundles(bundleDir);
      base = await buildBase(backend, await bundlesPromise);
    });
    after(() => backend.cleanup());

    const audit = (copy: Copy, json = false) => runCli(['log', 'audit', ...(json ? ['--json'] : [])], { env: copy.env });

    test('the log built by the CLI and the Ledger API audits clean: exit 0', async (t) => {
      t.diagnostic(`log size ${base.size}, Ledger API entries from ${base.apiFrom}, checkpoints at ${base.checkpointSizes.join(', ')}`);
      assert.ok(base.size >= 24, `log size ${base.size}`);
      assert.ok(base.checkpointSizes.length >= 4, `checkpoints ${base.checkpointSizes.join(',')}`);
      assert.ok(base.checkpointSizes.at(-1)! < base.size, 'the last entries are covered by no checkpoint');
      const copy = await copyOf(backend, base);
      const r = await audit(copy);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), `OK: ${base.size} entries and ${base.checkpointSizes.length} checkpoints verified`);
      assert.equal(r.stderr, '');
    });

    for (const t of TAMPERINGS) {
      test(`${t.name}: log audit exits 1 and names the problem (and its first index where one exists)`, async () => {
        const copy = await copyOf(backend, base);
        await copy.raw((db) => t.tamper(db, base));
        const r = await audit(copy);
        assert.equal(r.code, 1, `exit ${r.code}: ${r.stdout}${r.stderr}`);
        const index = t.index(base);
        const at = index === undefined ? '' : ` at index ${index}`;
        assert.match(r.stderr.trim(), new RegExp(`^FAIL TAMPERED${esc(at)}: ${esc(t.message(base))}`));
        assert.equal(r.stdout, '');
      });
    }

    test('the forged log (entry changed, every hash recomputed) is internally consistent: only the checkpoints betray it', async () => {
      const k = base.apiFrom + 3;
      // Without its checkpoints the forgery passes the audit: the hashes alone cannot tell.
      const bare = await copyOf(backend, base);
      await bare.raw((db) => forgeEntry(db, base, k, true));
      const clean = await audit(bare);
      assert.equal(clean.code, 0, clean.stderr);
      assert.match(clean.stdout, new RegExp(`^OK: ${base.size} entries and 0 checkpoints verified`));

      // With them, the audit fails (as above), and the log refuses to sign the forged tree.
      const copy = await copyOf(backend, base);
      await copy.raw((db) => forgeEntry(db, base, k));
      const json = await audit(copy, true);
      assert.equal(json.code, 1);
      const report = JSON.parse(json.stdout) as { ok: boolean; problem: { index: string | null; message: string } };
      assert.equal(report.ok, false);
      assert.equal(report.problem.index, String(Math.max(0, ...base.checkpointSizes.filter((s) => s <= k))));
      const sign = await runCli(['log', 'checkpoint'], { env: copy.env });
      assert.equal(sign.code, 1, sign.stdout + sign.stderr);
      assert.match(sign.stderr, new RegExp(`FAIL INVARIANT_VIOLATION: refusing to sign: tree at size ${base.size} is not consistent with checkpoint ${base.checkpointSizes.at(-1)}`));
      const count = await copy.raw((db) => db.query<{ n: number | string }>('SELECT count(*) AS n FROM log_checkpoint'));
      assert.equal(Number(count[0]!.n), base.checkpointSizes.length, 'no checkpoint was signed for the forged tree');
    });
  });
}
