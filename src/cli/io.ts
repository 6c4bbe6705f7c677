import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** warrant's exit codes, everywhere. */
export const Exit = { OK: 0, DENIED: 1, USAGE: 2, INDETERMINATE: 3 } as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

/** Wrong arguments, unreadable or malformed input: exit 2 with the message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  env: process.env,
};

export function warrantHome(env: NodeJS.ProcessEnv): string {
  return resolve(env.WARRANT_HOME || '.warrant');
}

/** parseArgs in strict mode, with its errors turned into usage errors. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Reads a whole input file under a byte limit, checking the size before reading a byte. */
export async function readInput(path: string, what: string, maxBytes: number): Promise<Buffer> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`${what} ${path} is not a regular file`);
    size = info.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size > maxBytes) throw new LimitError(`${what} ${path} is ${size} bytes, over the limit of ${maxBytes}`);
  return readFile(path);
}

/** An input over a limit: exit 2, reported with the LIMIT_EXCEEDED code. */
export class LimitError extends UsageError {
  readonly code = 'LIMIT_EXCEEDED';
}

/** Writes a file atomically (temp file, fsync, rename) so a failure never leaves half a file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { mode, flag: 'wx' });
    const fh = await open(tmp, 'r');
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

export function readPassphrase(env: NodeJS.ProcessEnv, file: string | undefined): Promise<string | undefined> {
  if (file !== undefined) return readFile(file, 'utf8').then((s) => s.replace(/\r?\n$/, ''));
  return Promise.resolve(env.WARRANT_KEY_PASSPHRASE || undefined);
}
