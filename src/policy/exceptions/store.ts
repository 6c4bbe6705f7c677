import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bundle, KeyRing } from '../../evidence/index.ts';
import { policyDir, writeAtomic } from '../versions/index.ts';
import { isActive, verifyException, type PolicyException } from './exception.ts';

export function exceptionsDir(home: string): string {
  return join(policyDir(home), 'exceptions');
}

/** Stores a signed exception under its envelope digest; returns the file written. */
export async function saveException(home: string, bundle: Bundle, id: string): Promise<string> {
  const path = join(exceptionsDir(home), `${id.replace(/^sha256:/, '')}.bundle.json`);
  await writeAtomic(path, JSON.stringify(bundle, null, 2) + '\n');
  return path;
}

export interface StoredExceptions {
  exceptions: PolicyException[];
  /** Files that do not verify: never applied, reported so nobody thinks they are. */
  rejected: { file: string; message: string }[];
}

/** Every stored exception that verifies against the trusted keys, expired or not. */
export async function loadExceptions(home: string, keys: KeyRing): Promise<StoredExceptions> {
  const dir = exceptionsDir(home);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.bundle.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { exceptions: [], rejected: [] };
    throw err;
  }
  const out: StoredExceptions = { exceptions: [], rejected: [] };
  for (const name of names) {
    const file = join(dir, name);
    try {
      out.exceptions.push(verifyException(await readFile(file), keys));
    } catch (err) {
      out.rejected.push({ file, message: (err as Error).message });
    }
  }
  return out;
}

/** The exceptions in force at `now`: verified and not expired. Expiry needs no action by anyone. */
export async function activeExceptions(home: string, keys: KeyRing, now: Date = new Date()): Promise<PolicyException[]> {
  return (await loadExceptions(home, keys)).exceptions.filter((e) => isActive(e, now));
}

/** For metrics: how many exceptions are in force. */
export async function countActiveExceptions(home: string, keys: KeyRing, now: Date = new Date()): Promise<number> {
  return (await activeExceptions(home, keys, now)).length;
}
