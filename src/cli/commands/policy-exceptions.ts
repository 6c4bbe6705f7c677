import { importPrivateKey } from '../../evidence/index.ts';
import { loadTrustedKeys, openWarrant } from '../../intake/index.ts';
import { buildException, isActive, loadExceptions, MAX_EXCEPTION_DAYS, saveException } from '../../policy/index.ts';
import { Exit, UsageError, parse, readInput, readPassphrase, warrantHome, type ExitCode, type Io } from '../io.ts';
import { actor } from './policy-errors.ts';

export const exceptionsUsage = `warrant policy exception add --policy NAME --subject sha256:HEX... --owner EMAIL --reason TEXT
                             --expires RFC3339 --key KEY [--passphrase-file FILE]
  Signs an exception to one policy for those artifacts, expiring within ${MAX_EXCEPTION_DAYS} days, and logs it.
warrant policy exceptions [--all] [--json]
  Lists the exceptions in force (verified, not expired); --all adds expired ones, marked.`;

export async function exception(args: string[], io: Io): Promise<ExitCode> {
  const [verb, ...rest] = args;
  if (verb !== 'add') throw new UsageError(exceptionsUsage);
  const { values } = parse(rest, {
    policy: { type: 'string' },
    subject: { type: 'string', multiple: true, default: [] },
    owner: { type: 'string' },
    reason: { type: 'string' },
    expires: { type: 'string' },
    key: { type: 'string' },
    'passphrase-file': { type: 'string' },
  });
  for (const name of ['policy', 'owner', 'reason', 'expires', 'key'] as const) {
    if (values[name] === undefined) throw new UsageError(`policy exception add needs --${name}`);
  }
  if (values.subject.length === 0) throw new UsageError('policy exception add needs --subject sha256:HEX');
  const key = importPrivateKey(
    await readInput(values.key!, 'key', 64 * 1024),
    await readPassphrase(io.env, values['passphrase-file']),
    `key ${values.key}`,
  );
  const bundle = buildException({
    key,
    policy: values.policy!,
    subjects: values.subject,
    owner: values.owner!,
    reason: values.reason!,
    expires: values.expires!,
  });
  const home = warrantHome(io.env);
  const warrant = await openWarrant(home, io.env);
  try {
    const r = await warrant.intake.add(JSON.stringify(bundle));
    if (r.outcome === 'rejected') {
      // An exception no gate would honour is not written: it would only mislead.
      io.err(`warrant: not added: ${r.failure.code}: ${r.failure.message} (is the key in $WARRANT_HOME/trust?)`);
      return Exit.DENIED;
    }
    const file = await saveException(home, r.bundle, r.envelopeDigest);
    await warrant.audit({
      actor: actor(io, key.keyId),
      action: 'policy.exception.add',
      target: `policy ${values.policy}`,
      outcome: 'success',
      details: { id: r.envelopeDigest, subjects: values.subject, owner: values.owner, expires: values.expires, logIndex: r.logIndex.toString() },
    });
    io.out(`exception ${r.envelopeDigest} to ${values.policy} for ${values.subject.length} subject(s), owner ${values.owner}, expires ${values.expires}; log index ${r.logIndex} -> ${file}`);
  } finally {
    await warrant.close();
  }
  return Exit.OK;
}

export async function listExceptions(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, { all: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } });
  const home = warrantHome(io.env);
  const { exceptions, rejected } = await loadExceptions(home, await loadTrustedKeys(home));
  for (const r of rejected) io.err(`warrant: ignored ${r.file}: ${r.message}`);
  const now = new Date();
  const shown = exceptions
    .map((e) => ({ ...e, status: isActive(e, now) ? ('active' as const) : ('expired' as const) }))
    .filter((e) => values.all || e.status === 'active');
  if (values.json) {
    io.out(JSON.stringify({ exceptions: shown }, null, 2));
    return Exit.OK;
  }
  if (shown.length === 0) {
    io.err(values.all ? 'no exceptions' : 'no active exceptions');
    return Exit.OK;
  }
  io.out(`${'STATUS'.padEnd(8)}${'POLICY'.padEnd(28)}${'OWNER'.padEnd(28)}${'EXPIRES'.padEnd(26)}SUBJECTS  REASON`);
  for (const e of shown) {
    io.out(`${e.status.padEnd(8)}${e.policy.padEnd(28)}${e.owner.padEnd(28)}${e.expires.padEnd(26)}${e.subjects.join(',')}  ${e.reason}`);
  }
  return Exit.OK;
}
