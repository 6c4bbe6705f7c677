import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  KEY_ALGORITHMS,
  exportPrivateKeyPem,
  exportPublicKeyPem,
  generateKey,
  type KeyAlgorithm,
} from '../../evidence/index.ts';
import { Exit, UsageError, parse, readPassphrase, writeFileAtomic, type ExitCode, type Io } from '../io.ts';

export const usage = `warrant keygen [--alg ed25519|ecdsa-p256] --out DIR [--force] [--passphrase-file FILE]
  Writes DIR/warrant.key (PKCS#8, mode 0600; encrypted when WARRANT_KEY_PASSPHRASE
  or --passphrase-file gives a passphrase) and DIR/warrant.pub (SPKI), and prints the key id.`;

export async function keygen(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, {
    alg: { type: 'string', default: 'ed25519' },
    out: { type: 'string' },
    force: { type: 'boolean', default: false },
    'passphrase-file': { type: 'string' },
  });
  if (!values.out) throw new UsageError('keygen needs --out DIR');
  if (!KEY_ALGORITHMS.includes(values.alg as KeyAlgorithm)) {
    throw new UsageError(`--alg must be one of ${KEY_ALGORITHMS.join(', ')}`);
  }
  const keyPath = join(values.out, 'warrant.key');
  const pubPath = join(values.out, 'warrant.pub');
  if (!values.force && (await exists(keyPath))) {
    throw new UsageError(`${keyPath} already exists; pass --force to replace it`);
  }
  const passphrase = await readPassphrase(io.env, values['passphrase-file']);
  const key = generateKey(values.alg as KeyAlgorithm);
  await mkdir(values.out, { recursive: true, mode: 0o700 });
  await writeFileAtomic(keyPath, exportPrivateKeyPem(key, passphrase), 0o600);
  await writeFileAtomic(pubPath, exportPublicKeyPem(key));
  io.out(`${key.algorithm} key ${key.keyId}`);
  io.out(`private: ${keyPath}${passphrase ? ' (encrypted)' : ''}`);
  io.out(`public:  ${pubPath}`);
  return Exit.OK;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
