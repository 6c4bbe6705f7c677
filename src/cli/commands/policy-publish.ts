import { stat } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { importPrivateKey } from '../../evidence/index.ts';
import { openWarrant } from '../../intake/index.ts';
import {
  buildPolicyBundle,
  bundlePath,
  celCompiler,
  nextVersion,
  policiesFromSources,
  readPolicySources,
  writeAtomic,
} from '../../policy/index.ts';
import { Exit, UsageError, parse, readInput, readPassphrase, warrantHome, type ExitCode, type Io } from '../io.ts';
import { actor, versionArg } from './policy-errors.ts';

export const publishUsage = `warrant policy publish DIR --key KEY [--version N] [--passphrase-file FILE]
  Compiles every policy under DIR, signs them as policy bundle v<N> (one above the highest
  published, or N) in $WARRANT_HOME/policy/bundles, and records it in the log.`;

export async function publish(args: string[], io: Io): Promise<ExitCode> {
  const { values, positionals } = parse(
    args,
    { key: { type: 'string' }, version: { type: 'string' }, 'passphrase-file': { type: 'string' } },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('policy publish needs exactly one DIR');
  if (!values.key) throw new UsageError('policy publish needs --key KEY');
  const dir = positionals[0]!;
  const requested = values.version === undefined ? undefined : versionArg(values.version, '--version');
  const sources = await readPolicySources([dir]);
  // Compiled before anything is signed: a bundle that does not compile is never published.
  const set = policiesFromSources(sources, celCompiler);
  if (set.policies.length === 0) throw new UsageError(`no policies under ${dir}`);
  const key = importPrivateKey(
    await readInput(values.key, 'key', 64 * 1024),
    await readPassphrase(io.env, values['passphrase-file']),
    `key ${values.key}`,
  );
  const home = warrantHome(io.env);
  const version = await nextVersion(home, requested);
  const root = (await stat(dir)).isDirectory() ? dir : dirname(dir);
  const files = sources.map((s) => ({ path: relative(root, s.file).split(sep).join('/'), content: s.text }));
  const { bundle, digest } = buildPolicyBundle({ key, version, files });
  const path = bundlePath(home, version);
  // Written exclusively first, so a concurrent publish of the same version fails before anything is logged.
  await writeAtomic(path, JSON.stringify(bundle, null, 2) + '\n', true);
  io.out(`published policy v${version} ${digest} (${files.length} file(s), ${set.policies.length} policies) -> ${path}`);
  const warrant = await openWarrant(home, io.env);
  try {
    const r = await warrant.intake.add(JSON.stringify(bundle));
    if (r.outcome === 'rejected') {
      io.err(`note: not logged: ${r.failure.code}: the signing key ${key.keyId} is not in $WARRANT_HOME/trust, so no gate will load this bundle`);
    } else {
      await writeAtomic(path, JSON.stringify(r.bundle, null, 2) + '\n');
      io.out(`logged at index ${r.logIndex}`);
    }
    await warrant.audit({
      actor: actor(io, key.keyId),
      action: 'policy.publish',
      target: `policy-bundle v${version}`,
      outcome: 'success',
      details: { version, digest, logged: r.outcome !== 'rejected', ...(r.outcome !== 'rejected' ? { logIndex: r.logIndex.toString() } : {}) },
    });
  } finally {
    await warrant.close();
  }
  return Exit.OK;
}
