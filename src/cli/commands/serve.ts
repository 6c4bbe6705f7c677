import { loadTrustedKeys } from '../../intake/index.ts';
import { buildServer } from '../../server/index.ts';
import { openStore } from '../../store/index.ts';
import { Exit, UsageError, parse, warrantHome, type ExitCode, type Io } from '../io.ts';

export const usage = `warrant serve [--listen HOST:PORT]
  Starts the API server (default 127.0.0.1:8787) on the store in $WARRANT_HOME or WARRANT_DB.`;

export async function serve(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, { listen: { type: 'string', default: '127.0.0.1:8787' } });
  const m = /^(.*):(\d{1,5})$/.exec(values.listen);
  if (!m || Number(m[2]) > 65535) throw new UsageError('--listen must be HOST:PORT');
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  const home = warrantHome(io.env);
  const store = await openStore({ url: io.env.WARRANT_DB, home });
  const app = buildServer({ store, keys: await loadTrustedKeys(home) });
  const address = await app.listen({ host, port: Number(m[2]) });
  io.out(`warrant serving on ${address} (store: ${store.location})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await app.close();
  await store.close();
  return Exit.OK;
}
