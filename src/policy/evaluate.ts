import { matchesResources, resourceForKind, type RequestCoordinates } from './match.ts';
import type { Binding, Expression, Policy, PolicySet, ValidationAction } from './model.ts';

/** A compiled expression as the evaluator runs it (the CEL module provides it). */
export interface Evaluable {
  evaluate(bindings: Record<string, unknown>): { ok: true; value: unknown } | { ok: false; error: { message: string } };
}

export type PolicyOutcome = 'pass' | 'fail' | 'skip' | 'error' | 'indeterminate';
export type Effect = 'allow' | 'deny' | 'warn' | 'audit';

export interface ValidationResult {
  index: number;
  expression: string;
  result: 'pass' | 'fail' | 'error';
  message: string | undefined;
  reason: string | undefined;
}

export interface PolicyResult {
  policy: string;
  /** The policy's apiVersion/kind. */
  policyKind: string;
  /** `namespace/name`, or `name` for cluster-scoped resources. */
  resource: string;
  /** The resource's kind. */
  kind: string;
  binding: string | undefined;
  result: PolicyOutcome;
  /** What the result does, given the validation actions and the failure policy. */
  effect: Effect;
  actions: ValidationAction[];
  failurePolicy: Policy['failurePolicy'];
  validations: ValidationResult[];
  message: string | undefined;
}

/** One thing to decide on: a Kubernetes object (and, for updates, the old one) with its context. */
export interface EvaluationInput {
  object: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  /** AdmissionRequest; synthesized from the object when absent. */
  request?: Record<string, unknown>;
  namespaceObject?: Record<string, unknown> | null;
  /** The documented view of the subject's verified statements (see docs/policy.md). */
  evidence?: Record<string, unknown>;
  /** Resources a ValidatingAdmissionPolicyBinding's paramRef may select. */
  paramsCandidates?: Record<string, unknown>[];
}

/** Evaluates every policy (and every binding of a ValidatingAdmissionPolicy) against one input. */
export function evaluateAll(set: PolicySet<Evaluable>, input: EvaluationInput, toCel: (v: unknown) => unknown): PolicyResult[] {
  const req = coordinates(input);
  // Converted once for all policies: converting JSON to CEL values costs more than most evaluations.
  const shared: Record<string, unknown> = {
    object: toCel(input.object ?? null),
    oldObject: toCel(input.oldObject ?? null),
    request: toCel(input.request ?? synthesizedRequest(input)),
    namespaceObject: toCel(input.namespaceObject ?? null),
    evidence: toCel(evidenceFor(set, input.evidence ?? {})),
  };
  const noParams = toCel(null);
  const out: PolicyResult[] = [];
  for (const policy of set.policies) {
    if (policy.format !== 'kubernetes-vap') {
      out.push(evaluatePolicy(policy, undefined, { ...shared, params: noParams }, input, req));
      continue;
    }
    const bindings = set.bindings.filter((b) => b.policyName === policy.name);
    if (bindings.length === 0) {
      out.push(skipped(policy, input, undefined, 'no ValidatingAdmissionPolicyBinding binds this policy, so it has no effect'));
      continue;
    }
    for (const binding of bindings) {
      if (!matchesResources(binding.match, req)) {
        out.push(skipped(policy, input, binding, 'the binding does not match the resource'));
        continue;
      }
      const params = selectParams(policy, binding, input);
      if (params === 'none') {
        const denies = binding.paramRef?.parameterNotFoundAction !== 'Allow';
        out.push({
          ...base(policy, input, binding),
          result: denies ? 'fail' : 'skip',
          effect: denies ? effectOf('fail', binding.actions, policy.failurePolicy) : 'allow',
          message: 'no parameter resource matches the binding paramRef',
        });
        continue;
      }
      for (const p of params) out.push(evaluatePolicy(policy, binding, { ...shared, params: p === undefined ? noParams : toCel(p) }, input, req));
    }
  }
  return out;
}

const evidenceFields = new WeakMap<PolicySet<Evaluable>, (field: string) => boolean>();

/**
 * The evidence view carries sections (an SBOM's components, every predicate
 * in full under `statements`) whose conversion to CEL costs more than the
 * evaluation. A section is passed only when some expression of the policy set
 * names it; `evidence[name]` with a computed name is not seen (docs/policy.md).
 */
export function evidenceFor(set: PolicySet<Evaluable>, evidence: Record<string, unknown>): Record<string, unknown> {
  if (Object.getPrototypeOf(evidence) !== Object.prototype) return evidence;
  let named = evidenceFields.get(set);
  if (named === undefined) {
    const sources = set.policies.flatMap((p) => [
      ...p.matchConditions,
      ...p.variables,
      ...p.validations.flatMap((v) => [v.expression, ...(v.messageExpression ? [v.messageExpression] : [])]),
    ]).map((e) => e.source);
    const cache = new Map<string, boolean>();
    named = (field) => {
      let hit = cache.get(field);
      if (hit === undefined) cache.set(field, (hit = sources.some((src) => src.includes(field))));
      return hit;
    };
    evidenceFields.set(set, named);
  }
  const keys = Object.keys(evidence);
  if (keys.every(named)) return evidence;
  return Object.fromEntries(keys.filter(named).map((k) => [k, evidence[k]]));
}

function evaluatePolicy(
  policy: Policy<Evaluable>,
  binding: Binding | undefined,
  bindings: Record<string, unknown>,
  input: EvaluationInput,
  req: RequestCoordinates,
): PolicyResult {
  const actions = binding?.actions ?? policy.actions;
  if (!matchesResources(policy.match, req)) return skipped(policy, input, binding, 'the policy does not match the resource');
  const result = (outcome: PolicyOutcome, validations: ValidationResult[], message: string | undefined): PolicyResult => ({
    ...base(policy, input, binding),
    result: outcome,
    effect: effectOf(outcome, actions, policy.failurePolicy),
    validations,
    message,
  });

  for (const condition of policy.matchConditions) {
    const r = condition.compiled.evaluate(bindings);
    if (!r.ok) return result('indeterminate', [], `matchCondition ${condition.name}: ${r.error.message}`);
    if (r.value !== true) {
      if (r.value === false) return skipped(policy, input, binding, `matchCondition ${condition.name} is false`);
      return result('indeterminate', [], `matchCondition ${condition.name} did not evaluate to a bool`);
    }
  }
  // Variables are evaluated in order, each seeing the ones before it. One that
  // fails is left out, so only expressions that use it fail.
  const variables: Record<string, unknown> = {};
  const variableErrors: string[] = [];
  for (const v of policy.variables) {
    const r = v.compiled.evaluate({ ...bindings, variables: variables });
    if (r.ok) variables[v.name] = r.value;
    else variableErrors.push(`variables.${v.name}: ${r.error.message}`);
  }
  const scope = { ...bindings, variables };
  const validations: ValidationResult[] = policy.validations.map((v, index) => {
    const r = v.expression.compiled.evaluate(scope);
    if (!r.ok || typeof r.value !== 'boolean') {
      const why = r.ok ? 'did not evaluate to a bool' : r.error.message;
      const related = variableErrors.find((e) => v.expression.source.includes(e.split(':')[0]!));
      return { index, expression: v.expression.source, result: 'error', message: related ?? why, reason: v.reason };
    }
    if (r.value) return { index, expression: v.expression.source, result: 'pass', message: undefined, reason: v.reason };
    return { index, expression: v.expression.source, result: 'fail', message: messageFor(v, scope), reason: v.reason };
  });
  const failed = validations.find((v) => v.result === 'fail');
  const errored = validations.find((v) => v.result === 'error');
  // A definite failure outranks an error: one failing validation is enough to decide.
  if (failed) return result('fail', validations, failed.message);
  if (errored) return result('indeterminate', validations, `validation ${errored.index}: ${errored.message}`);
  return result('pass', validations, undefined);
}

function messageFor(v: Policy<Evaluable>['validations'][number], scope: Record<string, unknown>): string {
  if (v.messageExpression) {
    const m = (v.messageExpression as Expression<Evaluable>).compiled.evaluate(scope);
    // Kubernetes falls back to the static message when the expression errs or is not a non-empty string.
    if (m.ok && typeof m.value === 'string' && m.value.trim() !== '' && m.value.length <= 5000 && !m.value.includes('\n')) {
      return m.value;
    }
  }
  return v.message ?? `failed expression: ${v.expression.source}`;
}

/** What a result does: a failure acts by its validation actions; an indeterminate one by the failure policy. */
export function effectOf(outcome: PolicyOutcome, actions: ValidationAction[], failurePolicy: Policy['failurePolicy']): Effect {
  const failing = outcome === 'fail' || ((outcome === 'indeterminate' || outcome === 'error') && failurePolicy === 'Fail');
  if (!failing) return 'allow';
  if (actions.includes('Deny')) return 'deny';
  if (actions.includes('Warn')) return 'warn';
  return 'audit';
}

function base(policy: Policy<Evaluable>, input: EvaluationInput, binding: Binding | undefined) {
  return {
    policy: policy.name,
    policyKind: policy.kind,
    resource: resourceName(input),
    kind: String((input.object ?? input.oldObject)?.kind ?? ''),
    binding: binding?.name,
    actions: binding?.actions ?? policy.actions,
    failurePolicy: policy.failurePolicy,
    validations: [] as ValidationResult[],
    message: undefined as string | undefined,
  };
}

function skipped(policy: Policy<Evaluable>, input: EvaluationInput, binding: Binding | undefined, why: string): PolicyResult {
  return { ...base(policy, input, binding), result: 'skip', effect: 'allow', message: why };
}

export function resourceName(input: EvaluationInput): string {
  const meta = ((input.object ?? input.oldObject)?.metadata ?? {}) as { name?: string; namespace?: string };
  return meta.namespace ? `${meta.namespace}/${meta.name ?? ''}` : (meta.name ?? '');
}

function selectParams(policy: Policy<Evaluable>, binding: Binding, input: EvaluationInput): unknown[] | 'none' {
  if (policy.paramKind === undefined || binding.paramRef === undefined) return [undefined];
  const ref = binding.paramRef;
  const { apiVersion, kind } = policy.paramKind;
  const candidates = (input.paramsCandidates ?? []).filter((p) => p.apiVersion === apiVersion && p.kind === kind);
  const chosen = candidates.filter((p) => {
    const meta = (p.metadata ?? {}) as { name?: string; namespace?: string; labels?: Record<string, string> };
    if (ref.name !== undefined && meta.name !== ref.name) return false;
    const ns = ref.namespace ?? (resourceName(input).includes('/') ? resourceName(input).split('/')[0] : undefined);
    if (ns !== undefined && meta.namespace !== undefined && meta.namespace !== ns) return false;
    if (ref.selector !== undefined) {
      const labels = meta.labels ?? {};
      for (const [k, v] of Object.entries(ref.selector.matchLabels ?? {})) if (labels[k] !== v) return false;
    }
    return true;
  });
  return chosen.length === 0 ? 'none' : chosen;
}

function coordinates(input: EvaluationInput): RequestCoordinates {
  const obj = (input.object ?? input.oldObject ?? {}) as Record<string, unknown>;
  const req = input.request as
    | { kind?: { group?: string; version?: string }; resource?: { group?: string; version?: string; resource?: string }; subResource?: string; operation?: string; namespace?: string }
    | undefined;
  const [group, version] = splitApiVersion(String(obj.apiVersion ?? ''));
  const meta = (obj.metadata ?? {}) as { namespace?: string; labels?: Record<string, string> };
  const namespace = req?.namespace ?? meta.namespace ?? '';
  const nsMeta = ((input.namespaceObject ?? {}) as { metadata?: { labels?: Record<string, string> } }).metadata;
  return {
    group: req?.resource?.group ?? group,
    version: req?.resource?.version ?? version,
    resource: req?.resource?.resource ?? resourceForKind(String(obj.kind ?? '')),
    subResource: req?.subResource ?? '',
    operation: req?.operation ?? (input.oldObject ? (input.object ? 'UPDATE' : 'DELETE') : 'CREATE'),
    namespace,
    labels: meta.labels ?? {},
    // Kubernetes labels every namespace with its own name.
    namespaceLabels: { 'kubernetes.io/metadata.name': namespace, ...(nsMeta?.labels ?? {}) },
  };
}

function splitApiVersion(apiVersion: string): [string, string] {
  const i = apiVersion.indexOf('/');
  return i < 0 ? ['', apiVersion] : [apiVersion.slice(0, i), apiVersion.slice(i + 1)];
}

/** The AdmissionRequest a plain object would arrive in, for policies that read `request`. */
function synthesizedRequest(input: EvaluationInput): Record<string, unknown> {
  const req = coordinates(input);
  const obj = (input.object ?? input.oldObject ?? {}) as Record<string, unknown>;
  const meta = (obj.metadata ?? {}) as { name?: string };
  return {
    kind: { group: req.group, version: req.version, kind: String(obj.kind ?? '') },
    resource: { group: req.group, version: req.version, resource: req.resource },
    subResource: req.subResource,
    name: meta.name ?? '',
    namespace: req.namespace,
    operation: req.operation,
    userInfo: { username: '', groups: [] },
    dryRun: false,
  };
}
