// Runs inside an evaluation worker: compiles the policies once, then
// evaluates inputs. The pool around it bounds every call by a deadline.
import { celCompiler, jsonToCel } from './compiler.ts';
import { evaluateAll, type EvaluationInput, type Evaluable } from './evaluate.ts';
import { policiesFromSources, type PolicySource } from './load.ts';
import type { PolicySet } from './model.ts';

let set: PolicySet<Evaluable> | undefined;

export function setup(init: unknown): void {
  set = policiesFromSources((init as { sources: PolicySource[] }).sources, celCompiler);
}

export function handle(request: unknown): unknown {
  if (set === undefined) throw new Error('policy worker used before setup');
  return evaluateAll(set, (request as { input: EvaluationInput }).input, jsonToCel);
}
