import { DEFAULT_LIMITS, parseDigest } from '../../evidence/index.ts';
import { isBadInput, loadTrustedKeys, openWarrant, type IntakeResult } from '../../intake/index.ts';
import { openStore } from '../../store/index.ts';
import { Exit, UsageError, parse, readInput, warrantHome, writeFileAtomic, type ExitCode, type Io } from '../io.ts';

export const usage = `warrant evidence add BUNDLE.json... [--out FILE] [--json]
  Verifies each bundle against the trusted keys ($WARRANT_HOME/trust/*.pub), stores it and
  appends it to the log. A bundle already stored is reported as present and changes nothing.
  --out writes the (single) bundle back with its log entry: inclusion proof and signed checkpoint.
warrant evidence list --subject sha256:HEX [--json]
  Lists the stored statements about that digest.`;

export async function evidence(args: string[], io: Io): Promise<ExitCode> {
  const [verb, ...rest] = args;
  if (verb === 'add') return add(rest, io);
  if (verb === 'list') return list(rest, io);
  throw new UsageError(usage);
}

async function add(args: string[], io: Io): Promise<ExitCode> {
  const { values, positionals } = parse(
    args,
    { json: { type: 'boolean', default: false }, out: { type: 'string' } },
    true,
  );
  if (positionals.length === 0) throw new UsageError('evidence add needs at least one BUNDLE.json');
  if (values.out !== undefined && positionals.length !== 1) throw new UsageError('--out takes exactly one BUNDLE.json');
  const home = warrantHome(io.env);
  if ((await loadTrustedKeys(home)).size === 0) {
    throw new UsageError(`no trusted keys: add one with 'warrant trust add PUB'`);
  }
  // Read every input before storing anything, so an unreadable file stores nothing.
  const inputs = await Promise.all(
    positionals.map(async (p) => ({ path: p, bytes: await readInput(p, 'bundle', DEFAULT_LIMITS.maxDocumentBytes) })),
  );
  const warrant = await openWarrant(home, io.env);
  let worst: ExitCode = Exit.OK;
  try {
    for (const { path, bytes } of inputs) {
      const r = await warrant.intake.add(bytes);
      if (values.json) io.out(JSON.stringify({ bundle: path, ...summarize(r) }));
      if (r.outcome === 'rejected') {
        if (!values.json) io.err(`${path}: FAIL ${r.failure.code}: ${r.failure.message}`);
        const code = isBadInput(r.failure) ? Exit.USAGE : Exit.DENIED;
        worst = Math.max(worst, code) as ExitCode;
        continue;
      }
      if (!values.json) {
        io.out(`${path}: ${r.outcome === 'stored' ? 'stored' : 'already present'} ${r.envelopeDigest} log index ${r.logIndex}`);
      }
      if (values.out !== undefined) await writeFileAtomic(values.out, JSON.stringify(r.bundle, null, 2) + '\n');
    }
  } finally {
    await warrant.close();
  }
  return worst;
}

function summarize(r: IntakeResult) {
  return r.outcome === 'rejected'
    ? { outcome: r.outcome, code: r.failure.code, message: r.failure.message }
    : { outcome: r.outcome, envelopeDigest: r.envelopeDigest, logIndex: r.logIndex.toString(), signer: r.evidence.signer };
}

async function list(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, { subject: { type: 'string' }, json: { type: 'boolean', default: false } });
  if (!values.subject) throw new UsageError('evidence list needs --subject sha256:HEX');
  try {
    parseDigest(values.subject);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const store = await openStore({ url: io.env.WARRANT_DB, home: warrantHome(io.env) });
  try {
    const rows = await store.listBySubject(values.subject);
    if (values.json) {
      io.out(
        JSON.stringify(
          rows.map((r) => ({
            envelopeDigest: r.envelopeDigest,
            predicateType: r.predicateType,
            signer: r.signer,
            subjects: r.subjects,
            addedAt: r.addedAt,
            bundle: JSON.parse(r.bundle) as unknown,
          })),
          null,
          2,
        ),
      );
    } else if (rows.length === 0) {
      io.err(`no statements about ${values.subject}`);
    } else {
      for (const r of rows) io.out(`${r.addedAt}  ${r.envelopeDigest}  ${r.predicateType}  signer ${r.signer}`);
    }
  } finally {
    await store.close();
  }
  return Exit.OK;
}
