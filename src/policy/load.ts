import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_DOCUMENT_LIMITS,
  locate,
  locateInScalar,
  parseDocuments,
  PolicyError,
  type DocumentLimits,
  type SourceDocument,
} from './documents.ts';
import type {
  Binding,
  Expression,
  FailurePolicy,
  LabelSelector,
  MatchResources,
  NamedExpression,
  Policy,
  PolicySet,
  ResourceRule,
  Validation,
  ValidationAction,
} from './model.ts';

/** Compiles one expression; throws an error with 1-based `line` and `column` within the expression on failure. */
export interface ExpressionCompiler<C> {
  compile(source: string): C;
}

export interface CompileFailure {
  message: string;
  line?: number;
  column?: number;
}

export const WARRANT_POLICY_API = 'warrant.dev/v1alpha1';
const VAP_API = 'admissionregistration.k8s.io/v1';
const KYVERNO_API = 'policies.kyverno.io/v1';

/** A policy file's text, as read once and handed to evaluation workers. */
export interface PolicySource {
  file: string;
  text: string;
}

/** Reads every policy file under the given paths (`*.yaml`, `*.yml`, `*.json`, recursively). */
export async function readPolicySources(paths: readonly string[]): Promise<PolicySource[]> {
  return Promise.all((await expandPaths(paths)).map(async (file) => ({ file, text: await readFile(file, 'utf8') })));
}

/** Loads every policy and binding from files and directories. */
export async function loadPolicies<C>(
  paths: readonly string[],
  compiler: ExpressionCompiler<C>,
  limits: DocumentLimits = DEFAULT_DOCUMENT_LIMITS,
): Promise<PolicySet<C>> {
  return policiesFromSources(await readPolicySources(paths), compiler, limits);
}

/** Parses and compiles policies; the first problem throws a PolicyError with file, line, column and caret. */
export function policiesFromSources<C>(
  sources: readonly PolicySource[],
  compiler: ExpressionCompiler<C>,
  limits: DocumentLimits = DEFAULT_DOCUMENT_LIMITS,
): PolicySet<C> {
  const set: PolicySet<C> = { policies: [], bindings: [] };
  for (const { file, text } of sources) {
    for (const source of parseDocuments(text, file, limits)) addDocument(set, source, compiler);
  }
  const names = new Set<string>();
  for (const p of set.policies) {
    const key = `${p.format}/${p.name}`;
    if (names.has(key)) throw new PolicyError('POLICY_INVALID', `policy ${p.name} is defined twice (${p.file})`);
    names.add(key);
  }
  return set;
}

/** Files under the given paths that hold YAML or JSON, sorted for a stable order. */
export async function expandPaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const visit = async (path: string, depth: number): Promise<void> => {
    const info = await stat(path).catch(() => {
      throw new PolicyError('DOCUMENT_INVALID', `cannot read ${path}`);
    });
    if (info.isDirectory()) {
      if (depth > 16) throw new PolicyError('LIMIT_EXCEEDED', `${path} nests directories too deeply`);
      for (const name of (await readdir(path)).sort()) {
        const child = join(path, name);
        const childInfo = await stat(child);
        if (childInfo.isDirectory() || /\.(ya?ml|json)$/.test(name)) await visit(child, depth + 1);
      }
    } else {
      out.push(path);
    }
  };
  for (const p of paths) await visit(p, 0);
  return out;
}

export function addDocument<C>(set: PolicySet<C>, source: SourceDocument, compiler: ExpressionCompiler<C>): void {
  const v = source.value as Record<string, unknown>;
  const api = v?.apiVersion;
  const kind = v?.kind;
  const r = new Reader(source, compiler);
  if (api === WARRANT_POLICY_API && kind === 'Policy') set.policies.push(r.warrantPolicy());
  else if (api === VAP_API && kind === 'ValidatingAdmissionPolicy') set.policies.push(r.vap());
  else if (api === VAP_API && kind === 'ValidatingAdmissionPolicyBinding') set.bindings.push(r.binding());
  else if (api === KYVERNO_API && kind === 'ValidatingPolicy') set.policies.push(r.kyverno());
  else {
    throw new PolicyError(
      'POLICY_INVALID',
      `${String(api)}/${String(kind)} is not a policy warrant reads ` +
        `(${WARRANT_POLICY_API} Policy, ${VAP_API} ValidatingAdmissionPolicy[Binding], ${KYVERNO_API} ValidatingPolicy)`,
      locate(source, []),
    );
  }
}

type Path = (string | number)[];

/** warrant's `mode` as the Kubernetes validation action it stands for. */
const MODE_ACTIONS = { enforce: 'Deny', warn: 'Warn', audit: 'Audit' } as const;

/** Reads one document field by field, each error pointing at its line. */
class Reader<C> {
  readonly #src: SourceDocument;
  readonly #compiler: ExpressionCompiler<C>;

  constructor(src: SourceDocument, compiler: ExpressionCompiler<C>) {
    this.#src = src;
    this.#compiler = compiler;
  }

  warrantPolicy(): Policy<C> {
    this.#known(['spec'], ['mode', 'failurePolicy', 'matchConstraints', 'matchConditions', 'variables', 'validations']);
    const mode = this.#enum(['spec', 'mode'], ['enforce', 'warn', 'audit'] as const, 'enforce');
    return {
      ...this.#common('warrant', 'Policy'),
      actions: [MODE_ACTIONS[mode]],
      paramKind: undefined,
    };
  }

  vap(): Policy<C> {
    const paramKind = this.#get(['spec', 'paramKind']);
    return {
      ...this.#common('kubernetes-vap', 'ValidatingAdmissionPolicy'),
      // A VAP acts only through its bindings, which carry the validationActions.
      actions: [],
      paramKind:
        paramKind === undefined
          ? undefined
          : { apiVersion: this.#string(['spec', 'paramKind', 'apiVersion']), kind: this.#string(['spec', 'paramKind', 'kind']) },
    };
  }

  kyverno(): Policy<C> {
    const actions = this.#actions(['spec', 'validationActions'], ['Deny']);
    return { ...this.#common('kyverno', 'ValidatingPolicy'), actions, paramKind: undefined };
  }

  binding(): Binding {
    const paramRef = this.#get(['spec', 'paramRef']) as Record<string, unknown> | undefined;
    return {
      name: this.#string(['metadata', 'name']),
      policyName: this.#string(['spec', 'policyName']),
      file: this.#src.file,
      actions: this.#actions(['spec', 'validationActions'], undefined),
      match: this.#match(['spec', 'matchResources']),
      paramRef:
        paramRef === undefined
          ? undefined
          : {
              ...(typeof paramRef.name === 'string' ? { name: paramRef.name } : {}),
              ...(typeof paramRef.namespace === 'string' ? { namespace: paramRef.namespace } : {}),
              ...(paramRef.selector !== undefined ? { selector: this.#selector(['spec', 'paramRef', 'selector'])! } : {}),
              parameterNotFoundAction: this.#enum(['spec', 'paramRef', 'parameterNotFoundAction'], ['Allow', 'Deny'] as const, 'Deny'),
            },
    };
  }

  #common(format: Policy<C>['format'], kind: string) {
    const validations = this.#list(['spec', 'validations']).map((_, i) => this.#validation(['spec', 'validations', i]));
    if (validations.length === 0) this.#fail(['spec'], 'a policy needs at least one validation');
    if (validations.length > 64) this.#fail(['spec', 'validations'], 'a policy has at most 64 validations');
    return {
      name: this.#string(['metadata', 'name']),
      format,
      kind: `${String((this.#src.value as Record<string, unknown>).apiVersion)}/${kind}`,
      file: this.#src.file,
      match: this.#match(['spec', 'matchConstraints']),
      matchConditions: this.#named(['spec', 'matchConditions']),
      variables: this.#named(['spec', 'variables']),
      validations,
      failurePolicy: this.#enum(['spec', 'failurePolicy'], ['Fail', 'Ignore'] as const, 'Fail') as FailurePolicy,
    };
  }

  #validation(path: Path): Validation<C> {
    this.#known(path, ['expression', 'message', 'messageExpression', 'reason']);
    const messageExpression = this.#get([...path, 'messageExpression']);
    const message = this.#get([...path, 'message']);
    const reason = this.#get([...path, 'reason']);
    return {
      expression: this.#expression([...path, 'expression']),
      message: message === undefined ? undefined : this.#string([...path, 'message']),
      messageExpression: messageExpression === undefined ? undefined : this.#expression([...path, 'messageExpression']),
      reason: reason === undefined ? undefined : this.#string([...path, 'reason']),
    };
  }

  #named(path: Path): NamedExpression<C>[] {
    const names = new Set<string>();
    return this.#list(path).map((_, i) => {
      const name = this.#string([...path, i, 'name']);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) this.#fail([...path, i, 'name'], `"${name}" is not a valid CEL identifier`);
      if (names.has(name)) this.#fail([...path, i, 'name'], `"${name}" is defined twice`);
      names.add(name);
      return { name, ...this.#expression([...path, i, 'expression']) };
    });
  }

  #expression(path: Path): Expression<C> {
    const source = this.#string(path);
    try {
      return { source, at: locate(this.#src, path), compiled: this.#compiler.compile(source) };
    } catch (err) {
      const f = err as CompileFailure;
      const { at, excerpt } = locateInScalar(this.#src, path, source, f.line ?? 1, f.column ?? 1);
      throw new PolicyError('EXPRESSION_INVALID', `expression does not compile: ${f.message}`, at, excerpt);
    }
  }

  #match(path: Path): MatchResources | undefined {
    if (this.#get(path) === undefined) return undefined;
    return {
      resourceRules: this.#rules([...path, 'resourceRules']),
      excludeResourceRules: this.#rules([...path, 'excludeResourceRules']),
      namespaceSelector: this.#selector([...path, 'namespaceSelector']),
      objectSelector: this.#selector([...path, 'objectSelector']),
    };
  }

  #rules(path: Path): ResourceRule[] {
    return this.#list(path).map((_, i) => ({
      apiGroups: this.#strings([...path, i, 'apiGroups']),
      apiVersions: this.#strings([...path, i, 'apiVersions']),
      operations: this.#strings([...path, i, 'operations']),
      resources: this.#strings([...path, i, 'resources']),
    }));
  }

  #selector(path: Path): LabelSelector | undefined {
    const value = this.#get(path) as Record<string, unknown> | undefined;
    if (value === undefined) return undefined;
    const out: LabelSelector = {};
    if (value.matchLabels !== undefined) {
      const labels = value.matchLabels as Record<string, unknown>;
      for (const [k, v] of Object.entries(labels)) if (typeof v !== 'string') this.#fail([...path, 'matchLabels', k], 'label values are strings');
      out.matchLabels = labels as Record<string, string>;
    }
    if (value.matchExpressions !== undefined) {
      out.matchExpressions = this.#list([...path, 'matchExpressions']).map((_, i) => {
        const p = [...path, 'matchExpressions', i];
        const operator = this.#enum([...p, 'operator'], ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const, undefined);
        return { key: this.#string([...p, 'key']), operator, values: this.#strings([...p, 'values']) };
      });
    }
    return out;
  }

  #actions(path: Path, fallback: ValidationAction[] | undefined): ValidationAction[] {
    const list = this.#strings(path);
    if (list.length === 0) {
      if (fallback === undefined) this.#fail(path, 'validationActions must list at least one of Deny, Warn, Audit');
      return fallback!;
    }
    for (const a of list) if (!['Deny', 'Warn', 'Audit'].includes(a)) this.#fail(path, `unknown validation action "${a}"`);
    if (list.includes('Deny') && list.includes('Warn')) this.#fail(path, 'Deny and Warn cannot be used together');
    return list as ValidationAction[];
  }

  #get(path: Path): unknown {
    let v: unknown = this.#src.value;
    for (const key of path) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string | number, unknown>)[key];
    }
    return v;
  }

  #string(path: Path): string {
    const v = this.#get(path);
    if (typeof v !== 'string' || v === '') this.#fail(path, `${path.join('.')} must be a non-empty string`);
    return v as string;
  }

  #strings(path: Path): string[] {
    const v = this.#get(path);
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) this.#fail(path, `${path.join('.')} must be a list of strings`);
    return v as string[];
  }

  #list(path: Path): unknown[] {
    const v = this.#get(path);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.#fail(path, `${path.join('.')} must be a list`);
    return v as unknown[];
  }

  #enum<T extends string>(path: Path, allowed: readonly T[], fallback: T | undefined): T {
    const v = this.#get(path);
    if (v === undefined && fallback !== undefined) return fallback;
    if (!allowed.includes(v as T)) this.#fail(path, `${path.join('.')} must be one of ${allowed.join(', ')}`);
    return v as T;
  }

  #known(path: Path, fields: string[]): void {
    const v = this.#get(path);
    if (v === null || typeof v !== 'object') return;
    for (const key of Object.keys(v)) {
      if (!fields.includes(key)) this.#fail([...path, key], `unknown field ${[...path, key].join('.')}`);
    }
  }

  #fail(path: Path, message: string): never {
    const at = locate(this.#src, path);
    throw new PolicyError('POLICY_INVALID', message, at, undefined);
  }
}
