import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { expandPaths } from './load.ts';
import { parseDocuments, PolicyError, type SourceDocument } from './documents.ts';
import type { EvaluationInput, PolicyOutcome, PolicyResult } from './evaluate.ts';
import { evidenceView } from './evidence-view.ts';
import { loadInputs } from './inputs.ts';
import type { Statement } from '../evidence/index.ts';

export const POLICY_TEST_KIND = 'PolicyTest';

/** One expected result in a test file. */
export interface Expectation {
  policy: string;
  /** `namespace/name` or `name`. */
  resource: string;
  result: Exclude<PolicyOutcome, 'indeterminate'>;
  /** Substrings the result's message must contain. */
  messages: string[];
}

export interface PolicyTestFile {
  file: string;
  name: string;
  policies: string[];
  resources: string[];
  /** Statements treated as verified evidence, by subject digest (a test fixture, not a signature check). */
  evidence: { subject: string; predicateType: string; predicate: Record<string, unknown>; signer: string }[];
  expectations: Expectation[];
}

export interface ExpectationOutcome {
  test: string;
  expectation: Expectation;
  actual: PolicyOutcome | 'missing';
  actualMessage: string | undefined;
  ok: boolean;
  why: string | undefined;
}

/** Reads every PolicyTest document under the given paths. */
export async function loadTests(paths: readonly string[]): Promise<PolicyTestFile[]> {
  const out: PolicyTestFile[] = [];
  for (const file of await expandPaths(paths)) {
    for (const doc of parseDocuments(await readFile(file, 'utf8'), file)) {
      const v = doc.value as Record<string, unknown>;
      if (v.kind !== POLICY_TEST_KIND) continue;
      out.push(readTest(doc));
    }
  }
  return out;
}

function readTest(doc: SourceDocument): PolicyTestFile {
  const v = doc.value as Record<string, unknown>;
  const dir = dirname(doc.file);
  const list = (key: string): unknown[] => {
    const x = v[key];
    if (x === undefined) return [];
    if (!Array.isArray(x)) throw new PolicyError('POLICY_INVALID', `${doc.file}: ${key} must be a list`);
    return x;
  };
  const strings = (key: string) =>
    list(key).map((s) => {
      if (typeof s !== 'string') throw new PolicyError('POLICY_INVALID', `${doc.file}: ${key} lists file paths`);
      return resolve(dir, s);
    });
  const expectations = list('results').map((r, i) => {
    const e = r as Record<string, unknown>;
    const result = e.result;
    if (!['pass', 'fail', 'skip', 'error'].includes(String(result))) {
      throw new PolicyError('POLICY_INVALID', `${doc.file}: results[${i}].result must be pass, fail, skip or error`);
    }
    if (typeof e.policy !== 'string' || typeof e.resource !== 'string') {
      throw new PolicyError('POLICY_INVALID', `${doc.file}: results[${i}] needs policy and resource`);
    }
    const messages = e.messages === undefined ? [] : (e.messages as unknown[]).map(String);
    return { policy: e.policy, resource: e.resource, result: result as Expectation['result'], messages };
  });
  const evidence = list('evidence').map((x, i) => {
    const e = x as Record<string, unknown>;
    if (typeof e.subject !== 'string' || typeof e.predicateType !== 'string') {
      throw new PolicyError('POLICY_INVALID', `${doc.file}: evidence[${i}] needs subject and predicateType`);
    }
    return {
      subject: e.subject,
      predicateType: e.predicateType,
      predicate: (e.predicate ?? {}) as Record<string, unknown>,
      signer: String(e.signer ?? 'test'),
    };
  });
  const name = String((v.metadata as { name?: unknown } | undefined)?.name ?? doc.file);
  return { file: doc.file, name, policies: strings('policies'), resources: strings('resources'), evidence, expectations };
}

/** The evidence a test gives each input: the statements about digests its object mentions. */
export async function testInputs(test: PolicyTestFile): Promise<EvaluationInput[]> {
  const inputs = await loadInputs(test.resources);
  return inputs.map((input) => {
    const digests = referencedDigests(input.object ?? input.oldObject);
    const statements = test.evidence
      .filter((e) => digests.includes(e.subject))
      .map((e) => ({
        signer: e.signer,
        statement: {
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ name: e.subject, digest: { sha256: e.subject.replace(/^sha256:/, '') } }],
          predicateType: e.predicateType,
          predicate: e.predicate,
        } as Statement,
      }));
    return { ...input, evidence: evidenceView(digests, statements) };
  });
}

/** `sha256:<hex>` digests an object refers to (container images pinned by digest, say). */
export function referencedDigests(object: unknown): string[] {
  const found = new Set<string>();
  const text = JSON.stringify(object ?? null);
  for (const m of text.matchAll(/sha256:[0-9a-f]{64}/g)) found.add(m[0]);
  return [...found];
}

/** Compares results with expectations; a missing result (policy or resource unknown) fails. */
export function judge(test: PolicyTestFile, results: readonly PolicyResult[]): ExpectationOutcome[] {
  return test.expectations.map((expectation) => {
    const r = results.find((x) => x.policy === expectation.policy && x.resource === expectation.resource);
    if (r === undefined) {
      return { test: test.name, expectation, actual: 'missing', actualMessage: undefined, ok: false, why: 'no such policy and resource in the test' };
    }
    const actual = r.result === 'indeterminate' ? 'error' : r.result;
    if (actual !== expectation.result) {
      return { test: test.name, expectation, actual: r.result, actualMessage: r.message, ok: false, why: `expected ${expectation.result}, got ${r.result}` };
    }
    const missing = expectation.messages.find((m) => !(r.message ?? '').includes(m));
    return {
      test: test.name,
      expectation,
      actual: r.result,
      actualMessage: r.message,
      ok: missing === undefined,
      why: missing === undefined ? undefined : `message "${r.message ?? ''}" does not contain "${missing}"`,
    };
  });
}

/** Validations that failed in no test: nobody has shown they can catch anything. */
export function unexercised(results: readonly PolicyResult[], all: readonly { policy: string; index: number; expression: string }[]): typeof all {
  const failed = new Set<string>();
  for (const r of results) for (const v of r.validations) if (v.result === 'fail') failed.add(`${r.policy}#${v.index}`);
  return all.filter((v) => !failed.has(`${v.policy}#${v.index}`));
}
