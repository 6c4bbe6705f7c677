import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TrustedKeys, importPublicKey } from '../evidence/index.ts';

/** `$WARRANT_HOME/trust`: the public keys whose statements warrant accepts, one PEM per `*.pub` file. */
export function trustDir(home: string): string {
  return join(home, 'trust');
}

export async function loadTrustedKeys(home: string): Promise<TrustedKeys> {
  const dir = trustDir(home);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.pub')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new TrustedKeys();
    throw err;
  }
  const keys = await Promise.all(
    names.map(async (n) => importPublicKey(await readFile(join(dir, n)), `trusted key ${join(dir, n)}`)),
  );
  return new TrustedKeys(keys);
}
