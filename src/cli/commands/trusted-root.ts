import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchTrustedRoot } from '../../evidence/index.ts';
import { trustDir } from '../../intake/index.ts';
import { Exit, parse, warrantHome, writeFileAtomic, type ExitCode, type Io } from '../io.ts';

export const usage = `warrant trusted-root update [--mirror URL]
  Refreshes the public-good Sigstore trusted root over TUF into $WARRANT_HOME/trust/sigstore.
  Offline, verification uses the root pinned in the installed sigstore-js; this only moves it forward.`;

export function publicGoodRootPath(home: string): string {
  return join(trustDir(home), 'sigstore', 'public-good.trusted_root.json');
}

export async function trustedRoot(args: string[], io: Io): Promise<ExitCode> {
  const { values, positionals } = parse(args, { mirror: { type: 'string' } }, true);
  if (positionals[0] !== 'update' || positionals.length !== 1) {
    io.err(usage);
    return Exit.USAGE;
  }
  const home = warrantHome(io.env);
  const dir = join(trustDir(home), 'sigstore');
  await mkdir(join(dir, 'tuf-cache'), { recursive: true });
  try {
    const root = await fetchTrustedRoot({
      cachePath: join(dir, 'tuf-cache'),
      ...(values.mirror ? { mirrorURL: values.mirror } : {}),
    });
    await writeFileAtomic(publicGoodRootPath(home), JSON.stringify(root, null, 2) + '\n');
    io.out(`trusted root updated: ${publicGoodRootPath(home)}`);
    return Exit.OK;
  } catch (err) {
    // No answer from the TUF repository is not a verdict on anything: indeterminate.
    io.err(`INDETERMINATE: trusted root not updated, the pinned one stays in use: ${(err as Error).message}`);
    return Exit.INDETERMINATE;
  }
}
