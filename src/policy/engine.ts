import { celCompiler } from './compiler.ts';
import { effectOf, resourceName, type EvaluationInput, type Evaluable, type PolicyResult } from './evaluate.ts';
import { policiesFromSources, readPolicySources, type PolicySource } from './load.ts';
import type { PolicySet } from './model.ts';
import { EvaluationPool } from './sandbox/index.ts';

export interface PolicyEngineOptions {
  /** Time one input may take across all policies before it is indeterminate. */
  deadlineMs?: number;
  workers?: number;
  /** Heap cap per evaluation worker. */
  maxOldGenerationSizeMb?: number;
}

/**
 * Loads policies (compiling them here, so a bad one is refused at load time
 * with file, line and column) and evaluates inputs in worker threads bounded
 * by a deadline: runaway work ends as `indeterminate` with the reason.
 */
export class PolicyEngine {
  readonly set: PolicySet<Evaluable>;
  readonly #pool: EvaluationPool;

  private constructor(set: PolicySet<Evaluable>, pool: EvaluationPool) {
    this.set = set;
    this.#pool = pool;
  }

  static async open(paths: readonly string[], options: PolicyEngineOptions = {}): Promise<PolicyEngine> {
    return PolicyEngine.fromSources(await readPolicySources(paths), options);
  }

  static async fromSources(sources: PolicySource[], options: PolicyEngineOptions = {}): Promise<PolicyEngine> {
    const set = policiesFromSources(sources, celCompiler);
    const worker = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
    const pool = new EvaluationPool({
      workerModule: worker,
      init: { sources },
      deadlineMs: options.deadlineMs ?? 1000,
      // Inputs are parsed JSON documents: JSON text is the cheaper way across.
      encoding: 'json',
      ...(options.workers !== undefined ? { size: options.workers } : {}),
      ...(options.maxOldGenerationSizeMb !== undefined ? { maxOldGenerationSizeMb: options.maxOldGenerationSizeMb } : {}),
    });
    await pool.ready();
    return new PolicyEngine(set, pool);
  }

  /** Every policy's result for one input. Never throws: what cannot be decided is indeterminate. */
  async evaluate(input: EvaluationInput): Promise<PolicyResult[]> {
    const r = await this.#pool.run({ input });
    if (r.outcome === 'ok') return r.value as PolicyResult[];
    const why = r.outcome === 'indeterminate' ? `${r.reason}: ${r.message}` : `evaluation failed: ${r.message}`;
    return this.set.policies.map((p) => ({
      policy: p.name,
      policyKind: p.kind,
      resource: resourceName(input),
      kind: String((input.object ?? input.oldObject)?.kind ?? ''),
      binding: undefined,
      result: 'indeterminate' as const,
      effect: effectOf('indeterminate', p.actions.length > 0 ? p.actions : ['Deny'], p.failurePolicy),
      actions: p.actions,
      failurePolicy: p.failurePolicy,
      validations: [],
      message: why,
    }));
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
