import { compileExpression, toCelValue, type CompiledExpression } from './cel/index.ts';
import type { Evaluable } from './evaluate.ts';
import type { ExpressionCompiler } from './load.ts';

/** The variables a policy expression may name, as in a ValidatingAdmissionPolicy, plus `evidence`. */
export const POLICY_VARIABLES = ['object', 'oldObject', 'request', 'params', 'namespaceObject', 'variables', 'evidence'] as const;

/** Compiles policy expressions with @bufbuild/cel and the Kubernetes libraries; undeclared names are compile errors. */
export const celCompiler: ExpressionCompiler<Evaluable> = {
  compile(source: string): Evaluable {
    const compiled: CompiledExpression = compileExpression(source, { variables: POLICY_VARIABLES });
    return {
      evaluate(bindings) {
        const r = compiled.evaluate(bindings as Parameters<CompiledExpression['evaluate']>[0]);
        return r.ok ? { ok: true, value: r.value } : { ok: false, error: { message: r.error.message } };
      },
    };
  },
};

/** JSON input as CEL values: integral numbers become int, as Kubernetes' schema would type them. */
export const jsonToCel = (value: unknown): unknown => toCelValue(value as Parameters<typeof toCelValue>[0]);
