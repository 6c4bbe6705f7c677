import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PolicyVersionError } from './errors.ts';

/** What `$WARRANT_HOME/policy/active.json` holds: the bundle the gate evaluates. */
export interface ActivePolicy {
  version: number;
  digest: string;
  activatedAt: string;
}

export function policyDir(home: string): string {
  return join(home, 'policy');
}

export function bundlesDir(home: string): string {
  return join(policyDir(home), 'bundles');
}

export function bundlePath(home: string, version: number): string {
  return join(bundlesDir(home), `v${version}.bundle.json`);
}

/** Versions with a bundle file, ascending. */
export async function publishedVersions(home: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(bundlesDir(home));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .map((n) => /^v([1-9][0-9]{0,14})\.bundle\.json$/.exec(n)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The next version to publish: one above the highest, or `requested` when it is above the highest. */
export async function nextVersion(home: string, requested?: number): Promise<number> {
  const highest = (await publishedVersions(home)).at(-1) ?? 0;
  if (requested === undefined) return highest + 1;
  if (!Number.isSafeInteger(requested) || requested <= highest) {
    throw new PolicyVersionError('VERSION_INVALID', `version ${requested} must be an integer above the highest published version ${highest}`);
  }
  return requested;
}

export async function readBundleFile(home: string, version: number): Promise<Buffer> {
  try {
    return await readFile(bundlePath(home, version));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PolicyVersionError('POLICY_BUNDLE_NOT_FOUND', `no published policy bundle v${version} in ${bundlesDir(home)}`);
    }
    throw err;
  }
}

export async function readActive(home: string): Promise<ActivePolicy | undefined> {
  let text: string;
  try {
    text = await readFile(join(policyDir(home), 'active.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const v = JSON.parse(text) as Partial<ActivePolicy>;
  if (typeof v.version !== 'number' || typeof v.digest !== 'string' || typeof v.activatedAt !== 'string') {
    throw new PolicyVersionError('POLICY_BUNDLE_INVALID', `${join(policyDir(home), 'active.json')} is not {version, digest, activatedAt}`);
  }
  return { version: v.version, digest: v.digest, activatedAt: v.activatedAt };
}

export async function writeActive(home: string, active: ActivePolicy): Promise<void> {
  await writeAtomic(join(policyDir(home), 'active.json'), JSON.stringify(active, null, 2) + '\n');
}

/**
 * Temp file, fsync, rename: a crash never leaves half a state file. With
 * `exclusive`, an existing file is never replaced (a published version is final).
 */
export async function writeAtomic(path: string, data: string, exclusive = false): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    const fh = await open(tmp, 'r');
    await fh.sync();
    await fh.close();
    if (exclusive) {
      // link fails with EEXIST instead of replacing, so two publishers cannot both write v<N>.
      await link(tmp, path);
      await unlink(tmp);
    } else {
      await rename(tmp, path);
    }
  } catch (err) {
    await unlink(tmp).catch(() => {});
    if (exclusive && (err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new PolicyVersionError('VERSION_INVALID', `${path} already exists: a published version is never replaced`);
    }
    throw err;
  }
}
