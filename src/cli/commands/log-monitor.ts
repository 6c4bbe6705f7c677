import { join } from 'node:path';
import {
  FileMonitorState,
  LogMonitor,
  MonitorError,
  NoteError,
  parseVerifierKey,
  TilesClient,
  TilesClientError,
  type MonitorResult,
  type NoteVerifier,
} from '../../ledger/index.ts';
import { Exit, UsageError, parse, warrantHome, type ExitCode, type Io } from '../io.ts';

export const monitorUsage = `warrant log monitor --url URL --origin ORIGIN --vkey VKEY [--once] [--interval SECONDS] [--state DIR]
                                    follow any C2SP tlog-tiles log (URL is the tiles prefix, e.g.
                                    http://127.0.0.1:8787/v1/log): recompute each checkpoint's root from
                                    tiles and prove it extends the last one verified (kept in DIR, default
                                    $WARRANT_HOME/monitor). --once: exit 0 ok, 1 fork, rollback or invalid,
                                    3 unreachable. Otherwise poll every SECONDS (10) until SIGINT/SIGTERM,
                                    exiting 1 on the first fork or rollback`;

const DEFAULT_INTERVAL_SECONDS = 10;
const MAX_INTERVAL_SECONDS = 86_400;

function intervalMs(value: string | undefined): number {
  if (value === undefined) return DEFAULT_INTERVAL_SECONDS * 1000;
  const seconds = /^[0-9]{1,5}(\.[0-9]{1,3})?$/.test(value) ? Number(value) : NaN;
  if (!(seconds > 0 && seconds <= MAX_INTERVAL_SECONDS)) {
    throw new UsageError(`--interval must be a number of seconds in (0, ${MAX_INTERVAL_SECONDS}]`);
  }
  return Math.round(seconds * 1000);
}

function verifierKey(vkey: string): NoteVerifier {
  try {
    return parseVerifierKey(vkey);
  } catch (err) {
    if (err instanceof NoteError) throw new UsageError(`--vkey: ${err.message}`);
    throw err;
  }
}

function tilesClient(url: string): TilesClient {
  try {
    return new TilesClient(url);
  } catch (err) {
    if (err instanceof TilesClientError) throw new UsageError(`--url: ${err.message}`);
    throw err;
  }
}

/** The signed note as printed: exactly its bytes, whose final newline the line adds back. */
function noteLines(note: string): string {
  return note.endsWith('\n') ? note.slice(0, -1) : note;
}

/** One line per check; a fork or rollback is shouted, with both notes so anyone can check them. */
function report(r: MonitorResult, url: string, statePath: string, io: Io): void {
  switch (r.outcome) {
    case 'ok':
      io.out(`OK: ${r.message}`);
      return;
    case 'unavailable':
      io.err(`UNAVAILABLE: ${r.message}`);
      return;
    case 'invalid':
      io.err(`FAIL ${r.code}: ${r.message}`);
      return;
    case 'fork':
    case 'rollback':
      io.err(`SECURITY ERROR: ${r.code}: ${r.message}`);
      io.err('The log has shown two views that cannot both be honest. Keep both signed checkpoints as evidence.');
      io.err(`old checkpoint (size ${r.previousSize}, verified earlier, from ${statePath}):`);
      io.err(noteLines(r.evidence!.old));
      io.err(`new checkpoint (size ${r.size}, from ${url}/checkpoint):`);
      io.err(noteLines(r.evidence!.new));
  }
}

function exitCode(r: MonitorResult): ExitCode {
  if (r.outcome === 'ok') return Exit.OK;
  return r.outcome === 'unavailable' ? Exit.INDETERMINATE : Exit.DENIED;
}

/** One check, or a MonitorError when the state itself is unusable. */
async function checkOnce(monitor: LogMonitor, io: Io): Promise<MonitorResult | ExitCode> {
  try {
    return await monitor.check();
  } catch (err) {
    if (!(err instanceof MonitorError)) throw err;
    io.err(`warrant: ${err.code}: ${err.message}`);
    // A state that cannot be read is bad input; one that cannot be written leaves the outcome open.
    return err.code === 'STATE_INVALID' ? Exit.USAGE : Exit.INDETERMINATE;
  }
}

export async function monitorCommand(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, {
    url: { type: 'string' },
    origin: { type: 'string' },
    vkey: { type: 'string' },
    once: { type: 'boolean', default: false },
    interval: { type: 'string' },
    state: { type: 'string' },
  });
  if (values.url === undefined || values.origin === undefined || values.vkey === undefined) {
    throw new UsageError('log monitor needs --url URL, --origin ORIGIN and --vkey VKEY');
  }
  if (values.origin === '' || values.origin.includes('\n')) throw new UsageError('--origin must be one non-empty line');
  if (values.once && values.interval !== undefined) throw new UsageError('--interval applies only without --once');
  const verifier = verifierKey(values.vkey);
  const client = tilesClient(values.url);
  const every = intervalMs(values.interval);
  const state = new FileMonitorState(values.state ?? join(warrantHome(io.env), 'monitor'), values.origin);
  const monitor = new LogMonitor({ client, verifier, origin: values.origin, state });

  if (values.once) {
    const r = await checkOnce(monitor, io);
    if (typeof r === 'number') return r;
    report(r, client.baseUrl, state.location, io);
    return exitCode(r);
  }

  let stopped = false;
  let wake = () => {};
  const stop = () => {
    stopped = true;
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    while (!stopped) {
      const r = await checkOnce(monitor, io);
      if (r === Exit.USAGE) return r;
      if (typeof r !== 'number') {
        report(r, client.baseUrl, state.location, io);
        // Only fork and rollback end the watch: a bad checkpoint or tile may be a passing fault in between.
        if (r.outcome === 'fork' || r.outcome === 'rollback') return Exit.DENIED;
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, every);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return Exit.OK;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
