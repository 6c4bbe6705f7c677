/**
 * Generic worker bootstrap for EvaluationPool: imports the worker module
 * named in workerData, runs its setup(init) once, then answers requests with
 * handle(request). Limits (deadline, heap) are enforced from outside by the
 * pool; nothing here needs to cooperate for them to work.
 */
import { deserialize } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { ReplyMessage, RequestMessage, WorkerBoot, WorkerModule } from './protocol.ts';

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

async function load(boot: WorkerBoot): Promise<WorkerModule['handle']> {
  const mod = (await import(boot.module)) as Partial<WorkerModule>;
  if (typeof mod.handle !== 'function') throw new TypeError(`${boot.module} does not export a handle() function`);
  if (mod.setup !== undefined) {
    if (typeof mod.setup !== 'function') throw new TypeError(`${boot.module} exports a setup that is not a function`);
    await mod.setup(boot.init);
  }
  return mod.handle;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('worker-main.ts must run in a worker thread');
  const post = (message: ReplyMessage): void => port.postMessage(message);

  let handle: WorkerModule['handle'];
  try {
    handle = await load(workerData as WorkerBoot);
  } catch (error) {
    // Without a message listener the thread then exits on its own.
    post({ type: 'setup-failed', message: describe(error) });
    return;
  }

  port.on('message', (message: RequestMessage) => {
    void answer(message);
  });
  post({ type: 'ready' });

  async function answer(message: RequestMessage): Promise<void> {
    try {
      const request =
        'json' in message
          ? (JSON.parse(Buffer.from(message.json.buffer, message.json.byteOffset, message.json.byteLength).toString('utf8')) as unknown)
          : 'raw' in message
            ? deserialize(message.raw)
            : message.request;
      const value = await handle(request);
      // Throws DataCloneError for values structured clone cannot carry; reported below.
      post({ type: 'result', id: message.id, ok: true, value });
    } catch (error) {
      post({ type: 'result', id: message.id, ok: false, message: describe(error) });
    }
  }
}

await main();
