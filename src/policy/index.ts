// Policy-as-code: CEL policies (warrant Policy, Kubernetes ValidatingAdmissionPolicy
// with bindings, Kyverno ValidatingPolicy) loaded, tested and evaluated under bounds.
export { celCompiler, jsonToCel, POLICY_VARIABLES } from './compiler.ts';
export { parseDocuments, PolicyError, type SourceLocation } from './documents.ts';
export { PolicyEngine, type PolicyEngineOptions } from './engine.ts';
export {
  effectOf,
  evaluateAll,
  evidenceFor,
  type Effect,
  type Evaluable,
  type EvaluationInput,
  type PolicyOutcome,
  type PolicyResult,
  type ValidationResult,
} from './evaluate.ts';
export { evidenceView, PREDICATE, type VerifiedStatement } from './evidence-view.ts';
export { loadInputs } from './inputs.ts';
export { loadPolicies, policiesFromSources, readPolicySources, WARRANT_POLICY_API, type PolicySource } from './load.ts';
export type { Binding, Policy, PolicySet, ValidationAction } from './model.ts';
export { judge, loadTests, referencedDigests, testInputs, unexercised, type PolicyTestFile } from './testing.ts';
export * from './versions/index.ts';
export * from './exceptions/index.ts';
export * from './rollout/index.ts';
