import type { SourceLocation } from './documents.ts';

/** What a policy's failing validation does: Kubernetes validationActions; warrant's `mode` maps onto them. */
export type ValidationAction = 'Deny' | 'Warn' | 'Audit';
export type PolicyMode = 'enforce' | 'warn' | 'audit';
/** What an indeterminate evaluation (error, timeout, limit) becomes. */
export type FailurePolicy = 'Fail' | 'Ignore';

/** An expression as written, where it was written, and its compiled form. */
export interface Expression<C = unknown> {
  source: string;
  at: SourceLocation;
  compiled: C;
}

export interface NamedExpression<C = unknown> extends Expression<C> {
  name: string;
}

export interface Validation<C = unknown> {
  expression: Expression<C>;
  message: string | undefined;
  messageExpression: Expression<C> | undefined;
  reason: string | undefined;
}

/** Kubernetes RuleWithOperations, and the resource selection around it (MatchResources). */
export interface ResourceRule {
  apiGroups: string[];
  apiVersions: string[];
  operations: string[];
  resources: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface MatchResources {
  resourceRules: ResourceRule[];
  excludeResourceRules: ResourceRule[];
  namespaceSelector: LabelSelector | undefined;
  objectSelector: LabelSelector | undefined;
}

export type PolicyFormat = 'warrant' | 'kubernetes-vap' | 'kyverno';

/** Every supported policy format, normalized to one shape the evaluator runs. */
export interface Policy<C = unknown> {
  name: string;
  format: PolicyFormat;
  /** apiVersion/kind as written, for reports. */
  kind: string;
  file: string;
  match: MatchResources | undefined;
  matchConditions: NamedExpression<C>[];
  variables: NamedExpression<C>[];
  validations: Validation<C>[];
  failurePolicy: FailurePolicy;
  actions: ValidationAction[];
  /** ValidatingAdmissionPolicy paramKind, when the policy takes parameters. */
  paramKind: { apiVersion: string; kind: string } | undefined;
}

/** A ValidatingAdmissionPolicyBinding, normalized. */
export interface Binding {
  name: string;
  policyName: string;
  file: string;
  actions: ValidationAction[];
  match: MatchResources | undefined;
  paramRef: { name?: string; namespace?: string; selector?: LabelSelector; parameterNotFoundAction: 'Allow' | 'Deny' } | undefined;
}

export interface PolicySet<C = unknown> {
  policies: Policy<C>[];
  bindings: Binding[];
}
