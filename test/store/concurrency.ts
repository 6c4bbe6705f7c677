import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/index.ts';
import {
  COMMON_SUBJECTS,
  commonSubject,
  OWN,
  ownEvidence,
  SHARED,
  sharedEvidence,
  WORKERS,
  workerSubject,
  type AdderReport,
} from './fixtures/plan.ts';
import { sortedSubjects, subjectDigest } from './helpers.ts';

const ADDER = fileURLToPath(new URL('./fixtures/concurrent-adder.ts', import.meta.url));

interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface RunningChild {
  child: ChildProcess;
  /** Resolves when the child has printed this line (`started`, `ready`). */
  reached: (line: string) => Promise<void>;
  done: Promise<ChildOutcome>;
}

function startAdder(url: string, worker: number, seed: string): RunningChild {
  const child = spawn(process.execPath, [ADDER, url, String(worker), seed], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
  const seen = (line: string): boolean => stdout.split('\n').slice(0, -1).includes(line);
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const [line, w] of waiting) if (seen(line)) w.resolve();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<ChildOutcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const [line, w] of waiting) {
        w.reject(new Error(`worker ${worker} exited (code ${code}, signal ${signal}) before "${line}":\n${stderr}`));
      }
      resolve({ code, signal, stdout, stderr });
    });
  });
  const reached = (line: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (seen(line)) resolve();
      else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`worker ${worker} already exited`));
      else waiting.set(line, { resolve, reject });
    });
  return { child, reached, done };
}

/**
 * Spawns WORKERS processes that open `url` at once (a fresh store: they race
 * the migration too), then, released together, each add the SHARED envelopes
 * and OWN of their own, interleaved. Then checks the store holds each exactly once.
 */
export async function runConcurrentAdders(url: string): Promise<void> {
  const seed = randomBytes(8).toString('hex');
  const children = Array.from({ length: WORKERS }, (_, w) => startAdder(url, w, seed));
  let outcomes: ChildOutcome[];
  try {
    // Two barriers: all open the store together, then all add together.
    await Promise.all(children.map((c) => c.reached('started')));
    for (const c of children) c.child.stdin!.write('open\n');
    await Promise.all(children.map((c) => c.reached('ready')));
    for (const c of children) c.child.stdin!.end('go\n');
    outcomes = await Promise.all(children.map((c) => c.done));
  } catch (err) {
    for (const c of children) if (c.child.exitCode === null) c.child.kill();
    const all = await Promise.all(children.map((c) => c.done.catch((e: unknown) => ({ stderr: String(e) }))));
    throw new Error(`concurrent adders failed: ${(err as Error).message}\n${all.map((o) => o.stderr).join('\n')}`, {
      cause: err,
    });
  }

  const reports: AdderReport[] = [];
  outcomes.forEach((o, w) => {
    assert.equal(o.code, 0, `worker ${w} exited ${o.code ?? o.signal}:\n${o.stderr}`);
    assert.equal(o.stderr, '', `worker ${w} wrote to stderr`);
    const lines = o.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['started', 'ready'], `worker ${w} stdout: ${o.stdout}`);
    assert.equal(lines.length, 3, `worker ${w} stdout: ${o.stdout}`);
    const report = JSON.parse(lines[2]!) as AdderReport;
    assert.equal(report.worker, w);
    assert.equal(report.results.length, SHARED + OWN);
    reports.push(report);
  });

  // What the children were told: each shared envelope inserted by exactly one of them, all agreeing on its id.
  const resultsFor = (digest: string): AdderReport['results'] =>
    reports.flatMap((r) => r.results.filter((x) => x.envelopeDigest === digest));
  const expectedIds = new Map<string, number>();
  for (let i = 0; i < SHARED; i++) {
    const d = sharedEvidence(seed, i).envelopeDigest;
    const results = resultsFor(d);
    assert.equal(results.length, WORKERS, `shared ${i} reported by every worker`);
    assert.equal(results.filter((x) => x.inserted).length, 1, `shared ${i} inserted exactly once`);
    assert.equal(new Set(results.map((x) => x.id)).size, 1, `shared ${i} has one id across workers`);
    expectedIds.set(d, results[0]!.id);
  }
  for (let w = 0; w < WORKERS; w++) {
    for (let i = 0; i < OWN; i++) {
      const d = ownEvidence(seed, w, i).envelopeDigest;
      const results = resultsFor(d);
      assert.equal(results.length, 1);
      assert.equal(results[0]!.inserted, true, `own ${w}/${i} inserted`);
      expectedIds.set(d, results[0]!.id);
    }
  }
  assert.equal(new Set(expectedIds.values()).size, SHARED + WORKERS * OWN, 'every envelope has its own id');

  // What the store holds.
  const store = await openStore({ url, home: '/nonexistent' });
  try {
    assert.equal(await store.countEvidence(), SHARED + WORKERS * OWN);
    const all = [
      ...Array.from({ length: SHARED }, (_, i) => sharedEvidence(seed, i)),
      ...Array.from({ length: WORKERS * OWN }, (_, j) => ownEvidence(seed, Math.floor(j / OWN), j % OWN)),
    ];
    for (const e of all) {
      const got = await store.getEvidence(e.envelopeDigest);
      assert.ok(got, `${e.envelopeDigest} missing`);
      assert.equal(got.id, expectedIds.get(e.envelopeDigest));
      assert.equal(got.signer, e.signer);
      assert.deepEqual(sortedSubjects(got.subjects), sortedSubjects(e.subjects));
      // Its own subject lists it exactly once.
      const own = e.subjects[0]!;
      const list = await store.listBySubject(subjectDigest(own));
      assert.deepEqual(
        list.map((x) => x.envelopeDigest),
        [e.envelopeDigest],
        `subject ${own.name} lists its statement once`,
      );
    }

    const checkList = async (digest: string, expected: string[], label: string): Promise<void> => {
      const list = await store.listBySubject(digest);
      const got = list.map((x) => x.envelopeDigest);
      assert.equal(got.length, expected.length, `${label}: ${got.length} statements, want ${expected.length}`);
      assert.equal(new Set(got).size, got.length, `${label}: duplicates`);
      assert.deepEqual([...got].sort(), [...expected].sort(), `${label}: statements`);
      const ids = list.map((x) => x.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), `${label}: oldest first`);
    };
    for (let k = 0; k < COMMON_SUBJECTS; k++) {
      const expected = all
        .filter((e) => e.subjects.some((s) => s.digest === commonSubject(seed, k).digest))
        .map((e) => e.envelopeDigest);
      assert.equal(expected.length, (SHARED + WORKERS * OWN) / COMMON_SUBJECTS);
      await checkList(subjectDigest(commonSubject(seed, k)), expected, `common-${k}`);
    }
    for (let w = 0; w < WORKERS; w++) {
      const expected = Array.from({ length: OWN }, (_, i) => ownEvidence(seed, w, i).envelopeDigest);
      await checkList(subjectDigest(workerSubject(seed, w)), expected, `worker-${w}`);
    }
  } finally {
    await store.close();
  }
}
