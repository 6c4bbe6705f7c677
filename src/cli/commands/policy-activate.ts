import { DEFAULT_LIMITS, importPrivateKey } from '../../evidence/index.ts';
import { loadTrustedKeys, openWarrant } from '../../intake/index.ts';
import {
  activatePolicy,
  buildRollbackStatement,
  loadActivePolicy,
  loadPolicyBundle,
  publishedVersions,
  readActive,
  readBundleFile,
  PolicyVersionError,
} from '../../policy/index.ts';
import type { TrustedKeys } from '../../evidence/index.ts';
import { Exit, UsageError, parse, readInput, readPassphrase, warrantHome, writeFileAtomic, type ExitCode, type Io } from '../io.ts';
import { actor, versionArg } from './policy-errors.ts';

export const activateUsage = `warrant policy activate VERSION [--rollback-statement FILE]
  Verifies bundle v<VERSION> and makes it the active policy. A version below the active one
  is refused (ROLLBACK_REFUSED) unless a signed rollback statement names it.
warrant policy rollback-statement --to VERSION [--from ACTIVE] --reason TEXT --key KEY [--out FILE]
  Signs a statement allowing the active policy to go back to bundle v<VERSION>.
warrant policy status [--json]
  The active policy version and digest, verified.`;

async function trustedKeys(home: string): Promise<TrustedKeys> {
  const keys = await loadTrustedKeys(home);
  if (keys.size === 0) throw new UsageError(`no trusted keys: add one with 'warrant trust add PUB'`);
  return keys;
}

export async function activate(args: string[], io: Io): Promise<ExitCode> {
  const { values, positionals } = parse(args, { 'rollback-statement': { type: 'string' } }, true);
  if (positionals.length !== 1) throw new UsageError('policy activate needs exactly one VERSION');
  const version = versionArg(positionals[0], 'VERSION');
  const home = warrantHome(io.env);
  const keys = await trustedKeys(home);
  const statementPath = values['rollback-statement'];
  const rollbackStatement = statementPath === undefined ? undefined : await readInput(statementPath, 'rollback statement', DEFAULT_LIMITS.maxDocumentBytes);
  const warrant = await openWarrant(home, io.env);
  try {
    let activation;
    try {
      activation = await activatePolicy(home, keys, version, rollbackStatement === undefined ? {} : { rollbackStatement });
    } catch (err) {
      // A refused activation is recorded too: attempts to roll back are worth seeing.
      if (err instanceof PolicyVersionError) {
        await warrant.audit({ actor: actor(io), action: 'policy.activate', target: `policy-bundle v${version}`, outcome: 'failure', details: { code: err.code, message: err.message } });
      }
      throw err;
    }
    let statementIndex: string | undefined;
    if (rollbackStatement !== undefined && activation.rollback !== undefined) {
      const r = await warrant.intake.add(rollbackStatement);
      if (r.outcome !== 'rejected') statementIndex = r.logIndex.toString();
    }
    const index = await warrant.audit({
      actor: actor(io),
      action: 'policy.activate',
      target: `policy-bundle v${version}`,
      outcome: 'success',
      details: {
        version,
        digest: activation.active.digest,
        from: activation.previous?.version ?? null,
        ...(activation.rollback ? { rollback: { reason: activation.rollback.reason, signer: activation.rollback.signer, logIndex: statementIndex ?? null } } : {}),
      },
    });
    const from = activation.previous ? ` (was v${activation.previous.version})` : '';
    io.out(`active policy v${version} ${activation.active.digest}${from}${activation.rollback ? ` rollback: ${activation.rollback.reason}` : ''}; audit log index ${index}`);
  } finally {
    await warrant.close();
  }
  return Exit.OK;
}

export async function rollbackStatement(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, {
    to: { type: 'string' },
    from: { type: 'string' },
    reason: { type: 'string' },
    key: { type: 'string' },
    out: { type: 'string' },
    'passphrase-file': { type: 'string' },
  });
  if (!values.key) throw new UsageError('policy rollback-statement needs --key KEY');
  if (!values.reason?.trim()) throw new UsageError('policy rollback-statement needs --reason TEXT');
  const to = versionArg(values.to, '--to');
  const home = warrantHome(io.env);
  const active = await readActive(home);
  const from = values.from === undefined ? active?.version : versionArg(values.from, '--from');
  if (from === undefined) throw new UsageError('no active policy: give --from VERSION');
  if (to >= from) throw new UsageError(`--to ${to} must be below --from ${from}`);
  const target = loadPolicyBundle(await readBundleFile(home, to), await trustedKeys(home));
  const key = importPrivateKey(
    await readInput(values.key, 'key', 64 * 1024),
    await readPassphrase(io.env, values['passphrase-file']),
    `key ${values.key}`,
  );
  const bundle = buildRollbackStatement({ key, from, to, digest: target.digest, reason: values.reason });
  const text = JSON.stringify(bundle, null, 2) + '\n';
  if (values.out === undefined) io.out(text.trimEnd());
  else {
    await writeFileAtomic(values.out, text);
    io.err(`signed rollback v${from} -> v${to} (${target.digest}) with key ${key.keyId} -> ${values.out}`);
  }
  return Exit.OK;
}

export async function status(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, { json: { type: 'boolean', default: false } });
  const home = warrantHome(io.env);
  const active = await readActive(home);
  const published = await publishedVersions(home);
  if (active === undefined) {
    if (values.json) io.out(JSON.stringify({ active: null, published }));
    else io.out(`no active policy; published: ${published.map((v) => `v${v}`).join(', ') || 'none'}`);
    return Exit.OK;
  }
  // Status verifies what it reports: a tampered active bundle is an error here, not at the next gate.
  const bundle = await loadActivePolicy(home, await trustedKeys(home));
  if (values.json) {
    io.out(JSON.stringify({ active: { ...active, signer: bundle.signer, files: bundle.sources.map((s) => s.file) }, published }));
  } else {
    io.out(`active policy v${active.version} ${active.digest} activated ${active.activatedAt} signed by ${bundle.signer}`);
    io.out(`published: ${published.map((v) => `v${v}`).join(', ')}`);
  }
  return Exit.OK;
}
