import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportPrivateKeyPem, exportPublicKeyPem, type PrivateKey } from '../../src/evidence/index.ts';
import { openWarrant } from '../../src/intake/index.ts';
import { runCli } from '../helpers/cli.ts';
import { freshKey, tempDir } from '../helpers/evidence.ts';

export const SUITE = fileURLToPath(new URL('./fixtures/suite/', import.meta.url));
export const RESOURCES = join(SUITE, 'resources.yaml');

export interface Setup {
  root: string;
  env: NodeJS.ProcessEnv;
  home: string;
  key: PrivateKey;
  keyFile: string;
  /** A directory holding only the suite's policies. */
  policies: string;
}

/** A fresh $WARRANT_HOME trusting a fresh key, with the key on disk and a policy directory. */
export async function setup(trusted = true): Promise<Setup> {
  const root = tempDir();
  const key = freshKey();
  const home = join(root, 'home');
  const env = { WARRANT_HOME: home };
  writeFileSync(join(root, 'k.key'), exportPrivateKeyPem(key));
  writeFileSync(join(root, 'k.pub'), exportPublicKeyPem(key));
  if (trusted) {
    const r = await runCli(['trust', 'add', join(root, 'k.pub')], { env });
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const policies = join(root, 'policies');
  mkdirSync(policies);
  cpSync(join(SUITE, 'policies.yaml'), join(policies, 'policies.yaml'));
  return { root, env, home, key, keyFile: join(root, 'k.key'), policies };
}

/** The log size and the audit actions in it, read the way `warrant log` does. */
export async function logState(s: Setup): Promise<{ size: bigint; actions: string[] }> {
  const w = await openWarrant(s.home, s.env);
  try {
    const head = await w.ledger.treeHead();
    const entries = head.size === 0n ? [] : await w.store.entries(0n, Number(head.size));
    const actions = entries
      .map((e) => JSON.parse(e.toString()) as { kind: string; spec: { action?: string } })
      .filter((e) => e.kind === 'warrant.audit')
      .map((e) => e.spec.action!);
    return { size: head.size, actions };
  } finally {
    await w.close();
  }
}
