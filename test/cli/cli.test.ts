import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { before, describe, test } from 'node:test';
import { runCli, WARRANT_BIN } from '../helpers/cli.ts';
import { tempDir } from '../helpers/evidence.ts';

const PT = 'https://example.com/predicate/cli/v1';

describe('warrant CLI: keys, attest, verify', () => {
  const dir = tempDir();
  const env = { WARRANT_HOME: join(dir, 'home') };
  const artifact = join(dir, 'app.tar');
  const bundle = join(dir, 'app.bundle.json');
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { env: { ...env, ...extra }, cwd: dir });

  before(async () => {
    writeFileSync(artifact, 'the artifact\n');
    const r = await cli(['keygen', '--out', join(dir, 'k')]);
    assert.equal(r.code, 0, r.stderr);
  });

  test('keygen writes a 0600 private key and a public key, and prints the key id', async () => {
    assert.equal(statSync(join(dir, 'k', 'warrant.key')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(dir, 'k', 'warrant.pub'), 'utf8'), /BEGIN PUBLIC KEY/);
    const again = await cli(['keygen', '--out', join(dir, 'k')]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists; pass --force/);
  });

  test('keygen refuses an unknown algorithm', async () => {
    const r = await cli(['keygen', '--alg', 'rsa', '--out', join(dir, 'rsa')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--alg must be one of ed25519, ecdsa-p256/);
  });

  test('attest, then verify: exit 0, and --json carries ok, code, message, signer, statement', async () => {
    const a = await cli(['attest', '--key', join(dir, 'k', 'warrant.key'), '--predicate-type', PT, '--subject', artifact,
      '--subject-digest', 'registry.example/app@sha256:' + '1'.repeat(64), '--out', bundle]);
    assert.equal(a.code, 0, a.stderr);
    const v = await cli(['verify', '--bundle', bundle, '--key', join(dir, 'k', 'warrant.pub'), '--artifact', artifact, '--predicate-type', PT, '--json']);
    assert.equal(v.code, 0, v.stderr);
    const out = JSON.parse(v.stdout) as Record<string, unknown> & { statement: { subject: { name: string }[] } };
    assert.deepEqual(Object.keys(out), ['ok', 'code', 'message', 'signer', 'statement']);
    assert.equal(out.ok, true);
    assert.deepEqual(out.statement.subject.map((s) => s.name), ['app.tar', 'registry.example/app']);
  });

  test('verify exit 1 with the code: wrong artifact, wrong predicate type, untrusted key', async () => {
    const other = join(dir, 'other');
    writeFileSync(other, 'not the artifact');
    const wrongArtifact = await cli(['verify', '--bundle', bundle, '--key', join(dir, 'k', 'warrant.pub'), '--artifact', other]);
    assert.equal(wrongArtifact.code, 1);
    assert.match(wrongArtifact.stderr, /FAIL SUBJECT_MISMATCH/);
    const wrongType = await cli(['verify', '--bundle', bundle, '--key', join(dir, 'k', 'warrant.pub'), '--predicate-type', 'https://slsa.dev/provenance/v1', '--json']);
    assert.equal(wrongType.code, 1);
    assert.equal((JSON.parse(wrongType.stdout) as { code: string }).code, 'PREDICATE_TYPE_MISMATCH');
    await cli(['keygen', '--alg', 'ecdsa-p256', '--out', join(dir, 'k2')]);
    const untrusted = await cli(['verify', '--bundle', bundle, '--key', join(dir, 'k2', 'warrant.pub')]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /KEY_UNKNOWN/);
  });

  test('verify exit 2: unreadable, malformed, a 100 MB file', async () => {
    const missing = await cli(['verify', '--bundle', join(dir, 'nope.json'), '--key', join(dir, 'k', 'warrant.pub')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read bundle .*ENOENT/);
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, '{"mediaType":');
    const malformed = await cli(['verify', '--bundle', junk, '--key', join(dir, 'k', 'warrant.pub')]);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /MALFORMED: bundle is not valid JSON/);
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, '');
    truncateSync(huge, 100 * 1024 * 1024);
    const big = await cli(['verify', '--bundle', huge, '--key', join(dir, 'k', 'warrant.pub')]);
    assert.equal(big.code, 2);
    assert.match(big.stderr, /LIMIT_EXCEEDED/);
    const noKey = await cli(['verify', '--bundle', bundle], { WARRANT_HOME: join(dir, 'empty-home') });
    assert.equal(noKey.code, 2);
  });

  test('attest rejects bad input with exit 2 and writes nothing', async () => {
    const out = join(dir, 'bad.bundle.json');
    const key = join(dir, 'k', 'warrant.key');
    const cases: [string[], RegExp][] = [
      [['--predicate-type', PT, '--subject-digest', 'app@sha256:XYZ'], /must be|is not a digest/],
      [['--subject', artifact], /--predicate-type/],
      [['--predicate-type', 'not a uri', '--subject', artifact], /predicateType must be a URI/],
      [['--predicate-type', PT], /at least one --subject/],
      [['--predicate-type', PT, '--subject', join(dir, 'missing')], /cannot read subject/],
    ];
    const notObject = join(dir, 'pred.json');
    writeFileSync(notObject, '[1,2]');
    cases.push([['--predicate-type', PT, '--subject', artifact, '--predicate', notObject], /must be a JSON object/]);
    for (const [args, message] of cases) {
      const r = await cli(['attest', '--key', key, ...args, '--out', out]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(existsSync(out), false);
    }
  });

  test('an encrypted key needs its passphrase', async () => {
    const k = join(dir, 'enc');
    assert.equal((await cli(['keygen', '--out', k], { WARRANT_KEY_PASSPHRASE: 's3cret' })).code, 0);
    assert.match(readFileSync(join(k, 'warrant.key'), 'utf8'), /ENCRYPTED PRIVATE KEY/);
    const args = ['attest', '--key', join(k, 'warrant.key'), '--predicate-type', PT, '--subject', artifact];
    const none = await cli(args);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /KEY_PASSPHRASE_REQUIRED/);
    assert.match((await cli(args, { WARRANT_KEY_PASSPHRASE: 'nope' })).stderr, /KEY_PASSPHRASE_WRONG/);
    const pf = join(dir, 'pass');
    writeFileSync(pf, 's3cret\n');
    const ok = await cli([...args, '--passphrase-file', pf]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /"dsseEnvelope"/);
  });

  test('digest prints sha256 like sha256sum', async () => {
    const r = await cli(['digest', artifact]);
    assert.equal(r.code, 0);
    const expected = execFileSync('sha256sum', [artifact]).toString().split(' ')[0];
    assert.equal(r.stdout.split(' ')[0], `sha256:${expected}`);
  });

  test('help, unknown commands and unknown flags', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /warrant verify --bundle/);
    assert.equal((await cli(['frobnicate'])).code, 2);
    const flag = await cli(['verify', '--bundel', 'x']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Unknown option '--bundel'/);
  });
});

describe('warrant on an old Node', () => {
  const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => {
    if (!existsSync(p)) return false;
    return Number(execFileSync(p, ['-p', 'process.versions.node.split(".")[0]']).toString()) < 24;
  });
  test('refuses with one line saying how to run it', { skip: systemNode ? false : 'no Node older than 24 on this machine' }, () => {
    return new Promise<void>((resolve, reject) => {
      const child = spawn(systemNode!, [WARRANT_BIN, '--help']);
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (code) => {
        try {
          assert.equal(code, 2);
          assert.match(err, /^warrant needs Node\.js 24 or newer \(this is \d+\.[\d.]+\); run it as 'npx warrant'/);
          assert.equal(err.trim().split('\n').length, 1);
          resolve();
        } catch (e) {
          reject(e as Error);
        }
      });
    });
  });
});

describe('warrant evidence: add and list', () => {
  const dir = tempDir();
  const env = { WARRANT_HOME: join(dir, 'home') };
  const cli = (args: string[]) => runCli(args, { env, cwd: dir });
  const artifact = join(dir, 'svc.bin');
  const bundle = join(dir, 'svc.bundle.json');
  let subject = '';

  before(async () => {
    writeFileSync(artifact, 'service binary\n');
    subject = 'sha256:' + execFileSync('sha256sum', [artifact]).toString().split(' ')[0];
    assert.equal((await cli(['keygen', '--out', join(dir, 'k')])).code, 0);
    assert.equal((await cli(['attest', '--key', join(dir, 'k', 'warrant.key'), '--predicate-type', PT, '--subject', artifact, '--out', bundle])).code, 0);
  });

  test('without trusted keys, add is a usage error that stores nothing', async () => {
    const r = await cli(['evidence', 'add', bundle]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no trusted keys/);
  });

  test('add stores once; a replay is reported as already present and changes nothing', async () => {
    assert.equal((await cli(['trust', 'add', join(dir, 'k', 'warrant.pub')])).code, 0);
    const first = await cli(['evidence', 'add', bundle]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /: stored sha256:[0-9a-f]{64}/);
    const second = await cli(['evidence', 'add', bundle]);
    assert.equal(second.code, 0);
    assert.match(second.stdout, /already present/);
    const list = await cli(['evidence', 'list', '--subject', subject, '--json']);
    const rows = JSON.parse(list.stdout) as { predicateType: string; bundle: { mediaType: string } }[];
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.predicateType, PT);
    assert.equal(rows[0]!.bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
  });

  test('tampered and malformed bundles are rejected with their code and store nothing', async () => {
    const good = JSON.parse(readFileSync(bundle, 'utf8')) as { dsseEnvelope: { payload: string; payloadType: string } };
    const statement = JSON.parse(Buffer.from(good.dsseEnvelope.payload, 'base64').toString()) as Record<string, unknown>;
    const variants: [string, unknown, number, string][] = [
      ['payload', { ...good, dsseEnvelope: { ...good.dsseEnvelope, payload: Buffer.from(JSON.stringify({ ...statement, predicate: { x: 1 } })).toString('base64') } }, 1, 'SIGNATURE_INVALID'],
      ['type', { ...good, dsseEnvelope: { ...good.dsseEnvelope, payloadType: 'application/json' } }, 1, 'PAYLOAD_TYPE'],
      ['base64', { ...good, dsseEnvelope: { ...good.dsseEnvelope, payload: '%%%' } }, 2, 'MALFORMED'],
    ];
    for (const [name, value, code, failure] of variants) {
      const path = join(dir, `bad-${name}.json`);
      writeFileSync(path, JSON.stringify(value));
      const r = await cli(['evidence', 'add', path]);
      assert.equal(r.code, code, `${name}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(failure));
    }
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, 'junk');
    assert.equal((await cli(['evidence', 'add', junk])).code, 2);
    const db = new DatabaseSync(join(dir, 'home', 'warrant.db'));
    assert.equal((db.prepare('SELECT count(*) AS n FROM evidence').get() as { n: number }).n, 1);
    db.close();
  });

  test('list rejects a malformed digest; an unknown one lists nothing', async () => {
    assert.equal((await cli(['evidence', 'list', '--subject', 'sha256:xyz'])).code, 2);
    const none = await cli(['evidence', 'list', '--subject', 'sha256:' + '0'.repeat(64)]);
    assert.equal(none.code, 0);
    assert.match(none.stderr, /no statements/);
  });

  test('an unreachable PostgreSQL store is indeterminate: exit 3', async () => {
    const r = await runCli(['evidence', 'list', '--subject', subject], { env: { ...env, WARRANT_DB: 'postgres://127.0.0.1:1/test' } });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /STORE_UNAVAILABLE/);
  });

  test('a store with a newer schema is refused, naming the version it needs', async () => {
    const home = join(dir, 'newer');
    assert.equal((await runCli(['evidence', 'list', '--subject', subject], { env: { WARRANT_HOME: home } })).code, 0);
    const db = new DatabaseSync(join(home, 'warrant.db'));
    db.prepare("INSERT INTO warrant_schema (version, warrant_version, applied_at) VALUES (999, '9.9.9', 'now')").run();
    db.close();
    const r = await runCli(['evidence', 'list', '--subject', subject], { env: { WARRANT_HOME: home } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /SCHEMA_TOO_NEW: .*schema version 999.*warrant 9\.9\.9 or newer/);
  });

  test('trusted-root update without a reachable TUF repository is indeterminate: exit 3', { timeout: 60_000 }, async () => {
    const r = await cli(['trusted-root', 'update', '--mirror', 'http://127.0.0.1:1']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /INDETERMINATE: trusted root not updated/);
  });
});
