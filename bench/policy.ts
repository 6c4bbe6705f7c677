// Policy evaluation: one warrant Policy of 10 validations (and 2 variables)
// over a realistic Deployment and its evidence, compiled once, timed
//   (a) raw in @bufbuild/cel (the same 12 expressions, parsed and planned once),
//   (b) through warrant's in-process engine core (evaluateAll),
//   (c) through warrant's worker pool (PolicyEngine), one at a time and 16 in flight,
//       as shipped and with the workers' heap cap raised from 128 to 256 MB.
//
//   npx node bench/policy.ts [--count 4000] [--rounds 5] [--concurrency 16] [--workers 2] [--pool-heap 256]
//
// Before anything is timed, every contender must reach the same verdict on a
// conforming Deployment (all 10 pass) and on a violating one (exactly the
// expected validations fail): a benchmark that times wrong answers times nothing.

import { createHash } from 'node:crypto';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { celEnv, isCelError, parse, plan, type CelInput, type CelResult } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { RE2JS } from '@bufbuild/re2';
import { stringify as toYaml } from 'yaml';
import {
  celCompiler,
  evaluateAll,
  evidenceFor as evidenceForPolicies,
  evidenceView,
  jsonToCel,
  PolicyEngine,
  policiesFromSources,
  PREDICATE,
  type EvaluationInput,
  type PolicyResult,
  type PolicySource,
  type VerifiedStatement,
} from '../src/policy/index.ts';
import { toCelValue } from '../src/policy/cel/index.ts';
import { fmtInt, median, quantile, table } from './common.ts';

// ---------------------------------------------------------------- options

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    workers: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    'pool-heap': { type: 'string', default: '256' },
  },
  strict: true,
});

function positiveInt(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return n;
}

/** Decisions per contender per round. */
const COUNT = positiveInt(args.count, 'count');
const ROUNDS = positiveInt(args.rounds, 'rounds');
const CONCURRENCY = positiveInt(args.concurrency, 'concurrency');
const WORKERS = positiveInt(args.workers, 'workers');
/** maxOldGenerationSizeMb of the second engine (the default is 128). */
const POOL_HEAP_MB = positiveInt(args['pool-heap'], 'pool-heap');
const WARMUP = Math.min(COUNT, 2000);
/** Decisions per slice when contenders alternate within a round. */
const SLICE = 200;

// ---------------------------------------------------------------- fixtures

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const IMAGE_NAMES = ['registry.acme.io/payments/api', 'registry.acme.io/platform/envoy', 'ghcr.io/acme/log-shipper'];
const pinned = (name: string, tag: string): string => `${name}:${tag}@sha256:${sha(name + tag)}`;

function container(i: number, name: string, image: string, port: number): Record<string, unknown> {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    args: ['--config=/etc/app/config.yaml', `--listen=:${port}`, '--log-format=json'],
    ports: [
      { name: 'http', containerPort: port, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090 + i, protocol: 'TCP' },
    ],
    env: [
      { name: 'APP_ENV', value: 'production' },
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector.observability.svc:4317' },
      { name: 'OTEL_SERVICE_NAME', value: name },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
      { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'payments-db', key: 'url' } } },
      { name: 'GOMEMLIMIT', valueFrom: { resourceFieldRef: { containerName: name, resource: 'limits.memory' } } },
    ],
    resources: {
      requests: { cpu: `${250 * (i + 1)}m`, memory: `${256 * (i + 1)}Mi` },
      limits: { cpu: `${i + 1}`, memory: `${512 * (i + 1)}Mi` },
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 10001,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    livenessProbe: { httpGet: { path: '/healthz', port }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/readyz', port }, periodSeconds: 5, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 },
    startupProbe: { tcpSocket: { port }, periodSeconds: 2, failureThreshold: 30 },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/app', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
}

/** An apps/v1 Deployment as `kubectl apply` would send it: three containers, probes, resources, security contexts. */
function conformingDeployment(): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'payments-api',
      namespace: 'payments',
      labels: {
        'app.kubernetes.io/name': 'payments-api',
        'app.kubernetes.io/version': '2.14.3',
        'app.kubernetes.io/component': 'api',
        'app.kubernetes.io/part-of': 'payments',
        'app.kubernetes.io/managed-by': 'argocd',
        team: 'payments',
        'cost-center': 'cc-4411',
      },
      annotations: {
        'deployment.kubernetes.io/revision': '57',
        'argocd.argoproj.io/tracking-id': 'payments:apps/Deployment:payments/payments-api',
        'warrant.dev/subject': `sha256:${sha('subject')}`,
        'kubectl.kubernetes.io/restartedAt': '2026-11-30T09:12:44Z',
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
      },
    },
    spec: {
      replicas: 4,
      revisionHistoryLimit: 5,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'payments-api' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: { 'app.kubernetes.io/name': 'payments-api', 'app.kubernetes.io/version': '2.14.3', team: 'payments' },
          annotations: { 'prometheus.io/scrape': 'true', 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' },
        },
        spec: {
          serviceAccountName: 'payments-api',
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 45,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            container(0, 'api', pinned(IMAGE_NAMES[0]!, '2.14.3'), 8080),
            container(1, 'envoy', pinned(IMAGE_NAMES[1]!, '1.32.1'), 8443),
            container(2, 'log-shipper', pinned(IMAGE_NAMES[2]!, '0.9.0'), 2020),
          ],
          volumes: [
            { name: 'config', configMap: { name: 'payments-api-config', defaultMode: 420 } },
            { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
          ],
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    topologyKey: 'kubernetes.io/hostname',
                    labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'payments-api' } },
                  },
                },
              ],
            },
          },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'topology.kubernetes.io/zone',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'payments-api' } },
            },
          ],
          tolerations: [{ key: 'workload', operator: 'Equal', value: 'payments', effect: 'NoSchedule' }],
        },
      },
    },
  };
}

/**
 * The same Deployment with six faults: an unpinned image from Docker Hub, no
 * limits on that container, a privileged container, one replica, a hostPath
 * volume. Labels and the pod-level runAsNonRoot are still fine.
 */
function violatingDeployment(): Record<string, unknown> {
  const d = structuredClone(conformingDeployment()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  d.metadata.name = 'payments-api-bad';
  d.spec.replicas = 1;
  const pod = d.spec.template.spec;
  pod.containers[1].image = 'docker.io/library/nginx:1.27';
  delete pod.containers[1].resources.limits;
  pod.containers[2].securityContext.privileged = true;
  pod.volumes.push({ name: 'host-logs', hostPath: { path: '/var/log', type: 'Directory' } });
  return d as Record<string, unknown>;
}

function statement(predicateType: string, predicate: Record<string, unknown>): VerifiedStatement {
  return {
    statement: {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: IMAGE_NAMES[0]!, digest: { sha256: sha(IMAGE_NAMES[0]! + '2.14.3') } }],
      predicateType,
      predicate,
    },
    signer: 'https://github.com/acme/payments/.github/workflows/release.yml@refs/heads/main',
  };
}

/** SLSA provenance v1, a CycloneDX SBOM of 50 components and a vulns v0.1 scan, as evidenceView receives them. */
function verifiedStatements(critical: boolean): VerifiedStatement[] {
  const commit = sha('commit').slice(0, 40);
  const provenance = statement(PREDICATE.slsaProvenanceV1, {
    buildDefinition: {
      buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      externalParameters: {
        workflow: { ref: 'refs/heads/main', repository: 'https://github.com/acme/payments', path: '.github/workflows/release.yml' },
      },
      internalParameters: { github: { event_name: 'push', repository_id: '712345678', repository_owner_id: '1234567' } },
      resolvedDependencies: [{ uri: `git+https://github.com/acme/payments@refs/heads/main`, digest: { gitCommit: commit } }],
    },
    runDetails: {
      builder: { id: 'https://github.com/acme/build-infra/.github/workflows/builder.yml@refs/tags/v3.2.0' },
      metadata: { invocationId: 'https://github.com/acme/payments/actions/runs/9876543210/attempts/1', startedOn: '2026-11-30T09:01:12Z' },
    },
  });
  const ecosystems = ['npm', 'golang', 'pypi', 'maven'];
  const components = Array.from({ length: 50 }, (_, i) => {
    const eco = ecosystems[i % ecosystems.length]!;
    const name = `component-${i}`;
    const version = `${1 + (i % 7)}.${i % 13}.${i % 5}`;
    return {
      type: 'library',
      'bom-ref': `pkg:${eco}/${name}@${version}`,
      name,
      version,
      purl: `pkg:${eco}/${name}@${version}`,
      licenses: [{ license: { id: i % 3 === 0 ? 'MIT' : 'Apache-2.0' } }],
      hashes: [{ alg: 'SHA-256', content: sha(name + version) }],
    };
  });
  const sbom = statement(PREDICATE.cyclonedx, {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    version: 1,
    metadata: { timestamp: '2026-11-30T09:04:51Z', component: { type: 'container', name: 'payments-api', version: '2.14.3' } },
    components,
  });
  const finding = (id: string, score: string) => ({ id, severity: [{ method: 'CVSSv3', score }] });
  const vulns = statement(PREDICATE.vulns, {
    invocation: { uri: 'https://github.com/acme/payments/actions/runs/9876543210', producer_id: 'trivy' },
    scanner: {
      uri: 'pkg:github/aquasecurity/trivy@v0.58.1',
      version: '0.58.1',
      db: { uri: 'pkg:github/aquasecurity/trivy-db', version: '2026-11-30' },
      result: [
        finding('CVE-2026-10001', '7.5'),
        finding('CVE-2026-10002', '5.3'),
        finding('CVE-2026-10003', '3.1'),
        finding('GHSA-abcd-1234-wxyz', '6.1'),
        ...(critical ? [finding('CVE-2026-19999', '9.8')] : []),
      ],
    },
    metadata: { scanStartedOn: '2026-11-30T09:05:00Z', scanFinishedOn: '2026-11-30T09:05:42Z' },
  });
  return [provenance, sbom, vulns];
}

function evidenceFor(critical: boolean): Record<string, unknown> {
  return evidenceView([`sha256:${sha(IMAGE_NAMES[0]! + '2.14.3')}`], verifiedStatements(critical));
}

// ---------------------------------------------------------------- the policy

interface ValidationSpec {
  expression: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
}

const VARIABLES: { name: string; expression: string }[] = [
  { name: 'containers', expression: 'object.spec.template.spec.containers' },
  { name: 'pod', expression: 'object.spec.template.spec' },
];

/** Ten checks of the kind real admission policies make, in the order the table and the checks use. */
const VALIDATIONS: ValidationSpec[] = [
  {
    expression: "variables.containers.all(c, c.image.contains('@sha256:'))",
    message: 'every image must be pinned by digest',
    reason: 'Forbidden',
  },
  {
    expression: String.raw`variables.containers.all(c, c.image.matches(r'^(registry\.acme\.io|ghcr\.io/acme)/[a-z0-9._/-]+(:[A-Za-z0-9._-]+)?@sha256:[a-f0-9]{64}$'))`,
    messageExpression:
      "'images must come from registry.acme.io or ghcr.io/acme: ' + variables.containers.map(c, c.image).join(', ')",
  },
  {
    expression:
      '(has(variables.pod.securityContext) && has(variables.pod.securityContext.runAsNonRoot) && variables.pod.securityContext.runAsNonRoot) || ' +
      'variables.containers.all(c, has(c.securityContext) && has(c.securityContext.runAsNonRoot) && c.securityContext.runAsNonRoot)',
    message: 'pods must run as non-root',
  },
  {
    expression: "variables.containers.all(c, has(c.resources) && has(c.resources.limits) && 'cpu' in c.resources.limits && 'memory' in c.resources.limits)",
    message: 'every container needs cpu and memory limits',
  },
  {
    expression: 'object.spec.replicas >= 2 && object.spec.replicas <= 50',
    messageExpression: "'replicas must be between 2 and 50, got ' + string(object.spec.replicas)",
    reason: 'Invalid',
  },
  {
    expression: "['app.kubernetes.io/name', 'app.kubernetes.io/version', 'team'].all(l, l in object.metadata.labels && object.metadata.labels[l] != '')",
    message: 'labels app.kubernetes.io/name, app.kubernetes.io/version and team are required',
  },
  {
    expression: 'variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || !c.securityContext.privileged)',
    message: 'privileged containers are not allowed',
  },
  {
    expression: '!has(variables.pod.volumes) || variables.pod.volumes.all(v, !has(v.hostPath))',
    message: 'hostPath volumes are not allowed',
  },
  {
    expression: "evidence.provenance.present && evidence.provenance.builderId.startsWith('https://github.com/acme/')",
    messageExpression: "'no provenance from a trusted builder for ' + object.metadata.name",
  },
  {
    expression: 'evidence.vulnerabilities.present && evidence.vulnerabilities.critical == 0',
    messageExpression:
      "string(evidence.vulnerabilities.critical) + ' critical vulnerabilities: ' + " +
      "evidence.vulnerabilities.findings.filter(f, f.severity == 'critical').map(f, f.id).join(', ')",
  },
];

/** Validations the violating input must fail (indices into VALIDATIONS); the others must pass. */
const EXPECTED_FAILURES = [0, 1, 3, 4, 6, 7, 9];

const POLICY = {
  apiVersion: 'warrant.dev/v1alpha1',
  kind: 'Policy',
  metadata: { name: 'production-deployments' },
  spec: {
    mode: 'enforce',
    failurePolicy: 'Fail',
    matchConstraints: {
      resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }],
    },
    variables: VARIABLES,
    validations: VALIDATIONS,
  },
};

const SOURCES: PolicySource[] = [{ file: 'bench/production-deployments.yaml', text: toYaml(POLICY, { lineWidth: 0 }) }];

// ---------------------------------------------------------------- contenders

/** What a decision came to: the indices of the failing validations, and the messages of those failures. */
interface Verdict {
  failed: number[];
  messages: string[];
}

/** One decision; returns the value so it cannot be optimised away. */
type Decide = () => unknown;

/**
 * The "tuned" raw setup from the research: @bufbuild/cel with the strings
 * extension and a cached RE2 passed as celEnv({ re2 }), the 2 variables and
 * 10 validations parsed and planned once. A decision evaluates the variables,
 * then every validation, then the message of any that failed, exactly the CEL
 * work warrant does, and nothing else: no matching, no result objects.
 */
class RawPolicy {
  readonly #variables: { name: string; run: (ctx: Record<string, CelInput>) => CelResult }[];
  readonly #validations: { run: (ctx: Record<string, CelInput>) => CelResult; message: ((ctx: Record<string, CelInput>) => CelResult) | string }[];

  constructor() {
    const cache = new Map<string, RE2JS>();
    const re2 = {
      compile(pattern: string): RE2JS {
        let re = cache.get(pattern);
        if (re === undefined) cache.set(pattern, (re = RE2JS.compile(pattern)));
        return re;
      },
    };
    const env = celEnv({ funcs: [...strings], re2 });
    const compile = (source: string) => plan(env, parse(source)) as (ctx: Record<string, CelInput>) => CelResult;
    this.#variables = VARIABLES.map((v) => ({ name: v.name, run: compile(v.expression) }));
    this.#validations = VALIDATIONS.map((v) => ({
      run: compile(v.expression),
      message: v.messageExpression !== undefined ? compile(v.messageExpression) : (v.message ?? `failed expression: ${v.expression}`),
    }));
  }

  /** Bindings already converted to CEL input. */
  decide(object: CelInput, evidence: CelInput): Verdict {
    const variables: Record<string, CelInput> = {};
    const ctx: Record<string, CelInput> = { object, evidence, variables };
    for (const v of this.#variables) {
      const r = v.run(ctx);
      if (isCelError(r)) throw new Error(`raw variable ${v.name}: ${r.message}`);
      variables[v.name] = r as CelInput;
    }
    const failed: number[] = [];
    const messages: string[] = [];
    for (let i = 0; i < this.#validations.length; i++) {
      const v = this.#validations[i]!;
      const r = v.run(ctx);
      if (typeof r !== 'boolean') throw new Error(`raw validation ${i} did not give a bool: ${isCelError(r) ? r.message : String(r)}`);
      if (r) continue;
      failed.push(i);
      const m = typeof v.message === 'string' ? v.message : v.message(ctx);
      messages.push(typeof m === 'string' ? m : `raw message ${i} failed`);
    }
    return { failed, messages };
  }

  /** Each compiled expression alone, for the breakdown. */
  expressions(): { label: string; run: (ctx: Record<string, CelInput>) => CelResult }[] {
    return [
      ...this.#variables.map((v) => ({ label: `variables.${v.name}`, run: v.run })),
      ...this.#validations.map((v, i) => ({ label: `validation ${i}`, run: v.run })),
    ];
  }
}

function verdictOf(results: readonly PolicyResult[]): Verdict {
  if (results.length !== 1) throw new Error(`expected one policy result, got ${results.length}`);
  const r = results[0]!;
  const failed = r.validations.filter((v) => v.result === 'fail').map((v) => v.index);
  const errors = r.validations.filter((v) => v.result === 'error');
  if (errors.length > 0 || r.result === 'indeterminate' || r.result === 'skip') {
    throw new Error(`policy result ${r.result}: ${r.message ?? ''} ${errors.map((e) => e.message).join('; ')}`);
  }
  if (r.validations.length !== VALIDATIONS.length) throw new Error(`expected ${VALIDATIONS.length} validation results, got ${r.validations.length}`);
  const expected = failed.length === 0 ? 'pass' : 'fail';
  if (r.result !== expected || r.effect !== (failed.length === 0 ? 'allow' : 'deny')) throw new Error(`policy result ${r.result}/${r.effect}, expected ${expected}`);
  return { failed, messages: r.validations.filter((v) => v.result === 'fail').map((v) => v.message ?? '') };
}

function sameVerdict(label: string, got: Verdict, want: Verdict): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${label}: ${JSON.stringify(got)} differs from ${JSON.stringify(want)}`);
  }
}

interface SyncContender {
  name: string;
  decide: Decide;
}

// ---------------------------------------------------------------- timing

/** Results go somewhere observable so no decision can be optimised away. */
const sink = { value: undefined as unknown };

interface Samples {
  name: string;
  /** Per-decision latency, microseconds, over every round. */
  latencies: number[];
  /** Decisions per second, one per round. */
  rates: number[];
}

interface Summary {
  name: string;
  rate: number;
  usPerDecision: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

function newSamples(name: string): Samples {
  return { name, latencies: [], rates: [] };
}

/** A small seeded PRNG, so the slice order is random but the same in every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 0..n-1 in random order. */
function shuffled(n: number, random: () => number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function summarize(s: Samples): Summary {
  const sorted = [...s.latencies].sort((a, b) => a - b);
  const rate = median(s.rates);
  return {
    name: s.name,
    rate,
    usPerDecision: 1e6 / rate,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: sorted[sorted.length - 1]!,
  };
}

/** Runs n decisions one after another, timing each; returns the summed seconds. */
function runSync(decide: Decide, n: number, into: number[]): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    sink.value = decide();
    const dt = performance.now() - t;
    total += dt;
    into.push(dt * 1000);
  }
  return total / 1000;
}

async function runSequentialPool(engine: PolicyEngine, input: EvaluationInput, n: number, into: number[]): Promise<number> {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    sink.value = await engine.evaluate(input);
    const dt = performance.now() - t;
    total += dt;
    into.push(dt * 1000);
  }
  return total / 1000;
}

/** n decisions with `lanes` in flight at all times; returns wall seconds. Latency counts queueing. */
async function runConcurrentPool(engine: PolicyEngine, input: EvaluationInput, n: number, lanes: number, into: number[]): Promise<number> {
  let next = 0;
  const start = performance.now();
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      const t = performance.now();
      sink.value = await engine.evaluate(input);
      into.push((performance.now() - t) * 1000);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return (performance.now() - start) / 1000;
}

// ---------------------------------------------------------------- report


/** Median microseconds per call of fn, over `rounds` passes of n calls. */
function usPerCall(fn: () => unknown, n: number, rounds = 5): number {
  for (let i = 0; i < Math.min(n, 500); i++) sink.value = fn();
  const passes: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) sink.value = fn();
    passes.push(((performance.now() - t) * 1000) / n);
  }
  return median(passes);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const t0 = performance.now();
  console.log('warrant policy evaluation benchmark (bench/policy.ts)');
  console.log(`date: ${new Date().toISOString()}`);
  console.log(`node: ${process.version} (${process.platform}/${process.arch}); @bufbuild/cel 0.6.1`);
  console.log(`cpu: ${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(
    `decisions: ${COUNT} per contender per round, ${ROUNDS} rounds (median rate reported; latency percentiles over all ` +
      `${fmtInt(COUNT * ROUNDS)}); warm-up ${WARMUP}; pool: ${WORKERS} workers, ${CONCURRENCY} in flight for throughput`,
  );

  const good: EvaluationInput = { object: conformingDeployment(), evidence: evidenceFor(false) };
  const bad: EvaluationInput = { object: violatingDeployment(), evidence: evidenceFor(true) };
  const components = ((good.evidence!.sbom as { components: unknown[] }).components).length;
  console.log(
    `input: Deployment ${fmtInt(JSON.stringify(good.object).length)} B JSON (3 containers), evidence view ` +
      `${fmtInt(JSON.stringify(good.evidence).length)} B JSON (provenance, SBOM of ${components} components, ` +
      `${(good.evidence!.vulnerabilities as { findings: unknown[] }).findings.length} findings); ` +
      `pool request ${fmtInt(serialize({ input: good }).byteLength)} B serialized`,
  );
  console.log(`policy: ${VALIDATIONS.length} validations, ${VARIABLES.length} variables, ${SOURCES[0]!.text.length} B of YAML`);

  // --- compile once
  const set = policiesFromSources(SOURCES, celCompiler);
  const raw = new RawPolicy();
  // The engine as shipped (workers at the default old-generation cap),
  // and the same with an explicit cap: see "pool" in docs/performance.md.
  const engine = await PolicyEngine.fromSources(SOURCES, { workers: WORKERS });
  const engineBig = await PolicyEngine.fromSources(SOURCES, { workers: WORKERS, maxOldGenerationSizeMb: POOL_HEAP_MB });

  // Conversion done once, up front, for the "conversion excluded" variants.
  const preconverted = new Map<unknown, unknown>();
  for (const input of [good, bad]) {
    preconverted.set(input.object, jsonToCel(input.object));
    preconverted.set(input.evidence, jsonToCel(input.evidence));
  }
  // evaluateAll passes only the evidence sections the policy set names; the
  // preconverted variant gets its evidence already cut that way, converted up front.
  const trimmedEvidence = evidenceForPolicies(set, good.evidence as Record<string, unknown>);
  const goodTrimmed = { ...good, evidence: trimmedEvidence };
  preconverted.set(trimmedEvidence, jsonToCel(trimmedEvidence));
  const memoToCel = (v: unknown): unknown => preconverted.get(v) ?? jsonToCel(v);
  const conv = (v: unknown): CelInput => preconverted.get(v) as CelInput;

  // --- correctness before timing
  const expectGood: Verdict = { failed: [], messages: [] };
  const badRaw = raw.decide(toCelValue(bad.object), toCelValue(bad.evidence!));
  if (JSON.stringify(badRaw.failed) !== JSON.stringify(EXPECTED_FAILURES)) {
    throw new Error(`raw: the violating Deployment failed ${JSON.stringify(badRaw.failed)}, expected ${JSON.stringify(EXPECTED_FAILURES)}`);
  }
  sameVerdict('raw, conforming', raw.decide(toCelValue(good.object), toCelValue(good.evidence!)), expectGood);
  sameVerdict('raw, conforming, preconverted', raw.decide(conv(good.object), conv(good.evidence)), expectGood);
  sameVerdict('raw, violating, preconverted', raw.decide(conv(bad.object), conv(bad.evidence)), badRaw);
  for (const [label, toCel] of [['evaluateAll', jsonToCel], ['evaluateAll (preconverted)', memoToCel]] as const) {
    sameVerdict(`${label}, conforming`, verdictOf(evaluateAll(set, good, toCel)), expectGood);
    sameVerdict(`${label}, violating`, verdictOf(evaluateAll(set, bad, toCel)), badRaw);
  }
  for (const [label, e] of [['PolicyEngine', engine], [`PolicyEngine (${POOL_HEAP_MB} MB)`, engineBig]] as const) {
    const poolGood = await e.evaluate(good);
    const poolBad = await e.evaluate(bad);
    sameVerdict(`${label}, conforming`, verdictOf(poolGood), expectGood);
    sameVerdict(`${label}, violating`, verdictOf(poolBad), badRaw);
    // The pool's results must be the in-process results, field for field.
    if (JSON.stringify(poolGood) !== JSON.stringify(evaluateAll(set, good, jsonToCel))) throw new Error(`${label}: pool and in-process results differ (conforming)`);
    if (JSON.stringify(poolBad) !== JSON.stringify(evaluateAll(set, bad, jsonToCel))) throw new Error(`${label}: pool and in-process results differ (violating)`);
  }
  console.log(
    `checked: raw, evaluateAll and both PolicyEngines agree: conforming passes all 10; violating fails exactly ` +
      `[${EXPECTED_FAILURES.join(', ')}] with the same messages (e.g. "${badRaw.messages[badRaw.messages.length - 1]}")`,
  );

  // --- contenders, timed on the conforming input (all 10 validations run to true)
  const goodObj = conv(good.object);
  const goodEv = conv(good.evidence);
  const sync: SyncContender[] = [
    { name: '(a0) raw @bufbuild/cel, input preconverted', decide: () => raw.decide(goodObj, goodEv) },
    { name: '(a1) raw @bufbuild/cel + toCelValue per decision', decide: () => raw.decide(toCelValue(good.object), toCelValue(good.evidence!)) },
    { name: '(b0) evaluateAll, object/evidence preconverted', decide: () => evaluateAll(set, goodTrimmed, memoToCel) },
    { name: '(b1) evaluateAll(set, input, jsonToCel), as shipped', decide: () => evaluateAll(set, good, jsonToCel) },
    { name: '(a1v) raw + toCelValue, violating input', decide: () => raw.decide(toCelValue(bad.object), toCelValue(bad.evidence!)) },
    { name: '(b1v) evaluateAll as shipped, violating input', decide: () => evaluateAll(set, bad, jsonToCel) },
  ];
  const samples: Samples[] = sync.map((c) => ({ name: c.name, latencies: [] as number[], rates: [] as number[] }));
  const pools = [
    { engine, seq: newSamples('(c1) PolicyEngine.evaluate, sequential'), conc: newSamples(`(c${CONCURRENCY}) PolicyEngine.evaluate, ${CONCURRENCY} in flight`) },
    {
      engine: engineBig,
      seq: newSamples(`(c1h) same, maxOldGenerationSizeMb ${POOL_HEAP_MB}, sequential`),
      conc: newSamples(`(c${CONCURRENCY}h) same, ${POOL_HEAP_MB} MB, ${CONCURRENCY} in flight`),
    },
  ];

  for (const c of sync) runSync(c.decide, WARMUP, []);
  for (const p of pools) {
    await runSequentialPool(p.engine, good, Math.min(WARMUP, 1000), []);
    await runConcurrentPool(p.engine, good, Math.min(WARMUP, 1000), CONCURRENCY, []);
  }

  // Within a round the in-process contenders take turns on slices of SLICE
  // decisions, in a fresh random order per slice (so no contender always
  // follows the same one and inherits its garbage), and load from elsewhere
  // lands on all of them alike. The pool runs next, in its own phase: its
  // worker threads keep collecting garbage after a slice ends. The two
  // engines alternate by slices there too; the concurrent runs follow.
  const random = mulberry32(0x5eed);
  for (let r = 0; r < ROUNDS; r++) {
    const seconds = new Array<number>(sync.length).fill(0);
    for (let from = 0; from < COUNT; from += SLICE) {
      const n = Math.min(SLICE, COUNT - from);
      for (const j of shuffled(sync.length, random)) seconds[j]! += runSync(sync[j]!.decide, n, samples[j]!.latencies);
    }
    seconds.forEach((s, j) => samples[j]!.rates.push(COUNT / s));
    const poolSeconds = pools.map(() => 0);
    for (let from = 0; from < COUNT; from += SLICE) {
      const n = Math.min(SLICE, COUNT - from);
      for (const j of shuffled(pools.length, random)) poolSeconds[j]! += await runSequentialPool(pools[j]!.engine, good, n, pools[j]!.seq.latencies);
    }
    poolSeconds.forEach((s, j) => pools[j]!.seq.rates.push(COUNT / s));
    for (const j of shuffled(pools.length, random)) {
      const p = pools[j]!;
      p.conc.rates.push(COUNT / (await runConcurrentPool(p.engine, good, COUNT, CONCURRENCY, p.conc.latencies)));
    }
  }
  await engine.close();
  await engineBig.close();

  const measured = [...samples, ...pools.flatMap((p) => [p.seq, p.conc])];
  const all = measured.map(summarize);
  const byTag = (tag: string): Summary => all.find((s) => s.name.startsWith(`(${tag})`))!;
  const a0 = byTag('a0');
  const a1 = byTag('a1');
  const b0 = byTag('b0');
  const b1 = byTag('b1');
  const c1 = byTag('c1');
  const cn = byTag(`c${CONCURRENCY}`);
  const c1h = byTag('c1h');
  const cnh = byTag(`c${CONCURRENCY}h`);
  const us = (x: number): string => x.toFixed(1);
  const ratio = (s: Summary): string => {
    if (s.name.startsWith('(a0')) return '1.00';
    const base = s.name.startsWith('(b0') ? a0 : a1;
    return (s.usPerDecision / base.usPerDecision).toFixed(2);
  };
  console.log('');
  console.log('conforming input unless noted; "x raw" is time per decision over (a0) for (b0), over (a1) for everything else:');
  console.log(
    table(
      ['contender', 'decisions/s', 'us/decision', 'p50 us', 'p99 us', 'p999 us', 'max us', 'x raw'],
      all.map((s) => [s.name, fmtInt(s.rate), us(s.usPerDecision), us(s.p50), us(s.p99), us(s.p999), fmtInt(s.max), ratio(s)]),
    ),
  );
  console.log(`rounds (decisions/s): ${measured.map((m) => `${m.name.slice(0, m.name.indexOf(')') + 1)} ${m.rates.map(fmtInt).join(', ')}`).join('; ')}`);

  // --- where the time goes
  const ctxGood: Record<string, CelInput> = { object: goodObj, evidence: goodEv, variables: {} };
  const exprs = raw.expressions();
  for (const e of exprs.slice(0, VARIABLES.length)) {
    (ctxGood.variables as Record<string, CelInput>)[e.label.slice('variables.'.length)] = e.run(ctxGood) as CelInput;
  }
  const N = 5000;
  const parts: [string, number][] = [
    ['toCelValue(Deployment)', usPerCall(() => toCelValue(good.object), 2000)],
    ['toCelValue(evidence view)', usPerCall(() => toCelValue(good.evidence!), 2000)],
    ...exprs.map((e): [string, number] => [`raw ${e.label}: ${(e.label.startsWith('variables.') ? VARIABLES.find((v) => `variables.${v.name}` === e.label)!.expression : VALIDATIONS[Number(e.label.split(' ')[1])]!.expression).slice(0, 60)}`, usPerCall(() => e.run(ctxGood), N)]),
  ];
  const regexCompile = usPerCall(() => RE2JS.compile(`^x${Math.random()}$`), 500);
  const request = serialize({ input: good });
  const results = evaluateAll(set, good, jsonToCel);
  parts.push(
    ['pool: v8.serialize(request) on the main thread', usPerCall(() => serialize({ input: good }), 2000)],
    ['pool: v8.deserialize(request), as the worker does', usPerCall(() => deserialize(request), 2000)],
    ['pool: structuredClone(results), the reply', usPerCall(() => structuredClone(results), 2000)],
  );
  console.log('');
  console.log('parts, each alone (median us per call):');
  console.log(table(['part', 'us'], parts.map(([k, v]) => [k, v.toFixed(2)])));
  const exprSum = parts.slice(2, 2 + exprs.length).reduce((s, [, v]) => s + v, 0);
  const convSum = parts[0]![1] + parts[1]![1];
  console.log(
    `sum of the 12 expressions ${exprSum.toFixed(1)} us; conversion ${convSum.toFixed(1)} us; ` +
      `(a0) ${us(a0.usPerDecision)} us; (b1) - (a1) = ${us(b1.usPerDecision - a1.usPerDecision)} us of warrant overhead; ` +
      `an uncached RE2JS.compile costs ${regexCompile.toFixed(0)} us`,
  );

  // --- targets
  const over = (b: Summary, a: Summary): number => b.usPerDecision / a.usPerDecision - 1;
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const met = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');
  console.log('');
  console.log(`target p99 < 1 ms per decision, (b1) evaluateAll:        ${met(b1.p99 < 1000)} (p99 ${us(b1.p99)} us)`);
  for (const [label, c, n] of [['(c1) pool sequential', c1, cn], [`(c1h) pool sequential, ${POOL_HEAP_MB} MB`, c1h, cnh]] as const) {
    console.log(`target p99 < 1 ms per decision, ${label}: ${met(c.p99 < 1000)} (p99 ${us(c.p99)} us; ${CONCURRENCY} in flight: p99 ${us(n.p99)} us incl. queueing, ${fmtInt(n.rate)} decisions/s)`);
  }
  console.log(`target overhead (b) over (a) <= 25%, conversion counted in both (b1 vs a1):   ${met(over(b1, a1) <= 0.25)} (${pct(over(b1, a1))})`);
  console.log(`target overhead (b) over (a) <= 25%, conversion counted in neither (b0 vs a0): ${met(over(b0, a0) <= 0.25)} (${pct(over(b0, a0))})`);
  console.log(
    `pool over in-process, time per decision: (c1) / (b1) = ${(c1.usPerDecision / b1.usPerDecision).toFixed(2)} x, ` +
      `(c1h) / (b1) = ${(c1h.usPerDecision / b1.usPerDecision).toFixed(2)} x; throughput (c${CONCURRENCY}) / (b1) = ${(cn.rate / b1.rate).toFixed(2)} x, ` +
      `(c${CONCURRENCY}h) / (b1) = ${(cnh.rate / b1.rate).toFixed(2)} x`,
  );
  console.log('');
  console.log(`total time: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

await main();
