import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportPublicKeyPem } from '../../src/evidence/index.ts';
import { signCheckpoint } from '../../src/ledger/checkpoint.ts';
import {
  FileMonitorState,
  LogMonitor,
  MonitorError,
  TilesClient,
  type MonitorResult,
} from '../../src/ledger/monitor.ts';
import { generateNoteKey, parseSignerKey, parseVerifierKey, type NoteSigner } from '../../src/ledger/note.ts';
import { runCli, WARRANT_BIN } from '../helpers/cli.ts';
import { freshKey, signedBundle, tempDir } from '../helpers/evidence.ts';

// Real data: test/fixtures/tlog-logs/logs.json (sources in its README.md). The
// tiles those logs would serve are rebuilt here from their published entries by
// the reference RFC 6962 code below, written from the RFC and tlog-tiles spec
// without the project's tree code; the checkpoints and keys are the logs' own.

interface FixtureLog {
  origin: string;
  vkey: string;
  publishedTestSkey?: string;
  entries?: string[];
  checkpoints: Record<string, string>;
}
const FIXTURES = JSON.parse(
  readFileSync(new URL('../fixtures/tlog-logs/logs.json', import.meta.url), 'utf8'),
) as { logs: Record<'tessera-posix-oneshot' | 'serverless-log' | 'go-sumdb' | 'rekor-v2-staging', FixtureLog> };

// Reference RFC 6962 (§2.1) and tlog-tiles layout.

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

const refLeafHash = (entry: Uint8Array) => sha256(Buffer.from([0]), entry);

/** MTH(D[lo:hi]) over leaf hashes, recursively, split at the largest power of two below n. */
function refMth(leaves: Buffer[], lo = 0, hi = leaves.length): Buffer {
  const n = hi - lo;
  if (n === 0) return sha256();
  if (n === 1) return leaves[lo]!;
  let k = 1;
  while (k * 2 < n) k *= 2;
  return sha256(Buffer.from([1]), refMth(leaves, lo, lo + k), refMth(leaves, lo + k, hi));
}

/** tile/<L>/<N>[.p/<W>]: N in 3-digit groups, all but the last prefixed with x. */
function refTilePath(level: number | 'entries', index: number, width: number): string {
  let n = String(index % 1000).padStart(3, '0');
  for (let rest = Math.floor(index / 1000); rest > 0; rest = Math.floor(rest / 1000)) n = `x${String(rest % 1000).padStart(3, '0')}/${n}`;
  return `tile/${level}/${n}${width < 256 ? `.p/${width}` : ''}`;
}

/** The partial tiles a tree of `size` has: width floor(size/256^L) mod 256 at each level L. */
function refPartialTiles(size: number): Set<string> {
  const out = new Set<string>();
  for (let span = 1, level = 0; Math.floor(size / span) > 0; span *= 256, level++) {
    const count = Math.floor(size / span);
    if (count % 256 !== 0) out.add(refTilePath(level, Math.floor(count / 256), count % 256));
  }
  return out;
}

function writeFile(dir: string, path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), data);
}

/**
 * Writes what a tlog-tiles log that published checkpoints at `sizes` serves:
 * full tiles and bundles up to the largest size, and the partial ones of every
 * size. Hash i of level L is MTH(D[i·256^L : (i+1)·256^L]).
 */
function writeTileTree(dir: string, entries: Buffer[], sizes: number[]): void {
  const leaves = entries.map(refLeafHash);
  const max = Math.max(...sizes);
  for (let span = 1, level = 0; Math.floor(max / span) > 0; span *= 256, level++) {
    const hashes = Array.from({ length: Math.floor(max / span) }, (_, i) => refMth(leaves, i * span, (i + 1) * span));
    for (const size of sizes) {
      const count = Math.floor(size / span);
      for (let t = 0; t * 256 < count; t++) {
        const width = Math.min(256, count - t * 256);
        writeFile(dir, refTilePath(level, t, width), Buffer.concat(hashes.slice(t * 256, t * 256 + width)));
        if (level === 0) {
          const bundle = entries.slice(t * 256, t * 256 + width).flatMap((e) => [Buffer.from([e.length >> 8, e.length & 0xff]), e]);
          writeFile(dir, refTilePath('entries', t, width), Buffer.concat(bundle));
        }
      }
    }
  }
}

// Static file server over a directory, recording what is asked of it.

interface StaticServer {
  url: string;
  /** Paths requested, relative to the prefix. */
  requests: string[];
  /** Per-path answers that replace the file: a body, a status, or no answer at all. */
  override: Map<string, Buffer | number | 'hang'>;
  /** The directory served; may be switched, as a log switching views would. */
  dir: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function serveDir(dir: string): Promise<StaticServer> {
  const requests: string[] = [];
  const override = new Map<string, Buffer | number | 'hang'>();
  const served = { dir };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/+/, '');
    requests.push(path);
    const o = override.get(path);
    if (o === 'hang') return;
    if (typeof o === 'number') return void res.writeHead(o).end();
    if (o !== undefined) return void res.writeHead(200).end(o);
    if (path.split('/').includes('..')) return void res.writeHead(404).end();
    readFile(join(served.dir, path)).then(
      (body) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    override,
    get dir() {
      return served.dir;
    },
    set dir(d: string) {
      served.dir = d;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A hand-built log: its directory, and a signed checkpoint per published size. */
interface HandLog {
  dir: string;
  notes: Map<number, string>;
}

function entriesOf(n: number, tweak?: (i: number) => string | undefined): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.from(tweak?.(i) ?? `entry ${i}`));
}

function buildLog(entries: Buffer[], sizes: number[], signer: NoteSigner, origin: string): HandLog {
  const dir = tempDir('warrant-tiles-');
  writeTileTree(dir, entries, sizes);
  const leaves = entries.map(refLeafHash);
  const notes = new Map<number, string>();
  for (const size of sizes) {
    notes.set(size, signCheckpoint({ origin, size: BigInt(size), rootHash: refMth(leaves, 0, size), extensions: [] }, signer));
  }
  return { dir, notes };
}

function monitorAt(url: string, origin: string, vkey: string, stateDir: string, timeoutMs?: number) {
  const client = new TilesClient(url, timeoutMs === undefined ? {} : { timeoutMs });
  const state = new FileMonitorState(stateDir, origin);
  return { client, state, monitor: new LogMonitor({ client, verifier: parseVerifierKey(vkey), origin, state }) };
}

function assertOutcome(r: MonitorResult, outcome: MonitorResult['outcome'], code?: MonitorResult['code']): void {
  assert.equal(r.outcome, outcome, `${r.code}: ${r.message}`);
  if (code !== undefined) assert.equal(r.code, code, r.message);
}

function stateNote(state: FileMonitorState): string {
  return readFileSync(state.location, 'utf8');
}

describe('log monitor: hand-built tiles log, spec layout', () => {
  const origin = 'example.com/hand-built';
  const key = generateNoteKey(origin);
  const signer = parseSignerKey(key.skey);
  const SIZES = [5, 256, 300, 65536, 70000, 70200];
  let honest: HandLog;
  let forked: HandLog;
  let server: StaticServer;
  let forkServer: StaticServer;

  before(async () => {
    honest = buildLog(entriesOf(70200), SIZES, signer, origin);
    // The same log, except entry 100: a split view signed by the same key.
    forked = buildLog(entriesOf(70000, (i) => (i === 100 ? 'entry 100, rewritten' : undefined)), [300, 70000], signer, origin);
    server = await serveDir(honest.dir);
    forkServer = await serveDir(forked.dir);
  });
  after(async () => {
    await server.close();
    await forkServer.close();
  });

  const serving = (s: StaticServer, note: string) => s.override.set('checkpoint', Buffer.from(note));

  test('the layout is the spec example: size 70,000 has 273 full level-0 tiles, .p/112, one full level-1 tile, .p/17, level-2 .p/1', () => {
    assert.deepEqual([...refPartialTiles(70000)], ['tile/0/273.p/112', 'tile/1/001.p/17', 'tile/2/000.p/1']);
    assert.equal(readFileSync(join(honest.dir, 'tile/0/272')).length, 8192);
    assert.equal(readFileSync(join(honest.dir, 'tile/1/000')).length, 8192);
  });

  test('follows the log through every published size; only partial tiles the checkpoint implies are fetched', async () => {
    const { monitor, state } = monitorAt(server.url, origin, key.vkey, tempDir());
    let previous: bigint | undefined;
    for (const size of SIZES) {
      serving(server, honest.notes.get(size)!);
      server.requests.length = 0;
      const r = await monitor.check();
      assertOutcome(r, 'ok', 'OK');
      assert.equal(r.size, BigInt(size));
      assert.equal(r.previousSize, previous);
      assert.equal(stateNote(state), honest.notes.get(size));
      const implied = refPartialTiles(size);
      for (const path of server.requests.filter((p) => p.includes('.p/'))) assert.ok(implied.has(path), `${path} at size ${size}`);
      previous = BigInt(size);
    }
  });

  test('the root of size 70,000 comes from exactly the three tiles of its compact range; a second look is served from cache', async () => {
    const { monitor } = monitorAt(server.url, origin, key.vkey, tempDir());
    serving(server, honest.notes.get(70000)!);
    server.requests.length = 0;
    assertOutcome(await monitor.check(), 'ok');
    assert.deepEqual(server.requests.slice().sort(), ['checkpoint', 'tile/0/273.p/112', 'tile/1/001.p/17', 'tile/2/000.p/1']);
    server.requests.length = 0;
    assertOutcome(await monitor.check(), 'ok');
    assert.deepEqual(server.requests, ['checkpoint']);
  });

  test('a deleted partial tile is read from the full tile that replaced it', async () => {
    const { monitor } = monitorAt(server.url, origin, key.vkey, tempDir());
    serving(server, honest.notes.get(70000)!);
    server.override.set('tile/0/273.p/112', 404);
    server.requests.length = 0;
    try {
      assertOutcome(await monitor.check(), 'ok');
      assert.ok(server.requests.includes('tile/0/273.p/112') && server.requests.includes('tile/0/273'));
    } finally {
      server.override.delete('tile/0/273.p/112');
    }
  });

  test('tiles that do not hash to the signed root: ROOT_MISMATCH; a tile of the wrong length: TILE_INVALID; state untouched', async () => {
    const { monitor, state } = monitorAt(server.url, origin, key.vkey, tempDir());
    serving(server, honest.notes.get(300)!);
    assertOutcome(await monitor.check(), 'ok');
    serving(server, honest.notes.get(70000)!);
    const tile = readFileSync(join(honest.dir, 'tile/0/273.p/112'));
    const flipped = Buffer.from(tile);
    flipped[100]! ^= 1;
    try {
      server.override.set('tile/0/273.p/112', flipped);
      assertOutcome(await monitor.check(), 'invalid', 'ROOT_MISMATCH');
      server.override.set('tile/0/273.p/112', tile.subarray(0, tile.length - 1));
      assertOutcome(await monitor.check(), 'invalid', 'TILE_INVALID');
      server.override.set('tile/0/273.p/112', Buffer.concat([tile, Buffer.alloc(32)]));
      assertOutcome(await monitor.check(), 'invalid', 'TILE_INVALID');
    } finally {
      server.override.delete('tile/0/273.p/112');
    }
    assert.equal(stateNote(state), honest.notes.get(300));
  });

  test('bad tiles under the consistency proof are TILES_INCONSISTENT, never a fork', async () => {
    const { monitor, state } = monitorAt(server.url, origin, key.vkey, tempDir());
    serving(server, honest.notes.get(300)!);
    assertOutcome(await monitor.check(), 'ok');
    // Leaf 300 sits in the full tile 0/001 of the big tree; its root plan does not read that tile.
    const tile = readFileSync(join(honest.dir, 'tile/0/001'));
    const bad = Buffer.from(tile);
    bad[44 * 32]! ^= 1;
    serving(server, honest.notes.get(70000)!);
    server.override.set('tile/0/001', bad);
    try {
      const r = await monitor.check();
      assertOutcome(r, 'invalid', 'TILES_INCONSISTENT');
      assert.equal(r.evidence, undefined);
    } finally {
      server.override.delete('tile/0/001');
    }
    assert.equal(stateNote(state), honest.notes.get(300));
    assertOutcome(await monitor.check(), 'ok');
  });

  test('a signed tree that does not extend the verified one is a FORK, with both notes as evidence', async () => {
    const stateDir = tempDir();
    const first = monitorAt(server.url, origin, key.vkey, stateDir);
    serving(server, honest.notes.get(300)!);
    assertOutcome(await first.monitor.check(), 'ok');
    const second = monitorAt(forkServer.url, origin, key.vkey, stateDir);
    serving(forkServer, forked.notes.get(70000)!);
    const grown = await second.monitor.check();
    assertOutcome(grown, 'fork', 'FORK');
    assert.deepEqual(grown.evidence, { old: honest.notes.get(300), new: forked.notes.get(70000) });
    assert.equal(grown.previousSize, 300n);
    // From a power-of-two size the proof omits the old tree's root, which the verifier supplies.
    const fromPowerOfTwo = monitorAt(server.url, origin, key.vkey, tempDir());
    serving(server, honest.notes.get(256)!);
    assertOutcome(await fromPowerOfTwo.monitor.check(), 'ok');
    const third = monitorAt(forkServer.url, origin, key.vkey, dirname(fromPowerOfTwo.state.location));
    serving(forkServer, forked.notes.get(70000)!);
    assertOutcome(await third.monitor.check(), 'fork', 'FORK');
    serving(forkServer, forked.notes.get(300)!);
    const same = await second.monitor.check();
    assertOutcome(same, 'fork', 'FORK');
    assert.match(same.message, /two different trees of size 300/);
    assert.equal(stateNote(second.state), honest.notes.get(300));
  });

  test('a verdict is never drawn from cached tiles: a log switching views under one URL is a FORK, not a ROOT_MISMATCH', async () => {
    const view = await serveDir(honest.dir);
    try {
      const { monitor, client } = monitorAt(view.url, origin, key.vkey, tempDir());
      serving(view, honest.notes.get(300)!);
      assertOutcome(await monitor.check(), 'ok');
      // Tiles of the honest size-70,000 tree, as an earlier round could have left them.
      await client.nodeFetcher(70000n)([{ level: 16, index: 0n }, { level: 12, index: 16n }, { level: 6, index: 1092n }]);
      assert.equal(client.cachedTiles, 5, 'two tiles of size 300, three of size 70,000');
      view.dir = forked.dir;
      serving(view, forked.notes.get(70000)!);
      assertOutcome(await monitor.check(), 'fork', 'FORK');
    } finally {
      await view.close();
    }
  });

  test('an older signed checkpoint is a ROLLBACK, decided without a tile', async () => {
    const { monitor } = monitorAt(server.url, origin, key.vkey, tempDir());
    serving(server, honest.notes.get(300)!);
    assertOutcome(await monitor.check(), 'ok');
    serving(server, honest.notes.get(256)!);
    server.requests.length = 0;
    const r = await monitor.check();
    assertOutcome(r, 'rollback', 'ROLLBACK');
    assert.deepEqual(r.evidence, { old: honest.notes.get(300), new: honest.notes.get(256) });
    assert.deepEqual(server.requests, ['checkpoint']);
  });

  test('network trouble is UNAVAILABLE, never a verdict: timeout, HTTP 500, missing tile', async () => {
    const { monitor } = monitorAt(server.url, origin, key.vkey, tempDir(), 300);
    server.override.set('checkpoint', 'hang');
    const hung = await monitor.check();
    assertOutcome(hung, 'unavailable', 'UNAVAILABLE');
    assert.match(hung.message, /timed out after 300 ms/);
    server.override.set('checkpoint', 500);
    assertOutcome(await monitor.check(), 'unavailable');
    serving(server, honest.notes.get(300)!);
    server.override.set('tile/0/001.p/44', 'hang');
    assertOutcome(await monitor.check(), 'unavailable');
    server.override.set('tile/0/001.p/44', 404);
    server.override.set('tile/0/001', 404);
    const missing = await monitor.check();
    assertOutcome(missing, 'unavailable');
    assert.equal(missing.size, 300n);
    server.override.delete('tile/0/001.p/44');
    server.override.delete('tile/0/001');
  });

  test('checkpoint over 1 MiB, wrong origin, another key, a state file that is not a checkpoint', async () => {
    const { monitor } = monitorAt(server.url, origin, key.vkey, tempDir());
    server.override.set('checkpoint', Buffer.alloc(1024 * 1024 + 1, 'a'));
    assertOutcome(await monitor.check(), 'invalid', 'RESPONSE_TOO_LARGE');
    serving(server, honest.notes.get(300)!);
    assertOutcome(await monitorAt(server.url, 'example.com/other', key.vkey, tempDir()).monitor.check(), 'invalid', 'CHECKPOINT_INVALID');
    const other = generateNoteKey(origin).vkey;
    assertOutcome(await monitorAt(server.url, origin, other, tempDir()).monitor.check(), 'invalid', 'CHECKPOINT_INVALID');
    const stateDir = tempDir();
    writeFileSync(new FileMonitorState(stateDir, origin).location, 'not a checkpoint\n');
    await assert.rejects(monitorAt(server.url, origin, key.vkey, stateDir).monitor.check(), (e: unknown) => e instanceof MonitorError && e.code === 'STATE_INVALID');
  });

  test('state is one file per origin, named by its hex SHA-256', () => {
    const s = new FileMonitorState('/x', 'example.com/log');
    assert.equal(s.location, join('/x', createHash('sha256').update('example.com/log').digest('hex')));
  });
});

describe('log monitor: real logs', () => {
  test('Tessera (posix-oneshot): every real checkpoint 8..15 verifies against the rebuilt tiles; the real 8 after 15 is a ROLLBACK', async () => {
    const log = FIXTURES.logs['tessera-posix-oneshot'];
    const entries = log.entries!.map((e) => Buffer.from(e));
    const sizes = Object.keys(log.checkpoints).map(Number);
    const dir = tempDir('warrant-tessera-');
    writeTileTree(dir, entries, sizes);
    const server = await serveDir(dir);
    try {
      const { monitor, state } = monitorAt(server.url, log.origin, log.vkey, tempDir());
      for (const size of sizes) {
        server.override.set('checkpoint', Buffer.from(log.checkpoints[size]!));
        server.requests.length = 0;
        const r = await monitor.check();
        assertOutcome(r, 'ok');
        assert.equal(r.size, BigInt(size));
        assert.ok(server.requests.includes(`tile/0/000.p/${size}`));
      }
      assert.equal(stateNote(state), log.checkpoints['15']);
      server.override.set('checkpoint', Buffer.from(log.checkpoints['8']!));
      const back = await monitor.check();
      assertOutcome(back, 'rollback');
      assert.deepEqual(back.evidence, { old: log.checkpoints['15'], new: log.checkpoints['8'] });
    } finally {
      await server.close();
    }
  });

  test('Tessera: a tampered real checkpoint is refused; a split view signed with the published test key is a FORK', async () => {
    const log = FIXTURES.logs['tessera-posix-oneshot'];
    const dir = tempDir('warrant-tessera-');
    writeTileTree(dir, log.entries!.map((e) => Buffer.from(e)), [12, 15]);
    const server = await serveDir(dir);
    try {
      const stateDir = tempDir();
      const { monitor } = monitorAt(server.url, log.origin, log.vkey, stateDir);
      const real = log.checkpoints['12']!;
      server.override.set('checkpoint', Buffer.from(real));
      const tile = readFileSync(join(dir, 'tile/0/000.p/12'));
      server.override.set('tile/0/000.p/12', Buffer.concat([tile.subarray(0, 32 * 11), refLeafHash(Buffer.from('thirteen'))]));
      assertOutcome(await monitorAt(server.url, log.origin, log.vkey, tempDir()).monitor.check(), 'invalid', 'ROOT_MISMATCH');
      server.override.delete('tile/0/000.p/12');
      server.override.set('checkpoint', Buffer.from(real.replace('\n12\n', '\n13\n')));
      assertOutcome(await monitor.check(), 'invalid', 'CHECKPOINT_INVALID');
      server.override.set('checkpoint', Buffer.from(real));
      assertOutcome(await monitor.check(), 'ok');

      // Entry 3 rewritten, everything re-signed with the log's key: only consistency can tell.
      const split = log.entries!.map((e, i) => Buffer.from(i === 3 ? 'FOUR' : e));
      const forkDir = tempDir('warrant-tessera-fork-');
      writeTileTree(forkDir, split, [15]);
      const signer = parseSignerKey(log.publishedTestSkey!);
      const forkNote = signCheckpoint({ origin: log.origin, size: 15n, rootHash: refMth(split.map(refLeafHash)), extensions: [] }, signer);
      const forkServer = await serveDir(forkDir);
      try {
        forkServer.override.set('checkpoint', Buffer.from(forkNote));
        const { monitor: m2 } = monitorAt(forkServer.url, log.origin, log.vkey, stateDir);
        const r = await m2.check();
        assertOutcome(r, 'fork', 'FORK');
        assert.deepEqual(r.evidence, { old: real, new: forkNote });
      } finally {
        await forkServer.close();
      }
    } finally {
      await server.close();
    }
  });

  test('serverless-log: every real checkpoint 0..15 (origin is not the key name) verifies, from the empty tree up', async () => {
    const log = FIXTURES.logs['serverless-log'];
    const sizes = Object.keys(log.checkpoints).map(Number).sort((a, b) => a - b);
    assert.equal(sizes[0], 0);
    const dir = tempDir('warrant-serverless-');
    writeTileTree(dir, log.entries!.map((e) => Buffer.from(e)), sizes.filter((s) => s > 0));
    const server = await serveDir(dir);
    try {
      const { monitor } = monitorAt(server.url, log.origin, log.vkey, tempDir());
      for (const size of sizes) {
        server.override.set('checkpoint', Buffer.from(log.checkpoints[size]!));
        const r = await monitor.check();
        assertOutcome(r, 'ok');
        assert.equal(r.size, BigInt(size));
      }
      const byKeyName = monitorAt(server.url, 'astra', log.vkey, tempDir());
      assertOutcome(await byKeyName.monitor.check(), 'invalid', 'CHECKPOINT_INVALID');
    } finally {
      await server.close();
    }
  });

  test('sum.golang.org: the real signed tree head opens with the real key (its tiles are not tlog-tiles, so: UNAVAILABLE); tampered: refused', async () => {
    const log = FIXTURES.logs['go-sumdb'];
    const server = await serveDir(tempDir());
    try {
      const note = log.checkpoints['31700353']!;
      server.override.set('checkpoint', Buffer.from(note));
      const { monitor, state } = monitorAt(server.url, log.origin, log.vkey, tempDir());
      const r = await monitor.check();
      assertOutcome(r, 'unavailable');
      assert.equal(r.size, 31700353n);
      assert.match(r.message, /tile\/.*HTTP 404/);
      await assert.rejects(readFile(state.location), { code: 'ENOENT' });
      server.override.set('checkpoint', Buffer.from(note.replace('31700353', '31700354')));
      assertOutcome(await monitor.check(), 'invalid', 'CHECKPOINT_INVALID');
    } finally {
      await server.close();
    }
  });

  test('Rekor v2 (staging): the real checkpoint of size 646 after the real one of size 7132 is a ROLLBACK; tampered: refused', async () => {
    const log = FIXTURES.logs['rekor-v2-staging'];
    const server = await serveDir(tempDir());
    try {
      const { monitor, state } = monitorAt(server.url, log.origin, log.vkey, tempDir());
      server.override.set('checkpoint', Buffer.from(log.checkpoints['7132']!));
      const first = await monitor.check();
      assertOutcome(first, 'unavailable');
      assert.equal(first.size, 7132n);
      // The log is beyond what this test can rebuild, so the later checkpoint is taken as verified state.
      await state.save(log.checkpoints['7132']!);
      server.override.set('checkpoint', Buffer.from(log.checkpoints['646']!));
      const r = await monitor.check();
      assertOutcome(r, 'rollback');
      assert.deepEqual(r.evidence, { old: log.checkpoints['7132'], new: log.checkpoints['646'] });
      server.override.set('checkpoint', Buffer.from(log.checkpoints['646']!.replace('kNum4', 'kNum5')));
      assertOutcome(await monitor.check(), 'invalid', 'CHECKPOINT_INVALID');
    } finally {
      await server.close();
    }
  });
});

// warrant's own log, served by `warrant serve`, watched by `warrant log monitor` as any tiles log.

interface Served {
  base: string;
  env: NodeJS.ProcessEnv;
  /** Posts n evidence bundles with subjects derived from tag. */
  add(n: number, tag: string): Promise<void>;
  stop(): Promise<void>;
}

async function startServe(home: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Served> {
  const key = freshKey();
  const pub = join(home, 'k.pub');
  mkdirSync(home, { recursive: true });
  writeFileSync(pub, exportPublicKeyPem(key));
  const env = { ...process.env, WARRANT_HOME: join(home, 'home'), WARRANT_DB: '', ...extraEnv };
  const trusted = await runCli(['trust', 'add', pub], { env });
  assert.equal(trusted.code, 0, trusted.stderr);
  const child = spawn(process.execPath, [WARRANT_BIN, 'serve', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving on (http:\/\/[^ ]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('close', (code) => reject(new Error(`serve exited ${code}`)));
  });
  const served: Served = {
    base,
    env,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await closed;
    },
    add: async (n, tag) => {
      for (let i = 0; i < n; i++) {
        const digest = createHash('sha256').update(`${tag} ${i}`).digest('hex');
        const r = await fetch(`${base}/v1/evidence`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(signedBundle(key, digest)),
        });
        assert.equal(r.status, 201, await r.text());
      }
    },
  };
  return served;
}

/** The served checkpoint, once it covers at least `size` entries (checkpoints follow appends within a second). */
async function checkpointOfAtLeast(base: string, size: bigint): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const note = await (await fetch(`${base}/v1/log/checkpoint`)).text();
    if (BigInt(note.split('\n')[1]!) >= size) return note;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no checkpoint of size ${size} at ${base}`);
}

const sizeOf = (note: string) => BigInt(note.split('\n')[1]!);

describe('warrant log monitor against warrant serve', () => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  let first: Served;
  let vkey = '';
  let origin = '';
  const monitor = (url: string, extra: string[] = [], key = vkey, state = stateDir) =>
    runCli(['log', 'monitor', '--once', '--url', url, '--origin', origin, '--vkey', key, '--state', state, ...extra]);

  before(async () => {
    first = await startServe(join(dir, 'a'));
    const v = await runCli(['log', 'vkey'], { env: first.env });
    assert.equal(v.code, 0, v.stderr);
    vkey = v.stdout.trim();
    origin = vkey.split('+')[0]!;
  });
  after(async () => {
    await first.stop();
  });

  let oldNote = '';

  test('--once: exit 0, then the log grows and the state follows it', async () => {
    await first.add(1, 'first');
    oldNote = await checkpointOfAtLeast(first.base, 1n);
    const r = await monitor(`${first.base}/v1/log`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^OK: .* at size \d+, root .* \(first check: trusted on first use\)\n$/);
    const state = new FileMonitorState(stateDir, origin);
    const seen = sizeOf(stateNote(state));
    assert.ok(seen >= sizeOf(oldNote));
    oldNote = stateNote(state);

    await first.add(3, 'more');
    const newer = await checkpointOfAtLeast(first.base, seen + 3n);
    const again = await monitor(`${first.base}/v1/log/`);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`consistent with size ${seen}\\)`));
    assert.ok(sizeOf(stateNote(state)) >= sizeOf(newer));
  });

  test('a log serving a checkpoint older than the state: exit 1, SECURITY ERROR: ROLLBACK with both notes', async () => {
    const staticDir = tempDir();
    writeFileSync(join(staticDir, 'checkpoint'), oldNote);
    const stale = await serveDir(staticDir);
    try {
      const r = await monitor(stale.url);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^SECURITY ERROR: ROLLBACK: /);
      assert.ok(r.stderr.includes(oldNote), 'the new (stale) note is printed exactly');
      assert.ok(r.stderr.includes(stateNote(new FileMonitorState(stateDir, origin))), 'the verified note is printed exactly');
      // Polling stops at the first rollback, with the same report.
      const polled = await runCli(['log', 'monitor', '--interval', '0.2', '--url', stale.url, '--origin', origin, '--vkey', vkey, '--state', stateDir]);
      assert.equal(polled.code, 1);
      assert.match(polled.stderr, /^SECURITY ERROR: ROLLBACK/);
    } finally {
      await stale.close();
    }
  });

  test('a second log signing with the same key and different entries: exit 1, SECURITY ERROR: FORK', async () => {
    const state = new FileMonitorState(stateDir, origin);
    const verified = stateNote(state);
    const second = await startServe(join(dir, 'b'), { WARRANT_LOG_KEY: join(dir, 'a', 'home', 'log', 'log.skey') });
    try {
      await second.add(Number(sizeOf(verified)) + 2, 'second');
      const forkNote = await checkpointOfAtLeast(second.base, sizeOf(verified) + 1n);
      assert.equal(forkNote.split('\n')[0], origin);
      const r = await monitor(`${second.base}/v1/log`);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /^SECURITY ERROR: FORK: /);
      assert.ok(r.stderr.includes(verified));
      assert.match(r.stderr, /new checkpoint \(size \d+, from http:\/\/127\.0\.0\.1:\d+\/v1\/log\/checkpoint\):\n/);
      assert.equal(stateNote(state), verified, 'a fork never moves the state');
    } finally {
      await second.stop();
    }
  });

  test('polling prints one line per check and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [WARRANT_BIN, 'log', 'monitor', '--interval', '0.2', '--url', `${first.base}/v1/log`, '--origin', origin, '--vkey', vkey, '--state', stateDir],
      { env: { ...process.env, WARRANT_DB: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const code = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').filter((l) => l.startsWith('OK: ')).length >= 2) resolve();
      });
    });
    child.kill('SIGTERM');
    assert.equal(await code, 0);
  });

  test('wrong key: exit 1; unreachable: exit 3; malformed vkey or arguments: exit 2', async () => {
    const stranger = generateNoteKey(origin).vkey;
    const wrongKey = await monitor(`${first.base}/v1/log`, [], stranger, tempDir());
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /^FAIL CHECKPOINT_INVALID: /);
    // State verified under one key cannot be read under another: a configuration error.
    const wrongState = await monitor(`${first.base}/v1/log`, [], stranger);
    assert.equal(wrongState.code, 2);
    assert.match(wrongState.stderr, /STATE_INVALID: state .* is not a checkpoint of/);

    const closed = createServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const down = await monitor(`http://127.0.0.1:${port}/v1/log`);
    assert.equal(down.code, 3, down.stderr);
    assert.match(down.stderr, /^UNAVAILABLE: GET http:\/\/127\.0\.0\.1:\d+\/v1\/log\/checkpoint: ECONNREFUSED/);

    const malformed = await monitor(`${first.base}/v1/log`, [], vkey.replace(/\+[^+]*$/, '+AAAA'));
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /--vkey: /);
    assert.equal((await monitor(`${first.base}/v1/log`, ['--interval', '5'])).code, 2);
    assert.equal((await monitor('ftp://example.com/log')).code, 2);
    assert.equal((await runCli(['log', 'monitor', '--once', '--url', first.base])).code, 2);
  });
});
