import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { before, describe, test } from 'node:test';
import { exportPublicKeyPem } from '../../src/evidence/index.ts';
import { leafHash, openCheckpoint, parseVerifierKey, verifyInclusion, type Checkpoint } from '../../src/ledger/index.ts';
import { openStore } from '../../src/store/index.ts';
import { runCli } from '../helpers/cli.ts';
import { freshKey, signedBundle, tempDir } from '../helpers/evidence.ts';

// `warrant log ...` as a user runs it, against real stores in temporary homes.

interface LoggedBundle {
  verificationMaterial: { tlogEntries: { logIndex: string; canonicalizedBody: string }[] };
}

describe('warrant log', () => {
  const dir = tempDir('warrant-log-cli-');
  const key = freshKey();
  const home = join(dir, 'home');
  const forkHome = join(dir, 'fork-home');
  const strangerHome = join(dir, 'stranger-home');
  const env = { WARRANT_HOME: home };
  /** Same log key (hence same origin and key id) as `home`, different entries: a split view. */
  const forkEnv = { WARRANT_HOME: forkHome, WARRANT_LOG_KEY: join(home, 'log', 'log.skey') };
  const cli = (args: string[], e: NodeJS.ProcessEnv = env) => runCli(args, { env: e, cwd: dir });
  const bundleFile = (tag: string) => join(dir, `${tag}.json`);
  const cpFile = (name: string) => join(dir, `${name}.checkpoint`);

  /** Writes a signed bundle about a subject named by `tag`, returning its path. */
  function makeBundle(tag: string): string {
    const sha = Buffer.from(tag).toString('hex').padEnd(64, '0').slice(0, 64);
    writeFileSync(bundleFile(tag), JSON.stringify(signedBundle(key, sha, { tag })));
    return bundleFile(tag);
  }

  async function add(e: NodeJS.ProcessEnv, ...tags: string[]): Promise<void> {
    const r = await cli(['evidence', 'add', ...tags.map(makeBundle)], e);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/: stored /g)?.length, tags.length, r.stdout);
  }

  /** `log checkpoint` in the home of `e`, saved to a file named `name`. */
  async function checkpoint(e: NodeJS.ProcessEnv, name: string): Promise<string> {
    const r = await cli(['log', 'checkpoint'], e);
    assert.equal(r.code, 0, r.stderr);
    writeFileSync(cpFile(name), r.stdout);
    return r.stdout;
  }

  async function vkey(e: NodeJS.ProcessEnv = env): Promise<string> {
    const r = await cli(['log', 'vkey'], e);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  }

  const opened = (note: string, vk: string): Checkpoint => openCheckpoint(note, parseVerifierKey(vk)).checkpoint;

  async function storedEnvelopes(h: string): Promise<number> {
    const store = await openStore({ url: '', home: h });
    try {
      return await store.countEvidence();
    } finally {
      await store.close();
    }
  }

  const consistency = (oldName: string, newName: string, e: NodeJS.ProcessEnv = env) =>
    cli(['log', 'consistency', '--old', cpFile(oldName), '--new', cpFile(newName)], e);

  let strangerVk = '';

  before(async () => {
    strangerVk = await vkey({ WARRANT_HOME: strangerHome });
    writeFileSync(join(dir, 'k.pub'), exportPublicKeyPem(key));
    for (const e of [env, forkEnv]) assert.equal((await cli(['trust', 'add', join(dir, 'k.pub')], e)).code, 0);
    await add(env, 'a0', 'a1');
    await checkpoint(env, 'main-2');
    await add(env, 'a2', 'a3', 'a4');
    await checkpoint(env, 'main-5');
    // The fork: same key, other entries; checkpoints at 2, 4 and 5 (within the main store's size) and 7 (beyond it).
    await add(forkEnv, 'f0', 'f1');
    await checkpoint(forkEnv, 'fork-2');
    await add(forkEnv, 'f2', 'f3');
    await checkpoint(forkEnv, 'fork-4');
    await add(forkEnv, 'f4');
    await checkpoint(forkEnv, 'fork-5');
    await add(forkEnv, 'f5', 'f6');
    await checkpoint(forkEnv, 'fork-7');
  });

  test('vkey prints name+8hex+base64 and its name is the checkpoint origin line', async () => {
    const vk = await vkey();
    const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]{44})$/.exec(vk);
    assert.ok(m, vk);
    const note = readFileSync(cpFile('main-5'), 'utf8');
    assert.equal(note.split('\n')[0], m[1]);
    assert.equal(parseVerifierKey(vk).name, m[1]);
    assert.equal(parseVerifierKey(vk).keyId.toString(16).padStart(8, '0'), m[2]);
    assert.equal(await vkey(), vk, 'the key is made once and kept');
    assert.equal(await vkey(forkEnv), vk, 'WARRANT_LOG_KEY names the same key in another home');
    assert.notEqual(strangerVk, vk);
  });

  test('checkpoint prints a signed note that opens with the vkey, sized to the stored envelopes', async () => {
    const vk = await vkey();
    const note = await checkpoint(env, 'main-now');
    assert.match(note, /\n\n\u2014 \S+ \S+\n$/);
    const cp = opened(note, vk);
    assert.equal(cp.origin, vk.split('+')[0]);
    assert.equal(cp.size, 5n);
    assert.equal(cp.size, BigInt(await storedEnvelopes(home)));
    assert.equal(cp.rootHash.length, 32);
    assert.deepEqual(cp.extensions, []);
    assert.equal(opened(readFileSync(cpFile('main-2'), 'utf8'), vk).size, 2n);
    // Another log's key does not open it.
    assert.throws(() => opened(note, strangerVk), /not signed by the log key|no verifiable signatures/);
  });

  test('replaying evidence add of a stored bundle does not grow the log and hands back the same entry', async () => {
    const before = readFileSync(cpFile('main-5'), 'utf8');
    const out = join(dir, 'a3.logged.json');
    const r = await cli(['evidence', 'add', bundleFile('a3'), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /already present .* log index 3$/m);
    const logged = JSON.parse(readFileSync(out, 'utf8')) as LoggedBundle;
    assert.equal(logged.verificationMaterial.tlogEntries.length, 1);
    assert.equal(logged.verificationMaterial.tlogEntries[0]!.logIndex, '3');
    const after = await checkpoint(env, 'main-after-replay');
    assert.equal(after, before, 'no new checkpoint: the tree did not change');
    assert.equal(opened(after, await vkey()).size, 5n);
    assert.equal(await storedEnvelopes(home), 5);
  });

  test('prove --index N: exit 0 and the audit path, which verifies against the checkpoint root', async () => {
    const vk = await vkey();
    const cp = opened(readFileSync(cpFile('main-5'), 'utf8'), vk);
    const out = join(dir, 'a1.logged.json');
    assert.equal((await cli(['evidence', 'add', bundleFile('a1'), '--out', out])).code, 0);
    const body = Buffer.from((JSON.parse(readFileSync(out, 'utf8')) as LoggedBundle).verificationMaterial.tlogEntries[0]!.canonicalizedBody, 'base64');
    const r = await cli(['log', 'prove', '--index', '1']);
    assert.equal(r.code, 0, r.stderr);
    const [head, ...lines] = r.stdout.trim().split('\n');
    assert.equal(head, 'OK: entry 1 is included in the log at size 5');
    // Index 1 of 5: sibling leaf 0, node [2,4), leaf 4.
    assert.equal(lines.length, 3);
    for (const l of lines) assert.match(l, /^[A-Za-z0-9+/]{43}=$/);
    const hashes = lines.map((l) => Buffer.from(l, 'base64'));
    assert.doesNotThrow(() => verifyInclusion(1n, 5n, leafHash(body), hashes, cp.rootHash));
    assert.throws(() => verifyInclusion(2n, 5n, leafHash(body), hashes, cp.rootHash), /does not lead to the root/);

    const json = await cli(['log', 'prove', '--index', '4', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { index: string; size: string; hashes: string[]; checkpoint: string };
    assert.equal(parsed.index, '4');
    assert.equal(parsed.size, '5');
    assert.equal(parsed.hashes.length, 1, 'the last of 5 leaves has one sibling: the root of [0,4)');
    assert.equal(opened(parsed.checkpoint, vk).size, 5n);
  });

  test('prove --index beyond the log: exit 1 NOT_LOGGED; bad arguments: exit 2', async () => {
    for (const index of ['5', '1000', '18446744073709551615']) {
      const r = await cli(['log', 'prove', '--index', index]);
      assert.equal(r.code, 1, `${index}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`FAIL NOT_LOGGED: index ${index} is beyond the log size 5`));
    }
    const bad: string[][] = [
      ['log', 'prove'],
      ['log', 'prove', '--index'],
      ['log', 'prove', '--index', 'abc'],
      ['log', 'prove', '--index', '-1'],
      ['log', 'prove', '--index', '01'],
      ['log', 'prove', '--index', '1.5'],
      ['log', 'prove', '--index', '1', '--bundle', bundleFile('a1')],
      ['log', 'prove', '--idx', '1'],
      ['log', 'prove', '--bundle', join(dir, 'missing.json')],
      ['log', 'consistency', '--old', cpFile('main-2')],
      ['log', 'consistency', '--old', cpFile('main-2'), '--new', join(dir, 'missing.checkpoint')],
      ['log', 'frobnicate'],
    ];
    for (const args of bad) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.notEqual(r.stderr, '');
    }
  });

  test('consistency: checkpoints of one log in order exit 0; equal ones exit 0; swapped exit 1 ROLLBACK', async () => {
    const ok = await consistency('main-2', 'main-5');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /OK: consistent \(size 2 -> 5\)/);
    const same = await consistency('main-5', 'main-5');
    assert.equal(same.code, 0, same.stderr);
    const back = await consistency('main-5', 'main-2');
    assert.equal(back.code, 1);
    assert.match(back.stderr, /FAIL ROLLBACK: the new checkpoint \(size 2\) is older than the old one \(size 5\)/);
  });

  test('consistency: a fork signed by the same log key is FORK, exit 1, at the same size and at larger sizes', async () => {
    const vk = await vkey();
    // The fork really is signed by this log's key, under its origin, with other roots.
    for (const [main, fork] of [['main-2', 'fork-2'], ['main-5', 'fork-5']]) {
      const m = opened(readFileSync(cpFile(main!), 'utf8'), vk);
      const f = opened(readFileSync(cpFile(fork!), 'utf8'), vk);
      assert.equal(f.size, m.size);
      assert.equal(f.origin, m.origin);
      assert.notDeepEqual(f.rootHash, m.rootHash);
    }
    const cases: [string, string, RegExp][] = [
      ['main-2', 'fork-2', /FAIL FORK: two checkpoints of size 2 with different roots/],
      ['main-5', 'fork-5', /FAIL FORK: two checkpoints of size 5 with different roots/],
      ['fork-5', 'main-5', /FAIL FORK: two checkpoints of size 5 with different roots/],
      // A larger fork checkpoint within this store's size: it disagrees with the stored tree at its size.
      ['main-2', 'fork-4', /FAIL FORK: the new checkpoint \(size 4\) disagrees with this log's tree at that size/],
      ['main-2', 'fork-5', /FAIL FORK: the new checkpoint \(size 5\) disagrees with this log's tree at that size/],
      // A fork checkpoint as the old one, this log's as the new one.
      ['fork-2', 'main-5', /FAIL FORK: the old checkpoint \(size 2\) disagrees with this log's tree at that size/],
    ];
    for (const [o, n, message] of cases) {
      const r = await consistency(o, n);
      assert.equal(r.code, 1, `${o} -> ${n}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, `${o} -> ${n}`);
      assert.equal(r.stdout, '');
    }
    // In the fork's own store the fork's checkpoints are consistent and this log's are the fork.
    assert.equal((await consistency('fork-2', 'fork-7', forkEnv)).code, 0);
    assert.equal((await consistency('main-2', 'fork-7', forkEnv)).code, 1);
  });

  test('consistency: a fork checkpoint beyond this store\'s size cannot be decided here: INDETERMINATE, exit 3', async () => {
    const r = await consistency('main-2', 'fork-7');
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /INDETERMINATE: this store holds 5 entries, fewer than the new checkpoint's 7/);
  });

  test('consistency: a checkpoint signed by another key, or altered, exits 1 CHECKPOINT_INVALID', async () => {
    // Another log under the very same origin name: only the key differs.
    const origin = (await vkey()).split('+')[0]!;
    const impostor = { WARRANT_HOME: join(dir, 'impostor-home'), WARRANT_LOG_ORIGIN: origin };
    assert.equal((await cli(['trust', 'add', join(dir, 'k.pub')], impostor)).code, 0);
    await add(impostor, 'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6');
    await checkpoint(impostor, 'impostor-7');
    assert.equal(readFileSync(cpFile('impostor-7'), 'utf8').split('\n')[0], origin);
    await checkpoint({ WARRANT_HOME: strangerHome }, 'stranger-0');
    const edited = readFileSync(cpFile('main-5'), 'utf8').replace(/^([^\n]*\n)5\n/, '$14\n');
    assert.notEqual(edited, readFileSync(cpFile('main-5'), 'utf8'));
    writeFileSync(cpFile('edited-4'), edited);
    writeFileSync(cpFile('junk'), 'not a checkpoint\n');
    for (const [o, n] of [['main-2', 'impostor-7'], ['impostor-7', 'main-5'], ['main-2', 'stranger-0'], ['main-2', 'edited-4'], ['main-2', 'junk']]) {
      const r = await consistency(o!, n!);
      assert.equal(r.code, 1, `${o} -> ${n}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^FAIL CHECKPOINT_INVALID: /, `${o} -> ${n}`);
    }
  });

  test('audit: exit 0 on a healthy log; exit 1 TAMPERED on a copy with one entry altered', async () => {
    const r = await cli(['log', 'audit']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^OK: 5 entries and \d+ checkpoints verified/);
    const json = await cli(['log', 'audit', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { ok: boolean; size: string; entriesChecked: string; checkpointsChecked: number };
    assert.equal(report.ok, true);
    assert.equal(report.size, '5');
    assert.equal(report.entriesChecked, '5');
    assert.ok(report.checkpointsChecked >= 2, 'the checkpoints at 2 and 5 are checked');

    const copy = join(dir, 'tampered-home');
    cpSync(home, copy, { recursive: true });
    const db = new DatabaseSync(join(copy, 'warrant.db'));
    const row = db.prepare('SELECT entry FROM log_entry WHERE idx = 2').get() as { entry: Uint8Array };
    const altered = Buffer.from(row.entry);
    altered[altered.length - 3]! ^= 1;
    db.prepare('UPDATE log_entry SET entry = ? WHERE idx = 2').run(altered);
    db.close();
    const bad = await cli(['log', 'audit'], { WARRANT_HOME: copy });
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /^FAIL TAMPERED at index 2: /);
  });

  test('trusted-root names this log: keyId starts with the vkey id, the key and origin match', async () => {
    const vk = await vkey();
    const r = await cli(['log', 'trusted-root']);
    assert.equal(r.code, 0, r.stderr);
    const root = JSON.parse(r.stdout) as {
      mediaType: string;
      tlogs: { baseUrl: string; hashAlgorithm: string; publicKey: { rawBytes: string; keyDetails: string }; logId: { keyId: string } }[];
    };
    assert.equal(root.mediaType, 'application/vnd.dev.sigstore.trustedroot+json;version=0.1');
    assert.equal(root.tlogs.length, 1);
    const tlog = root.tlogs[0]!;
    const keyId = Buffer.from(tlog.logId.keyId, 'base64');
    assert.equal(keyId.length, 32);
    assert.equal(keyId.subarray(0, 4).toString('hex'), vk.split('+')[1]);
    assert.equal(tlog.baseUrl, `https://${vk.split('+')[0]}`);
    assert.equal(tlog.publicKey.keyDetails, 'PKIX_ED25519');
    const spki = parseVerifierKey(vk).publicKey.export({ type: 'spki', format: 'der' });
    assert.equal(tlog.publicKey.rawBytes, spki.toString('base64'));
  });
});
