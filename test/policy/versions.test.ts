import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { attest, exportPublicKeyPem, TrustedKeys } from '../../src/evidence/index.ts';
import { activatePolicy, buildPolicyBundle, buildRollbackStatement, loadPolicyBundle, POLICY_BUNDLE_PREDICATE, PolicyVersionError, verifyRollbackStatement } from '../../src/policy/index.ts';
import { runCli } from '../helpers/cli.ts';
import { logState, RESOURCES, setup } from './helpers.ts';
import { freshKey, withPayload } from '../helpers/evidence.ts';


const key = freshKey();
const keys = new TrustedKeys([key]);
const FILES = [{ path: 'a/p.yaml', content: 'kind: x\n' }];

const refused = (code: string) => (err: unknown) => err instanceof PolicyVersionError && err.code === code;

describe('policy bundles', () => {
  test('a published bundle loads with its version, files and digest', () => {
    const { bundle, digest } = buildPolicyBundle({ key, version: 3, files: FILES });
    const loaded = loadPolicyBundle(JSON.stringify(bundle), keys);
    assert.equal(loaded.version, 3);
    assert.equal(loaded.digest, digest);
    assert.deepEqual(loaded.sources, [{ file: 'a/p.yaml', text: 'kind: x\n' }]);
    assert.equal(loaded.signer, key.keyId);
  });

  test('tampered content, version or subject, an untrusted signer or another predicate is refused', () => {
    const { bundle } = buildPolicyBundle({ key, version: 3, files: FILES });
    type P = { predicate: { version: number; files: { content: string }[] }; subject: { digest: { sha256: string } }[] };
    const edits: ((s: P) => void)[] = [
      (s) => (s.predicate.files[0]!.content = 'kind: y\n'),
      (s) => (s.predicate.version = 99),
      (s) => (s.subject[0]!.digest.sha256 = '0'.repeat(64)),
    ];
    for (const edit of edits) {
      const tampered = withPayload(bundle, (s) => (edit(s as unknown as P), s));
      assert.throws(() => loadPolicyBundle(JSON.stringify(tampered), keys), refused('POLICY_BUNDLE_UNVERIFIED'));
    }
    assert.throws(() => loadPolicyBundle(JSON.stringify(bundle), new TrustedKeys([freshKey()])), /KEY_UNKNOWN/);
    const other = attest({ key, subjects: [{ name: 'policy-bundle', digest: { sha256: 'a'.repeat(64) } }], predicateType: 'urn:x:y', predicate: {} });
    assert.throws(() => loadPolicyBundle(JSON.stringify(other.bundle), keys), /PREDICATE_TYPE_MISMATCH/);
  });

  test('a validly signed bundle whose content does not match its digests is refused', () => {
    const sign = (predicate: Record<string, unknown>, sha256 = 'a'.repeat(64)) =>
      JSON.stringify(attest({ key, subjects: [{ name: 'policy-bundle', digest: { sha256 } }], predicateType: POLICY_BUNDLE_PREDICATE, predicate }).bundle);
    const file = { path: 'p.yaml', sha256: '0'.repeat(64), content: 'x' };
    assert.throws(() => loadPolicyBundle(sign({ version: 1, createdAt: 'now', files: [file] }), keys), /content does not match its sha256/);
    const good = { path: 'p.yaml', sha256: '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881', content: 'x' };
    assert.throws(() => loadPolicyBundle(sign({ version: 1, createdAt: 'now', files: [good] }), keys), /subject must be one "policy-bundle"/);
    assert.throws(() => loadPolicyBundle(sign({ version: 1, createdAt: 'now', files: [{ ...good, path: '../p.yaml' }] }), keys), refused('POLICY_BUNDLE_INVALID'));
    assert.throws(() => loadPolicyBundle(sign({ version: 0, createdAt: 'now', files: [good] }), keys), /version must be an integer/);
  });

  test('rollback statements must name the exact target version, digest and active version', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const st = JSON.stringify(buildRollbackStatement({ key, from: 2, to: 1, digest, reason: 'regression' }));
    assert.deepEqual(verifyRollbackStatement(st, keys, { from: 2, to: 1, digest }), { reason: 'regression', signer: key.keyId });
    assert.throws(() => verifyRollbackStatement(st, keys, { from: 3, to: 1, digest }), /active version is 3/);
    assert.throws(() => verifyRollbackStatement(st, keys, { from: 2, to: 1, digest: `sha256:${'c'.repeat(64)}` }), /does not name the digest/);
    assert.throws(() => verifyRollbackStatement(st, new TrustedKeys([freshKey()]), { from: 2, to: 1, digest }), refused('ROLLBACK_STATEMENT_INVALID'));
    const unsigned = JSON.parse(st) as { dsseEnvelope: { signatures: unknown[] } };
    unsigned.dsseEnvelope.signatures = [];
    assert.throws(() => verifyRollbackStatement(JSON.stringify(unsigned), keys, { from: 2, to: 1, digest }), refused('ROLLBACK_STATEMENT_INVALID'));
  });

  test('activatePolicy refuses a version whose file holds another version', async () => {
    const s = await setup(false);
    const { bundle } = buildPolicyBundle({ key, version: 1, files: FILES });
    mkdirSync(join(s.home, 'policy', 'bundles'), { recursive: true });
    writeFileSync(join(s.home, 'policy', 'bundles', 'v2.bundle.json'), JSON.stringify(bundle));
    await assert.rejects(activatePolicy(s.home, keys, 2), /holds version 1, not 2/);
  });
});

describe('warrant policy publish / activate / rollback', () => {
  test('publish compiles, signs, numbers versions monotonically and logs; activate refuses rollback without a statement', async () => {
    const s = await setup();
    const before = await logState(s);
    const p1 = await runCli(['policy', 'publish', s.policies, '--key', s.keyFile], { env: s.env });
    assert.equal(p1.code, 0, p1.stderr);
    assert.match(p1.stdout, /published policy v1 sha256:[0-9a-f]{64} \(1 file\(s\), 3 policies\)/);
    assert.match(p1.stdout, /logged at index \d+/);
    const p2 = await runCli(['policy', 'publish', s.policies, '--key', s.keyFile], { env: s.env });
    assert.match(p2.stdout, /published policy v2 /);
    const low = await runCli(['policy', 'publish', s.policies, '--key', s.keyFile, '--version', '2'], { env: s.env });
    assert.equal(low.code, 2);
    assert.match(low.stderr, /VERSION_INVALID: version 2 must be an integer above the highest published version 2/);
    assert.deepEqual(readdirSync(join(s.home, 'policy', 'bundles')).sort(), ['v1.bundle.json', 'v2.bundle.json']);
    const loaded = loadPolicyBundle(readFileSync(join(s.home, 'policy', 'bundles', 'v2.bundle.json')), new TrustedKeys([s.key]));
    assert.equal(loaded.version, 2);
    assert.deepEqual(loaded.sources.map((x) => x.file), ['policies.yaml']);

    assert.equal((await runCli(['policy', 'activate', '2'], { env: s.env })).code, 0);
    const back = await runCli(['policy', 'activate', '1'], { env: s.env });
    assert.equal(back.code, 1);
    assert.match(back.stderr, /ROLLBACK_REFUSED: v1 is below the active v2/);

    // A statement for another target is refused, and so is one from an untrusted key.
    const rb3 = join(s.root, 'rb-wrong.json');
    writeFileSync(rb3, JSON.stringify(buildRollbackStatement({ key: s.key, from: 2, to: 1, digest: `sha256:${'c'.repeat(64)}`, reason: 'r' })));
    const wrong = await runCli(['policy', 'activate', '1', '--rollback-statement', rb3], { env: s.env });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /ROLLBACK_STATEMENT_INVALID: rollback statement does not name the digest/);
    const rbStranger = join(s.root, 'rb-stranger.json');
    writeFileSync(rbStranger, JSON.stringify(buildRollbackStatement({ key: freshKey(), from: 2, to: 1, digest: loaded.digest, reason: 'r' })));
    const stranger = await runCli(['policy', 'activate', '1', '--rollback-statement', rbStranger], { env: s.env });
    assert.equal(stranger.code, 1);
    assert.match(stranger.stderr, /does not verify: KEY_UNKNOWN/);

    const rb = join(s.root, 'rb.json');
    const made = await runCli(['policy', 'rollback-statement', '--to', '1', '--reason', 'v2 blocks deploys', '--key', s.keyFile, '--out', rb], { env: s.env });
    assert.equal(made.code, 0, made.stderr);
    const ok = await runCli(['policy', 'activate', '1', '--rollback-statement', rb], { env: s.env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /active policy v1 sha256:[0-9a-f]{64} \(was v2\) rollback: v2 blocks deploys/);
    const st = await runCli(['policy', 'status', '--json'], { env: s.env });
    assert.equal((JSON.parse(st.stdout) as { active: { version: number } }).active.version, 1);

    const after = await logState(s);
    // Two bundles, the rollback statement, and audit events for every publish and activation attempt.
    assert.ok(after.size >= before.size + 3n + 6n, `log grew from ${before.size} to ${after.size}`);
    assert.deepEqual(after.actions.filter((a) => a === 'policy.publish').length, 2);
    assert.deepEqual(after.actions.filter((a) => a === 'policy.activate').length, 5);
  });

  test('a policy directory that does not compile is not published: exit 2 with the caret, nothing written', async () => {
    const s = await setup();
    writeFileSync(join(s.policies, 'broken.yaml'), [
      'apiVersion: warrant.dev/v1alpha1',
      'kind: Policy',
      'metadata: { name: broken }',
      'spec:',
      '  validations:',
      '    - expression: "object.x &&& true"',
      '',
    ].join('\n'));
    const r = await runCli(['policy', 'publish', s.policies, '--key', s.keyFile], { env: s.env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /EXPRESSION_INVALID: .*broken\.yaml:6:/);
    assert.match(r.stderr, /\^/);
    assert.equal(existsSync(join(s.home, 'policy', 'bundles')), false);
    assert.equal((await logState(s)).size, 0n);
  });

  test('a bundle signed by an untrusted key is written but not logged, and no gate loads it', async () => {
    const s = await setup(false);
    const r = await runCli(['policy', 'publish', s.policies, '--key', s.keyFile], { env: s.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /not logged: KEY_UNKNOWN/);
    writeFileSync(join(s.root, 'other.pub'), exportPublicKeyPem(freshKey()));
    assert.equal((await runCli(['trust', 'add', join(s.root, 'other.pub')], { env: s.env })).code, 0);
    const a = await runCli(['policy', 'activate', '1'], { env: s.env });
    assert.equal(a.code, 1);
    assert.match(a.stderr, /POLICY_BUNDLE_UNVERIFIED: policy bundle does not verify: KEY_UNKNOWN/);
  });

  test('eval --bundle active: results name the policy version and mode', async () => {
    const s = await setup();
    await runCli(['policy', 'publish', s.policies, '--key', s.keyFile], { env: s.env });
    await runCli(['policy', 'activate', '1'], { env: s.env });
    const r = await runCli(['policy', 'eval', '--bundle', 'active', '--input', RESOURCES, '--json'], { env: s.env });
    assert.equal(r.code, 1, r.stderr);
    const { results } = JSON.parse(r.stdout) as { results: { policy: string; resource: string; policyVersion: number; mode: string[]; result: string; validations: { result: string; message: string | null }[] }[] };
    assert.equal(results.length, 12);
    assert.ok(results.every((x) => x.policyVersion === 1));
    const batch = results.find((x) => x.policy === 'replica-limit' && x.resource === 'prod/batch')!;
    assert.deepEqual(batch.mode, ['Deny']);
    assert.equal(batch.result, 'fail');
    assert.deepEqual(batch.validations.map((v) => [v.result, v.message]), [['fail', 'replicas must be at most 5']]);
    const text = await runCli(['policy', 'eval', '--bundle', 'active', '--input', RESOURCES], { env: s.env });
    assert.match(text.stdout, /^FAIL\s+replica-limit v1 {2}Deployment prod\/batch: replicas must be at most 5$/m);
    // --policy results say they come from no published version.
    const plain = await runCli(['policy', 'eval', '--policy', s.policies, '--input', RESOURCES, '--json'], { env: s.env });
    assert.ok((JSON.parse(plain.stdout) as { results: { policyVersion: null }[] }).results.every((x) => x.policyVersion === null));
    // With nothing active, --bundle active is a usage error.
    const none = await runCli(['policy', 'eval', '--bundle', 'active', '--input', RESOURCES], { env: (await setup()).env });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /POLICY_BUNDLE_NOT_FOUND/);
  });
});
