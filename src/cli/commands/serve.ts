import { openWarrant } from '../../intake/index.ts';
import { buildServer } from '../../server/index.ts';
import { Exit, UsageError, parse, warrantHome, type ExitCode, type Io } from '../io.ts';

export const usage = `warrant serve [--listen HOST:PORT]
  Starts the API server (default 127.0.0.1:8787) on the store in $WARRANT_HOME or WARRANT_DB:
  evidence, the transparency log (tlog-tiles under /v1/log/), health. A checkpoint is issued
  every second while entries arrive.`;

export async function serve(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, { listen: { type: 'string', default: '127.0.0.1:8787' } });
  const m = /^(.*):(\d{1,5})$/.exec(values.listen);
  if (!m || Number(m[2]) > 65535) throw new UsageError('--listen must be HOST:PORT');
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  const warrant = await openWarrant(warrantHome(io.env), io.env);
  const app = buildServer({ warrant });
  warrant.ledger.startCheckpointing();
  const address = await app.listen({ host, port: Number(m[2]) });
  io.out(`warrant serving on ${address} (store: ${warrant.store.location}, log: ${warrant.logKey.origin})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await app.close();
  await warrant.close();
  return Exit.OK;
}
