import { DEFAULT_LIMITS } from '../../evidence/index.ts';
import { BundleVerifier } from '../../evidence/index.ts';
import { loadTrustedKeys } from '../../intake/index.ts';
import {
  evidenceView,
  judge,
  loadInputs,
  loadTests,
  PolicyEngine,
  PolicyError,
  referencedDigests,
  testInputs,
  unexercised,
  applyExceptions,
  type PolicyResult,
  type VerifiedStatement,
} from '../../policy/index.ts';
import { Exit, UsageError, parse, readInput, warrantHome, type ExitCode, type Io } from '../io.ts';
import { activate, activateUsage, rollbackStatement, status } from './policy-activate.ts';
import { activeRollout, evalBundle, exceptionsInForce, withProvenance, type DecidedResult } from './policy-eval-bundle.ts';
import { policyErrorExit } from './policy-errors.ts';
import { exception, exceptionsUsage, listExceptions } from './policy-exceptions.ts';
import { publish, publishUsage } from './policy-publish.ts';
import { rollout, rolloutUsage } from './policy-rollout.ts';

export const usage = `warrant policy eval (--policy FILE|DIR... | --bundle active|FILE) --input FILE... [--evidence BUNDLE...] [--json]
  Evaluates every policy against every input resource (JSON or YAML, several per file).
  Evidence bundles are verified against $WARRANT_HOME/trust and given to each resource
  whose images (or other fields) name their subjects' digests. --bundle evaluates a verified
  policy bundle (the active one, or FILE) and each result names its policyVersion and mode.
  A failure covered by an active exception passes, and says so.
warrant policy test DIR...
  Runs PolicyTest files: expected pass, fail, skip or error per policy and resource.
${publishUsage}
${activateUsage}
${rolloutUsage}
${exceptionsUsage}`;

export async function policy(args: string[], io: Io): Promise<ExitCode> {
  const [verb, ...rest] = args;
  try {
    if (verb === 'eval') return await evaluate(rest, io);
    if (verb === 'test') return await runTests(rest, io);
    if (verb === 'publish') return await publish(rest, io);
    if (verb === 'activate') return await activate(rest, io);
    if (verb === 'rollback-statement') return await rollbackStatement(rest, io);
    if (verb === 'status') return await status(rest, io);
    if (verb === 'exception') return await exception(rest, io);
    if (verb === 'exceptions') return await listExceptions(rest, io);
    if (verb === 'rollout') return await rollout(rest, io);
  } catch (err) {
    if (err instanceof PolicyError) {
      io.err(`warrant: ${err.code}: ${err.render()}`);
      return Exit.USAGE;
    }
    return policyErrorExit(err, io);
  }
  throw new UsageError(usage);
}

async function evaluate(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, {
    policy: { type: 'string', multiple: true, default: [] },
    bundle: { type: 'string' },
    input: { type: 'string', multiple: true, default: [] },
    evidence: { type: 'string', multiple: true, default: [] },
    json: { type: 'boolean', default: false },
    'deadline-ms': { type: 'string' },
  });
  if ((values.policy.length === 0) === (values.bundle === undefined)) throw new UsageError('policy eval needs --policy FILE|DIR or --bundle active|FILE');
  if (values.input.length === 0) throw new UsageError('policy eval needs --input FILE');
  const statements = await verifiedEvidence(values.evidence, io);
  const inputs = await loadInputs(values.input);
  const bundle = values.bundle === undefined ? undefined : await evalBundle(values.bundle, io);
  const exceptions = await exceptionsInForce(io);
  const canary = await activeRollout(values.bundle, io, deadline(values['deadline-ms']));
  const engine = canary ?? (bundle
    ? await PolicyEngine.fromSources(bundle.sources, deadline(values['deadline-ms']))
    : await PolicyEngine.open(values.policy, deadline(values['deadline-ms'])));
  const results: DecidedResult[] = [];
  try {
    for (const input of inputs) {
      const digests = referencedDigests(input.object ?? input.oldObject);
      const about = statements.filter((s) => s.statement.subject.some((sub) => digests.includes(`sha256:${sub.digest.sha256}`)));
      const decided = await engine.evaluate({ ...input, evidence: evidenceView(digests, about) });
      results.push(...withProvenance(applyExceptions(decided, exceptions, digests), bundle?.version));
    }
  } finally {
    await engine.close();
  }
  if (values.json) {
    io.out(JSON.stringify({ results }, null, 2));
  } else {
    for (const r of results) {
      const what = `${r.policy}${r.policyVersion === null ? '' : ` v${r.policyVersion}`}  ${r.kind} ${r.resource}`;
      io.out(`${r.result.toUpperCase().padEnd(13)} ${what}${r.message ? `: ${r.message}` : ''}`);
    }
  }
  if (results.some((r) => r.effect === 'deny' && r.result === 'fail')) return Exit.DENIED;
  if (results.some((r) => r.effect === 'deny')) return Exit.INDETERMINATE;
  return Exit.OK;
}

function deadline(value: string | undefined) {
  if (value === undefined) return {};
  if (!/^[1-9][0-9]{0,5}$/.test(value)) throw new UsageError('--deadline-ms must be a positive integer');
  return { deadlineMs: Number(value) };
}

async function verifiedEvidence(paths: string[], io: Io): Promise<VerifiedStatement[]> {
  if (paths.length === 0) return [];
  const keys = await loadTrustedKeys(warrantHome(io.env));
  if (keys.size === 0) throw new UsageError(`--evidence needs trusted keys: add one with 'warrant trust add PUB'`);
  const verifier = new BundleVerifier(keys);
  const out: VerifiedStatement[] = [];
  for (const path of paths) {
    const r = verifier.verify(await readInput(path, 'evidence bundle', DEFAULT_LIMITS.maxDocumentBytes));
    if (!r.ok) throw new UsageError(`evidence ${path} does not verify: ${r.code}: ${r.message}`);
    out.push({ statement: r.statement!, signer: r.signer.kind === 'key' ? r.signer.keyId : r.signer.identity });
  }
  return out;
}

async function runTests(args: string[], io: Io): Promise<ExitCode> {
  const { positionals } = parse(args, {}, true);
  if (positionals.length === 0) throw new UsageError('policy test needs a DIR');
  const tests = await loadTests(positionals);
  if (tests.length === 0) throw new UsageError(`no PolicyTest files under ${positionals.join(', ')}`);
  let failed = 0;
  let passed = 0;
  const seen: { policy: string; index: number; expression: string }[] = [];
  const allResults: PolicyResult[] = [];
  io.out(`${'RESULT'.padEnd(6)}  ${'TEST'.padEnd(24)}  ${'POLICY'.padEnd(28)}  ${'RESOURCE'.padEnd(28)}  EXPECTED  ACTUAL`);
  for (const test of tests) {
    const engine = await PolicyEngine.open(test.policies);
    try {
      for (const p of engine.set.policies) {
        p.validations.forEach((v, index) => {
          if (!seen.some((s) => s.policy === p.name && s.index === index)) seen.push({ policy: p.name, index, expression: v.expression.source });
        });
      }
      const results: PolicyResult[] = [];
      for (const input of await testInputs(test)) results.push(...(await engine.evaluate(input)));
      allResults.push(...results);
      for (const o of judge(test, results)) {
        if (o.ok) passed++;
        else failed++;
        io.out(
          `${(o.ok ? 'PASS' : 'FAIL').padEnd(6)}  ${test.name.slice(0, 24).padEnd(24)}  ${o.expectation.policy.slice(0, 28).padEnd(28)}  ` +
            `${o.expectation.resource.slice(0, 28).padEnd(28)}  ${o.expectation.result.padEnd(8)}  ${o.actual}${o.why ? `  (${o.why})` : ''}`,
        );
      }
    } finally {
      await engine.close();
    }
  }
  const untested = unexercised(allResults, seen);
  for (const u of untested) io.out(`untested: ${u.policy} validation ${u.index} never failed in a test: ${u.expression}`);
  io.out(`${passed} passed, ${failed} failed`);
  return failed > 0 ? Exit.DENIED : Exit.OK;
}
