/**
 * Bounded execution in worker threads. JavaScript CEL engines have no cost
 * limit and evaluate synchronously, so a runaway expression would block the
 * event loop for good. Here each request runs in a worker with a capped heap,
 * and a deadline that terminates the worker (V8 TerminateExecution stops even
 * a tight loop) and spawns a fresh one in the background. Every limit becomes
 * an 'indeterminate' outcome with a reason; run() does not hang and, for a
 * well-formed call, does not reject.
 *
 * This bounds work; it does not isolate capabilities. The worker module is
 * trusted code with full Node access; only its inputs are untrusted.
 */
import { availableParallelism } from 'node:os';
import { serialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { ReplyMessage, RequestMessage, WorkerBoot } from './protocol.ts';

export type EvaluationPoolErrorCode = 'INVALID_OPTIONS' | 'SETUP_FAILED' | 'POOL_CLOSED';

export class EvaluationPoolError extends Error {
  readonly code: EvaluationPoolErrorCode;
  constructor(code: EvaluationPoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EvaluationPoolError';
    this.code = code;
  }
}

export type IndeterminateReason =
  /** The deadline passed; the worker was terminated. */
  | 'DEADLINE_EXCEEDED'
  /** The worker hit its heap limit (resourceLimits) and was stopped by V8. */
  | 'MEMORY_EXCEEDED'
  /** The worker thread exited while handling the request (e.g. process.exit, an uncaught async error). */
  | 'WORKER_CRASHED'
  /** The serialized request is larger than maxInputBytes; no work was started. */
  | 'INPUT_TOO_LARGE'
  /** maxQueue requests were already waiting. */
  | 'OVERLOADED'
  /** The worker module failed to load or its setup(init) failed; the pool is unusable. */
  | 'SETUP_FAILED'
  /** close() was called before the request finished. */
  | 'POOL_CLOSED';

export type RunOutcome =
  | { outcome: 'ok'; value: unknown }
  | { outcome: 'indeterminate'; reason: IndeterminateReason; message: string }
  /**
   * handle() threw, or the request or its result could not be structured-cloned.
   * That is a bug in the worker module or the caller, not a limit, so it is
   * kept apart from 'indeterminate'.
   */
  | { outcome: 'error'; message: string };

export interface EvaluationPoolOptions {
  /** Module (a .ts module runs directly) exporting handle(request) and, optionally, setup(init). */
  workerModule: URL;
  /** Given to setup() in every worker, including respawned ones. Must be structured-cloneable. */
  init?: unknown;
  /** Worker threads. Default min(2, availableParallelism()). */
  size?: number;
  /** Default per-request deadline, counted from dispatch to a worker (not queue time). Default 250. */
  deadlineMs?: number;
  /** Deadline for loading the module and running setup(init). Default 10000. */
  setupDeadlineMs?: number;
  /** V8 old-generation heap cap per worker. Default 128. */
  maxOldGenerationSizeMb?: number;
  /** Cap on the structured-clone size of a request. Default 4 MiB; Infinity skips measuring. */
  maxInputBytes?: number;
  /** Requests allowed to wait for a free worker. Default 1024. */
  maxQueue?: number;
  /**
   * How requests travel to workers: 'structured' (v8 serialization, any
   * cloneable value; the default) or 'json' (JSON text, for requests that are
   * plain JSON: about half the cost of the copy, and less garbage in the worker).
   */
  encoding?: 'structured' | 'json';
}

export interface RunOptions {
  /** Overrides the pool's deadlineMs for this request. */
  deadlineMs?: number;
}

const DEFAULT_DEADLINE_MS = 250;
const DEFAULT_SETUP_DEADLINE_MS = 10_000;
// 128 MB made the workers run full collections every few dozen decisions (bench/policy).
const DEFAULT_MAX_OLD_GENERATION_MB = 256;
// Kubernetes caps API request bodies near 3 MiB; leave room for the envelope.
const DEFAULT_MAX_INPUT_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_QUEUE = 1024;
// setTimeout clamps larger delays to 1 ms, which would turn a long deadline into none.
const MAX_TIMER_MS = 2 ** 31 - 1;

// Built output is .js; the worker bootstrap must match whichever this module is.
const WORKER_MAIN = new URL(import.meta.url.endsWith('.ts') ? './worker-main.ts' : './worker-main.js', import.meta.url);

interface Job {
  id: number;
  message: RequestMessage;
  transfer: ArrayBuffer[];
  deadlineMs: number;
  resolve: (outcome: RunOutcome) => void;
  timer?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  state: 'starting' | 'idle' | 'busy' | 'gone';
  job?: Job;
  setupTimer?: NodeJS.Timeout;
  /** The last 'error' event; it comes just before 'exit' and says why. */
  error?: Error;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new EvaluationPoolError('INVALID_OPTIONS', `${name} must be a positive integer, got ${String(value)}`);
  }
  return v;
}

function timerMs(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0 || v > MAX_TIMER_MS) {
    throw new EvaluationPoolError('INVALID_OPTIONS', `${name} must be in (0, ${MAX_TIMER_MS}] ms, got ${String(value)}`);
  }
  return v;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

export class EvaluationPool {
  readonly #workerModule: string;
  readonly #init: unknown;
  readonly #size: number;
  readonly #deadlineMs: number;
  readonly #setupDeadlineMs: number;
  readonly #maxOldGenerationSizeMb: number;
  readonly #maxInputBytes: number;
  readonly #maxQueue: number;
  readonly #encoding: 'structured' | 'json';

  readonly #slots = new Set<Slot>();
  readonly #queue: Job[] = [];
  #nextId = 0;
  #readyCount = 0;
  #closed = false;
  #failure: string | undefined;
  #closing: Promise<void> | undefined;
  /** Workers told to stop and not yet exited, so close() can wait for every thread. */
  readonly #stopping = new Set<Promise<unknown>>();

  readonly #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: EvaluationPoolError) => void;

  constructor(options: EvaluationPoolOptions) {
    if (!(options.workerModule instanceof URL)) {
      throw new EvaluationPoolError('INVALID_OPTIONS', 'workerModule must be a URL');
    }
    this.#workerModule = options.workerModule.href;
    this.#size = positiveInteger('size', options.size, Math.min(2, availableParallelism()));
    this.#deadlineMs = timerMs('deadlineMs', options.deadlineMs, DEFAULT_DEADLINE_MS);
    this.#setupDeadlineMs = timerMs('setupDeadlineMs', options.setupDeadlineMs, DEFAULT_SETUP_DEADLINE_MS);
    this.#maxOldGenerationSizeMb = positiveInteger(
      'maxOldGenerationSizeMb',
      options.maxOldGenerationSizeMb,
      DEFAULT_MAX_OLD_GENERATION_MB,
    );
    const maxInputBytes = options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
    if (maxInputBytes !== Infinity) positiveInteger('maxInputBytes', maxInputBytes, DEFAULT_MAX_INPUT_BYTES);
    this.#maxInputBytes = maxInputBytes;
    this.#maxQueue = positiveInteger('maxQueue', options.maxQueue, DEFAULT_MAX_QUEUE);
    this.#encoding = options.encoding ?? 'structured';
    try {
      // A private copy: respawns must see the init as it was, not as later mutated.
      this.#init = structuredClone(options.init);
    } catch (error) {
      throw new EvaluationPoolError('INVALID_OPTIONS', `init is not structured-cloneable: ${describe(error)}`, {
        cause: error,
      });
    }

    this.#ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // ready() is optional; a setup failure must not surface as an unhandled rejection.
    this.#ready.catch(() => {});

    for (let i = 0; i < this.#size; i++) this.#spawn();
  }

  /**
   * Resolves once `size` workers have completed setup(init); rejects with
   * SETUP_FAILED if the module or setup fails. Calling it is optional: run()
   * queues until a worker is ready.
   */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Runs handle(request) in a worker, within the deadline and limits. */
  run(request: unknown, options: RunOptions = {}): Promise<RunOutcome> {
    let deadlineMs: number;
    try {
      deadlineMs = timerMs('deadlineMs', options.deadlineMs, this.#deadlineMs);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (this.#closed) return Promise.resolve(indeterminate('POOL_CLOSED', 'the evaluation pool is closed'));
    if (this.#failure !== undefined) return Promise.resolve(indeterminate('SETUP_FAILED', this.#failure));
    if (this.#queue.length >= this.#maxQueue) {
      return Promise.resolve(
        indeterminate('OVERLOADED', `${this.#queue.length} requests are already waiting for a worker`),
      );
    }

    const id = this.#nextId++;
    let message: RequestMessage;
    const transfer: ArrayBuffer[] = [];
    if (this.#encoding === 'json') {
      let json: Buffer;
      try {
        json = Buffer.from(JSON.stringify(request));
      } catch (error) {
        return Promise.resolve({ outcome: 'error', message: `request is not JSON: ${describe(error)}` });
      }
      if (json.byteLength > this.#maxInputBytes) {
        return Promise.resolve(
          indeterminate('INPUT_TOO_LARGE', `request is ${json.byteLength} bytes of JSON, over the ${this.#maxInputBytes}-byte limit`),
        );
      }
      message = { id, json };
      if (json.byteOffset === 0 && json.buffer.byteLength === json.byteLength) transfer.push(json.buffer as ArrayBuffer);
    } else if (this.#maxInputBytes === Infinity) {
      message = { id, request };
    } else {
      // Serialize once here to measure; the bytes are then moved, not cloned again.
      let raw: Buffer;
      try {
        raw = serialize(request);
      } catch (error) {
        return Promise.resolve({ outcome: 'error', message: `request is not structured-cloneable: ${describe(error)}` });
      }
      if (raw.byteLength > this.#maxInputBytes) {
        return Promise.resolve(
          indeterminate(
            'INPUT_TOO_LARGE',
            `request is ${raw.byteLength} bytes serialized, over the ${this.#maxInputBytes}-byte limit`,
          ),
        );
      }
      message = { id, raw };
      if (raw.byteOffset === 0 && raw.buffer.byteLength === raw.byteLength) transfer.push(raw.buffer as ArrayBuffer);
    }

    return new Promise<RunOutcome>((resolve) => {
      this.#queue.push({ id, message, transfer, deadlineMs, resolve });
      this.#pump();
    });
  }

  /**
   * Terminates every worker. Requests still queued or running resolve as
   * indeterminate POOL_CLOSED. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#rejectReady(new EvaluationPoolError('POOL_CLOSED', 'the evaluation pool was closed'));
    const closed = indeterminate('POOL_CLOSED', 'the evaluation pool was closed');
    for (const job of this.#queue.splice(0)) job.resolve(closed);
    for (const slot of [...this.#slots]) {
      this.#retire(slot)?.resolve(closed);
      this.#terminate(slot);
    }
    this.#closing = Promise.all(this.#stopping).then(() => undefined);
    return this.#closing;
  }

  #spawn(): void {
    const boot: WorkerBoot = { module: this.#workerModule, init: this.#init };
    let worker: Worker;
    try {
      worker = new Worker(WORKER_MAIN, {
        workerData: boot,
        name: 'warrant-evaluation',
        // Not the parent's flags: some break a file-based worker (--input-type from
        // `node -e` fails setup), and preloads (--import) would run in every respawn.
        execArgv: [],
        resourceLimits: { maxOldGenerationSizeMb: this.#maxOldGenerationSizeMb },
      });
    } catch (error) {
      this.#fail(`could not start a worker: ${describe(error)}`);
      return;
    }
    const slot: Slot = { worker, state: 'starting' };
    slot.setupTimer = setTimeout(() => {
      this.#fail(`worker setup did not finish within ${this.#setupDeadlineMs} ms`);
    }, this.#setupDeadlineMs);
    this.#slots.add(slot);
    worker.on('message', (message: ReplyMessage) => this.#onMessage(slot, message));
    worker.on('error', (error: Error) => {
      slot.error = error;
    });
    worker.on('exit', (code: number) => this.#onExit(slot, code));
    // Idle workers must not keep the process alive; queued and running
    // requests do, through their setup and deadline timers. After on('message'),
    // which refs the worker's port again.
    worker.unref();
  }

  #onMessage(slot: Slot, message: ReplyMessage): void {
    if (slot.state === 'gone') return;
    switch (message.type) {
      case 'ready':
        clearTimeout(slot.setupTimer);
        slot.setupTimer = undefined;
        slot.state = 'idle';
        if (++this.#readyCount === this.#size) this.#resolveReady();
        this.#pump();
        return;
      case 'setup-failed':
        this.#fail(`worker setup failed: ${message.message}`);
        return;
      case 'result': {
        const job = slot.job;
        // A reply for a request already given up on cannot arrive (that worker is gone), but stay strict.
        if (job === undefined || job.id !== message.id) return;
        clearTimeout(job.timer);
        slot.job = undefined;
        slot.state = 'idle';
        job.resolve(message.ok ? { outcome: 'ok', value: message.value } : { outcome: 'error', message: message.message });
        this.#pump();
        return;
      }
    }
  }

  #onExit(slot: Slot, code: number): void {
    if (slot.state === 'gone') return;
    const { state, error } = slot;
    const job = this.#retire(slot);
    const why = error !== undefined ? describe(error) : `exit code ${code}`;
    if (state === 'starting') {
      this.#fail(`worker exited during setup (${why})`);
      return;
    }
    if (job !== undefined) {
      const outOfMemory = (error as (Error & { code?: string }) | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      job.resolve(
        outOfMemory
          ? indeterminate('MEMORY_EXCEEDED', `worker exceeded its ${this.#maxOldGenerationSizeMb} MB heap limit`)
          : indeterminate('WORKER_CRASHED', `worker exited while handling the request (${why})`),
      );
    }
    // A worker that dies while idle is replaced too; a module that keeps doing
    // so will keep respawning, which costs CPU but cannot hang a request.
    this.#replace();
  }

  #pump(): void {
    // Re-scan after each dispatch: one that fails leaves its worker idle for the next job.
    while (this.#queue.length > 0) {
      const slot = this.#idleSlot();
      if (slot === undefined) return;
      const job = this.#queue.shift();
      if (job === undefined) return;
      this.#dispatch(slot, job);
    }
  }

  #idleSlot(): Slot | undefined {
    for (const slot of this.#slots) if (slot.state === 'idle') return slot;
    return undefined;
  }

  #dispatch(slot: Slot, job: Job): void {
    try {
      slot.worker.postMessage(job.message, job.transfer);
    } catch (error) {
      // Only the unmeasured path can get here (a value postMessage refuses); the worker stays idle.
      job.resolve({ outcome: 'error', message: `request is not structured-cloneable: ${describe(error)}` });
      return;
    }
    slot.state = 'busy';
    slot.job = job;
    job.timer = setTimeout(() => this.#onDeadline(slot, job), job.deadlineMs);
  }

  #onDeadline(slot: Slot, job: Job): void {
    if (slot.job !== job) return;
    this.#retire(slot);
    job.resolve(
      indeterminate('DEADLINE_EXCEEDED', `evaluation exceeded its ${job.deadlineMs} ms deadline; the worker was terminated`),
    );
    this.#terminate(slot);
    this.#replace();
  }

  /** Takes a slot out of service and returns the job it held, if any. */
  #retire(slot: Slot): Job | undefined {
    const job = slot.job;
    clearTimeout(slot.setupTimer);
    clearTimeout(job?.timer);
    slot.state = 'gone';
    slot.job = undefined;
    slot.setupTimer = undefined;
    this.#slots.delete(slot);
    return job;
  }

  /** Not awaited by callers: terminate() only requests the stop; the thread winds down on its own. */
  #terminate(slot: Slot): void {
    const stopped = slot.worker.terminate().catch(() => {});
    this.#stopping.add(stopped);
    void stopped.then(() => this.#stopping.delete(stopped));
  }

  #replace(): void {
    if (this.#closed || this.#failure !== undefined) return;
    this.#spawn();
  }

  /**
   * A module or setup that fails once will fail again with the same init, so
   * the pool stops rather than respawning in a loop. The owner replaces it.
   */
  #fail(reason: string): void {
    if (this.#closed || this.#failure !== undefined) return;
    this.#failure = reason;
    this.#rejectReady(new EvaluationPoolError('SETUP_FAILED', reason));
    const failed = indeterminate('SETUP_FAILED', reason);
    for (const job of this.#queue.splice(0)) job.resolve(failed);
    for (const slot of [...this.#slots]) {
      this.#retire(slot)?.resolve(failed);
      this.#terminate(slot);
    }
  }
}

function indeterminate(reason: IndeterminateReason, message: string): RunOutcome {
  return { outcome: 'indeterminate', reason, message };
}
