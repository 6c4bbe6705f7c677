/**
 * Messages between EvaluationPool (main thread) and worker-main.ts (worker).
 * Both sides import only types from here, so the worker loads no pool code.
 */

/** What every worker receives as workerData when it is spawned. */
export interface WorkerBoot {
  /** href of the module that exports setup() and handle(). */
  module: string;
  /** Passed to setup(); cloned into each worker, including respawned ones. */
  init: unknown;
}

/**
 * A request, either structured-cloned by postMessage (`request`) or already
 * serialized by the pool to measure its size (`raw`, transferred, so the
 * clone is paid once).
 */
export type RequestMessage =
  | { id: number; request: unknown }
  | { id: number; raw: Uint8Array }
  /** JSON text: cheaper to copy and rebuild than structured clone for plain JSON requests. */
  | { id: number; json: Uint8Array };

export type ReplyMessage =
  | { type: 'ready' }
  | { type: 'setup-failed'; message: string }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; message: string };

/** The shape the worker module is expected to export. */
export interface WorkerModule {
  setup?: (init: unknown) => Promise<void> | void;
  handle: (request: unknown) => unknown;
}
