import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { digestFile, formatDigest } from '../../evidence/index.ts';
import { Exit, warrantHome, type ExitCode, type Io } from '../io.ts';
import { attest } from './attest.ts';
import { digest } from './digest.ts';
import { evidence } from './evidence.ts';
import { keygen } from './keygen.ts';
import { log } from './log.ts';
import { policy } from './policy.ts';
import { trust } from './trust.ts';
import { verify } from './verify.ts';

export const usage = `warrant demo
  Walks the evidence path on the embedded store in $WARRANT_HOME (default ./.warrant):
  key, statement, signature, verification, storage, replay and tampering.`;

type Step = (args: string[], io: Io) => Promise<ExitCode>;

/** The README's first command: every step is a real CLI call, printed as you would type it. */
export async function demo(_args: string[], outer: Io): Promise<ExitCode> {
  // One stream, so what each step says stays beside the command that said it.
  const io: Io = { ...outer, err: outer.out };
  const home = warrantHome(io.env);
  const rel = (p: string) => relative(process.cwd(), p) || '.';
  const dir = join(home, 'demo');
  await mkdir(dir, { recursive: true });
  const artifact = join(dir, 'app.tar');
  await writeFile(artifact, `warrant demo artifact, built ${new Date().toISOString()}\n`);
  const bundle = join(dir, 'app.bundle.json');
  const predicate = join(dir, 'predicate.json');
  await writeFile(predicate, JSON.stringify({ note: 'any JSON object: provenance, an SBOM, a scan result' }) + '\n');

  const run = async (name: string, step: Step, args: string[], expect: ExitCode = Exit.OK) => {
    io.out(`\n$ warrant ${name} ${args.map(rel).join(' ')}`);
    const code = await step(args, io);
    if (code !== expect) throw new Error(`demo step 'warrant ${name}' exited ${code}, expected ${expect}`);
  };
  const keyDir = join(home, 'keys');
  const haveKey = await stat(join(keyDir, 'warrant.key')).then(() => true, () => false);
  if (!haveKey) await run('keygen', keygen, ['--out', keyDir]);
  await run('trust', trust, ['add', join(keyDir, 'warrant.pub')]);
  await run('digest', digest, [artifact]);
  await run('attest', attest, [
    '--key', join(keyDir, 'warrant.key'),
    '--predicate-type', 'urn:warrant:predicate:demo:v1',
    '--predicate', predicate,
    '--subject', artifact,
    '--subject-digest', 'registry.example/app@sha256:' + 'ab'.repeat(32),
    '--out', bundle,
  ]);
  await run('verify', verify, ['--bundle', bundle, '--key', join(keyDir, 'warrant.pub'), '--artifact', artifact]);
  const logged = join(dir, 'app.logged.json');
  await run('evidence', evidence, ['add', bundle, '--out', logged]);
  io.out('# the same envelope again: a replay stores nothing new and the log does not grow');
  await run('evidence', evidence, ['add', bundle]);
  io.out('# the transparency log: a signed C2SP checkpoint, an inclusion proof, a full audit');
  await run('log', log, ['checkpoint']);
  await run('log', log, ['prove', '--bundle', logged]);
  await run('log', log, ['audit']);
  await run('evidence', evidence, ['list', '--subject', formatDigest(await digestFile(artifact))]);

  io.out('\n# policy: deployments must pin images by digest and carry signed evidence about them');
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, DEMO_POLICY);
  const deployments = join(dir, 'deployments.yaml');
  await writeFile(deployments, demoDeployments('ab'.repeat(32)));
  await run('policy', policy, ['eval', '--policy', policyFile, '--input', deployments, '--evidence', bundle], Exit.DENIED);

  io.out('\n# tampering: the artifact changes after it was signed');
  await writeFile(artifact, 'something else\n');
  await run('verify', verify, ['--bundle', bundle, '--key', join(keyDir, 'warrant.pub'), '--artifact', artifact], Exit.DENIED);
  io.out(
    `\nDone. The store and the log are in ${rel(join(home, 'warrant.db'))}; 'npx warrant serve' serves them on ` +
      `127.0.0.1:8787 (tlog-tiles under /v1/log/).`,
  );
  return Exit.OK;
}

const DEMO_POLICY = `apiVersion: warrant.dev/v1alpha1
kind: Policy
metadata:
  name: pinned-and-attested
spec:
  mode: enforce
  matchConstraints:
    resourceRules:
      - { apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["deployments"] }
  validations:
    - expression: object.spec.template.spec.containers.all(c, c.image.contains('@sha256:'))
      message: every image must be pinned by digest
    - expression: evidence.statements.exists(s, s.predicateType == 'urn:warrant:predicate:demo:v1')
      messageExpression: "'no signed evidence about the images of ' + object.metadata.name"
`;

function demoDeployments(digest: string): string {
  const deployment = (name: string, image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: demo }
spec:
  replicas: 2
  template:
    spec:
      containers:
        - { name: ${name}, image: "${image}" }
`;
  return [deployment('app', `registry.example/app@sha256:${digest}`), deployment('stray', 'registry.example/stray:latest')].join('---\n');
}
