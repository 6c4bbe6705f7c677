import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { attest, exportPublicKeyPem } from '../../src/evidence/index.ts';
import { runCli } from '../helpers/cli.ts';
import { freshKey, tempDir } from '../helpers/evidence.ts';

const SUITE = fileURLToPath(new URL('./fixtures/suite/', import.meta.url));
const POLICIES = join(SUITE, 'policies.yaml');
const RESOURCES = join(SUITE, 'resources.yaml');
const WEB_DIGEST = '1'.repeat(64);

interface Result {
  policy: string;
  resource: string;
  kind: string;
  result: string;
  effect: string;
  message: string | null;
  validations: { index: number; result: string; message: string | null }[];
}

const byKey = (results: Result[]) => new Map(results.map((r) => [`${r.policy} ${r.resource}`, r]));

describe('warrant policy test', () => {
  test('the suite passes: a table, a summary, untested validations listed, exit 0', async () => {
    const r = await runCli(['policy', 'test', SUITE]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^RESULT\s+TEST\s+POLICY\s+RESOURCE\s+EXPECTED\s+ACTUAL/m);
    assert.match(r.stdout, /^PASS\s+suite\s+replica-limit\s+prod\/batch\s+fail\s+fail$/m);
    assert.match(r.stdout, /untested: images-pinned-and-built validation 2 never failed in a test/);
    assert.match(r.stdout, /^7 passed, 0 failed$/m);
  });

  test('a wrong expectation fails the run with exit 1 and says why', async () => {
    const dir = tempDir();
    cpSync(SUITE, dir, { recursive: true });
    const file = join(dir, 'policy-test.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('{ policy: replica-limit, resource: prod/web, result: pass }', '{ policy: replica-limit, resource: prod/web, result: fail }').replace('messages: ["team label"]', 'messages: ["no such text"]'));
    const r = await runCli(['policy', 'test', dir]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^FAIL\s+suite\s+replica-limit\s+prod\/web\s+fail\s+pass\s+\(expected fail, got pass\)$/m);
    assert.match(r.stdout, /does not contain "no such text"/);
    assert.match(r.stdout, /^5 passed, 2 failed$/m);
  });

  test('no test files is a usage error', async () => {
    const r = await runCli(['policy', 'test', tempDir()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no PolicyTest files/);
  });
});

describe('warrant policy eval', () => {
  test('--json: a result for every policy and resource, with every validation', async () => {
    const r = await runCli(['policy', 'eval', '--policy', POLICIES, '--input', RESOURCES, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const { results } = JSON.parse(r.stdout) as { results: Result[] };
    assert.equal(results.length, 4 * 3, 'three policies (one VAP binding) x four resources');
    const m = byKey(results);
    assert.deepEqual(
      Object.keys(m.get('replica-limit prod/batch')!).filter((k) => ['policy', 'resource', 'kind', 'result', 'validations', 'message'].includes(k)).sort(),
      ['kind', 'message', 'policy', 'resource', 'result', 'validations'],
    );
    assert.equal(m.get('replica-limit prod/batch')!.kind, 'Deployment');
    assert.equal(m.get('replica-limit prod/batch')!.result, 'fail');
    assert.equal(m.get('replica-limit prod/batch')!.message, 'replicas must be at most 5');
    assert.equal(m.get('replica-limit prod/batch')!.effect, 'deny');
    assert.equal(m.get('require-team-label prod/replica-limits')!.result, 'skip');
    // Without evidence the provenance validation fails, with its messageExpression.
    const web = m.get('images-pinned-and-built prod/web')!;
    assert.equal(web.result, 'fail');
    assert.deepEqual(web.validations.map((v) => v.result), ['pass', 'fail', 'pass']);
    assert.equal(web.message, 'no trusted provenance for web');
  });

  test('--evidence: a verified provenance bundle about the image digest satisfies the policy', async () => {
    const home = tempDir();
    const key = freshKey();
    writeFileSync(join(home, 'k.pub'), exportPublicKeyPem(key));
    const env = { WARRANT_HOME: join(home, 'h') };
    assert.equal((await runCli(['trust', 'add', join(home, 'k.pub')], { env })).code, 0);
    const { bundle } = attest({
      key,
      subjects: [{ name: 'registry.example/web', digest: { sha256: WEB_DIGEST } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: { buildDefinition: { buildType: 'x' }, runDetails: { builder: { id: 'https://github.com/acme/builder' } } },
    });
    writeFileSync(join(home, 'prov.json'), JSON.stringify(bundle));
    const r = await runCli(['policy', 'eval', '--policy', POLICIES, '--input', RESOURCES, '--evidence', join(home, 'prov.json'), '--json'], { env });
    const m = byKey((JSON.parse(r.stdout) as { results: Result[] }).results);
    assert.equal(m.get('images-pinned-and-built prod/web')!.result, 'pass');
    // The same bundle signed by an untrusted key is refused: evidence is only ever verified evidence.
    const stranger = attest({ key: freshKey(), subjects: [{ name: 'w', digest: { sha256: WEB_DIGEST } }], predicateType: 'https://slsa.dev/provenance/v1', predicate: {} });
    writeFileSync(join(home, 'stranger.json'), JSON.stringify(stranger.bundle));
    const bad = await runCli(['policy', 'eval', '--policy', POLICIES, '--input', RESOURCES, '--evidence', join(home, 'stranger.json')], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /does not verify: KEY_UNKNOWN/);
  });

  test('a policy that does not compile is refused at load time with file, line, column and a caret', async () => {
    const dir = tempDir();
    const file = join(dir, 'broken.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: warrant.dev/v1alpha1',
        'kind: Policy',
        'metadata: { name: broken }',
        'spec:',
        '  validations:',
        '    - expression: "object.spec.replicas > 1"',
        '    - expression: "object.metadata.name.startsWith(\'a\') &&& true"',
        '',
      ].join('\n'),
    );
    const r = await runCli(['policy', 'eval', '--policy', file, '--input', RESOURCES]);
    assert.equal(r.code, 2, r.stderr);
    const [first, line, caret] = r.stderr.split('\n');
    assert.match(first!, new RegExp(`^warrant: EXPRESSION_INVALID: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:7:\\d+: expression does not compile`));
    assert.equal(line, `    - expression: "object.metadata.name.startsWith('a') &&& true"`);
    const col = Number(/:7:(\d+):/.exec(first!)![1]);
    assert.equal(caret, ' '.repeat(col - 1) + '^');
    assert.equal(line![col - 1], '&', 'the caret points into the &&& operator');
  });

  test('an undeclared variable, an unknown field and an unknown kind are load errors', async () => {
    const dir = tempDir();
    const cases: [string, RegExp][] = [
      ['apiVersion: warrant.dev/v1alpha1\nkind: Policy\nmetadata: {name: a}\nspec:\n  validations:\n    - expression: objekt.spec == 1\n', /EXPRESSION_INVALID.*:6:\d+:.*objekt/],
      ['apiVersion: warrant.dev/v1alpha1\nkind: Policy\nmetadata: {name: a}\nspec:\n  validation: []\n', /POLICY_INVALID.*:5:\d+: unknown field spec\.validation/],
      ['apiVersion: example.com/v1\nkind: Thing\n', /POLICY_INVALID.*is not a policy warrant reads/],
      ['apiVersion: warrant.dev/v1alpha1\nkind: Policy\nmetadata: {name: a}\nspec:\n  mode: loud\n  validations:\n    - expression: "true"\n', /spec\.mode must be one of enforce, warn, audit/],
      ['a: [1, 2\n', /DOCUMENT_INVALID.*not valid YAML/],
    ];
    for (const [i, [text, message]] of cases.entries()) {
      const file = join(dir, `p${i}.yaml`);
      writeFileSync(file, text);
      const r = await runCli(['policy', 'eval', '--policy', file, '--input', RESOURCES]);
      assert.equal(r.code, 2, `${i}: ${r.stderr}`);
      assert.match(r.stderr, message, `case ${i}`);
    }
  });

  test('runaway work is stopped at the deadline: indeterminate, and Fail makes it deny (exit 3)', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const policy = join(dir, 'slow.yaml');
    writeFileSync(
      policy,
      [
        'apiVersion: warrant.dev/v1alpha1',
        'kind: Policy',
        'metadata: { name: slow }',
        'spec:',
        '  failurePolicy: Fail',
        '  validations:',
        '    - expression: "object.data.l.map(a, object.data.l.map(b, object.data.l.map(c, object.data.l.map(d, a)))).size() > 0"',
        '',
      ].join('\n'),
    );
    const input = join(dir, 'big.json');
    writeFileSync(input, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'x' }, data: { l: Array.from({ length: 100 }, (_, i) => i) } }));
    const r = await runCli(['policy', 'eval', '--policy', policy, '--input', input, '--json', '--deadline-ms', '300']);
    assert.equal(r.code, 3, r.stderr);
    const [result] = (JSON.parse(r.stdout) as { results: Result[] }).results;
    assert.equal(result!.result, 'indeterminate');
    assert.match(result!.message!, /DEADLINE_EXCEEDED/);
    assert.equal(result!.effect, 'deny');
    // With Ignore the same indeterminate result allows.
    writeFileSync(policy, readFileSync(policy, 'utf8').replace('failurePolicy: Fail', 'failurePolicy: Ignore'));
    const ignored = await runCli(['policy', 'eval', '--policy', policy, '--input', input, '--json', '--deadline-ms', '300']);
    assert.equal(ignored.code, 0, ignored.stderr);
    assert.equal((JSON.parse(ignored.stdout) as { results: Result[] }).results[0]!.effect, 'allow');
  });

  test('inputs: a List, a JSON array and an AdmissionReview; an alias bomb and an oversized file are refused', async () => {
    const dir = tempDir();
    const list = join(dir, 'list.json');
    const deployment = (name: string, labels: Record<string, string>) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'dev', labels },
      spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image: 'x' }] } } },
    });
    writeFileSync(list, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [deployment('a', { team: 't' }), deployment('b', {})] }));
    const review = join(dir, 'review.yaml');
    writeFileSync(review, `apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\nrequest:\n  uid: u1\n  operation: UPDATE\n  namespace: dev\n  resource: {group: apps, version: v1, resource: deployments}\n  object: ${JSON.stringify(deployment('c', {}))}\n  oldObject: ${JSON.stringify(deployment('c', { team: 'x' }))}\n`);
    const r = await runCli(['policy', 'eval', '--policy', POLICIES, '--input', list, '--input', review, '--json']);
    const m = byKey((JSON.parse(r.stdout) as { results: Result[] }).results);
    assert.equal(m.get('require-team-label dev/a')!.result, 'pass');
    assert.equal(m.get('require-team-label dev/b')!.result, 'fail');
    assert.equal(m.get('require-team-label dev/c')!.result, 'fail');
    // The binding selects env=prod namespaces only.
    assert.equal(m.get('replica-limit dev/a')!.result, 'skip');

    const bomb = join(dir, 'bomb.yaml');
    writeFileSync(bomb, 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n');
    const bombed = await runCli(['policy', 'eval', '--policy', POLICIES, '--input', bomb]);
    assert.equal(bombed.code, 2);
    assert.match(bombed.stderr, /LIMIT_EXCEEDED/);
    const huge = join(dir, 'huge.yaml');
    writeFileSync(huge, '# ' + 'x'.repeat(5 * 1024 * 1024) + '\n');
    const big = await runCli(['policy', 'eval', '--policy', POLICIES, '--input', huge]);
    assert.equal(big.code, 2);
    assert.match(big.stderr, /LIMIT_EXCEEDED: .*over the limit/);
  });
});
