import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { exportPublicKeyPem, importPublicKey } from '../../evidence/index.ts';
import { loadTrustedKeys, trustDir } from '../../intake/index.ts';
import { Exit, UsageError, parse, readInput, warrantHome, writeFileAtomic, type ExitCode, type Io } from '../io.ts';

export const usage = `warrant trust add PUB...   trust statements signed by these public keys
warrant trust list         list the trusted keys ($WARRANT_HOME/trust/*.pub)`;

export async function trust(args: string[], io: Io): Promise<ExitCode> {
  const { positionals } = parse(args, {}, true);
  const [verb, ...files] = positionals;
  const home = warrantHome(io.env);
  if (verb === 'add' && files.length > 0) {
    await mkdir(trustDir(home), { recursive: true });
    for (const file of files) {
      const key = importPublicKey(await readInput(file, 'public key', 64 * 1024), `public key ${file}`);
      await writeFileAtomic(join(trustDir(home), `${key.keyId}.pub`), exportPublicKeyPem(key));
      io.out(`trusted ${key.algorithm} key ${key.keyId}`);
    }
    return Exit.OK;
  }
  if (verb === 'list' && files.length === 0) {
    for (const key of (await loadTrustedKeys(home)).all()) io.out(`${key.keyId}  ${key.algorithm}`);
    return Exit.OK;
  }
  throw new UsageError(usage);
}
