import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportPublicKeyPem } from '../../src/evidence/index.ts';
import { buildServer } from '../../src/server/index.ts';
import { openWarrant } from '../../src/intake/index.ts';
import { WARRANT_BIN, runCli } from '../helpers/cli.ts';
import { freshKey, signedBundle, tempDir } from '../helpers/evidence.ts';
import { writeFileSync } from 'node:fs';

describe('warrant serve', () => {
  const dir = tempDir();
  const key = freshKey();
  let base = '';
  let child: ReturnType<typeof spawn>;
  let exited: Promise<number | null>;

  before(async () => {
    writeFileSync(join(dir, 'k.pub'), exportPublicKeyPem(key));
    const env = { ...process.env, WARRANT_HOME: join(dir, 'home'), WARRANT_DB: '' };
    assert.equal((await runCli(['trust', 'add', join(dir, 'k.pub')], { env })).code, 0);
    child = spawn(process.execPath, [WARRANT_BIN, 'serve', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => child.on('close', resolve));
    base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /serving on (http:\/\/[^ ]+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('close', (code) => reject(new Error(`serve exited ${code}`)));
    });
  });

  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  test('/healthz and /readyz answer', async () => {
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { store: string }).store, 'sqlite');
  });

  test('POST /v1/evidence stores a trusted bundle once (201, then 200) and GET lists it', async () => {
    const body = JSON.stringify(signedBundle(key, '7'.repeat(64)));
    const post = () => fetch(`${base}/v1/evidence`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const first = await post();
    assert.equal(first.status, 201);
    assert.equal(((await first.json()) as { outcome: string }).outcome, 'stored');
    const second = await post();
    assert.equal(second.status, 200);
    assert.equal(((await second.json()) as { outcome: string }).outcome, 'duplicate');
    const list = (await (await fetch(`${base}/v1/evidence?subject=sha256:${'7'.repeat(64)}`)).json()) as { statements: unknown[] };
    assert.equal(list.statements.length, 1);
  });

  test('bad input: 400 malformed, 422 untrusted, 400 bad subject query', async () => {
    const junk = await fetch(`${base}/v1/evidence`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":' });
    assert.equal(junk.status, 400);
    assert.equal(((await junk.json()) as { code: string }).code, 'MALFORMED');
    const stranger = await fetch(`${base}/v1/evidence`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(signedBundle(freshKey())) });
    assert.equal(stranger.status, 422);
    assert.equal(((await stranger.json()) as { code: string }).code, 'KEY_UNKNOWN');
    assert.equal((await fetch(`${base}/v1/evidence?subject=nope`)).status, 400);
  });

  test('SIGTERM stops it cleanly', async () => {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

describe('server limits', () => {
  test('a body over the limit is refused with 413 LIMIT_EXCEEDED and stores nothing', async () => {
    const home = tempDir();
    const warrant = await openWarrant(home, { WARRANT_DB: '' });
    const app = buildServer({ warrant, bodyLimit: 1024 });
    const r = await app.inject({ method: 'POST', url: '/v1/evidence', headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(2048) });
    assert.equal(r.statusCode, 413);
    assert.equal(r.json<{ code: string }>().code, 'LIMIT_EXCEEDED');
    assert.equal(await warrant.store.countEvidence(), 0);
    assert.equal((await warrant.store.treeHead()).size, 0n);
    await app.close();
    await warrant.close();
  });
});
