import assert from 'node:assert/strict';
import type { CelInput, CelValue } from '@bufbuild/cel';
import type { CelEvalError} from '../../src/policy/cel/index.ts';
import { compileExpression, createCelEnvironment, fromCelValue, type JsonValue } from '../../src/policy/cel/index.ts';

/** One environment for the CEL tests, as a policy set would share it. */
export const env = createCelEnvironment();

/** Evaluates an expression that must succeed. */
export function run(expr: string, bindings: Record<string, CelInput> = {}): CelValue {
  const r = compileExpression(expr, { env }).evaluate(bindings);
  if (!r.ok) assert.fail(`${expr}: ${r.error.message}`);
  return r.value;
}

/** The result of `run` as JSON. */
export function json(expr: string, bindings: Record<string, CelInput> = {}): JsonValue {
  return fromCelValue(run(expr, bindings));
}

/** Evaluates an expression that must fail, returning the error. */
export function evalError(expr: string): CelEvalError {
  const r = compileExpression(expr, { env }).evaluate({});
  if (r.ok) assert.fail(`${expr}: expected an error, got ${String(fromCelValue(r.value))}`);
  return r.error;
}
