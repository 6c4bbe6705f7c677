import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DEFAULT_LIMITS, parseBundle, type DecodedEnvelope, type TransparencyLogEntry } from '../../evidence/index.ts';
import { logKeyPath, openWarrant, type Warrant } from '../../intake/index.ts';
import {
  auditLog,
  leafHash,
  loadOrCreateLogKey,
  verifyConsistency,
  verifyInclusion,
  type Checkpoint,
} from '../../ledger/index.ts';
import { decodeBase64Strict } from '../../evidence/index.ts';
import { Exit, UsageError, parse, readInput, warrantHome, type ExitCode, type Io } from '../io.ts';
import { monitorCommand, monitorUsage } from './log-monitor.ts';

export const usage = `warrant log checkpoint              print the latest signed checkpoint (C2SP signed note)
warrant log vkey                    print the log's C2SP verifier key (name+hash+base64)
warrant log trusted-root            print a Sigstore trusted root naming this log, for Sigstore verifiers
warrant log prove (--index N | --bundle FILE) [--json]
                                    an inclusion proof, checked against the latest checkpoint
warrant log consistency --old FILE --new FILE
                                    check two checkpoints: exit 1 on a fork or a rolled-back log
warrant log audit [--json]          recompute every hash and check every stored checkpoint
${monitorUsage}`;

export async function log(args: string[], io: Io): Promise<ExitCode> {
  const [verb, ...rest] = args;
  switch (verb) {
    case 'checkpoint':
      return withWarrant(io, async (w) => {
        parse(rest, {});
        io.out((await w.ledger.checkpoint()).note.trimEnd());
        return Exit.OK;
      });
    case 'vkey': {
      parse(rest, {});
      const key = await loadOrCreateLogKey(logKeyPath(warrantHome(io.env), io.env), io.env.WARRANT_LOG_ORIGIN || undefined);
      io.out(key.vkey);
      return Exit.OK;
    }
    case 'trusted-root':
      parse(rest, {});
      return trustedRoot(io);
    case 'prove':
      return prove(rest, io);
    case 'consistency':
      return consistency(rest, io);
    case 'audit':
      return audit(rest, io);
    case 'monitor':
      return monitorCommand(rest, io);
    default:
      throw new UsageError(usage);
  }
}

async function withWarrant(io: Io, fn: (w: Warrant) => Promise<ExitCode>): Promise<ExitCode> {
  const warrant = await openWarrant(warrantHome(io.env), io.env);
  try {
    return await fn(warrant);
  } finally {
    await warrant.close();
  }
}

async function trustedRoot(io: Io): Promise<ExitCode> {
  const key = await loadOrCreateLogKey(logKeyPath(warrantHome(io.env), io.env), io.env.WARRANT_LOG_ORIGIN || undefined);
  const root = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: `https://${key.origin}`,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
          keyDetails: 'PKIX_ED25519',
          validFor: { start: '1970-01-01T00:00:00Z' },
        },
        logId: { keyId: key.logId.toString('base64') },
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
  io.out(JSON.stringify(root, null, 2));
  return Exit.OK;
}

function bigintArg(value: string | undefined, name: string): bigint {
  if (value === undefined || !/^(0|[1-9][0-9]{0,19})$/.test(value)) throw new UsageError(`${name} must be a decimal integer`);
  return BigInt(value);
}

async function prove(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, {
    index: { type: 'string' },
    bundle: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if ((values.index === undefined) === (values.bundle === undefined)) {
    throw new UsageError('log prove needs exactly one of --index N and --bundle FILE');
  }
  return withWarrant(io, async (w) => {
    let index: bigint;
    let claimed: TransparencyLogEntry | undefined;
    let envelope: DecodedEnvelope | undefined;
    if (values.bundle !== undefined) {
      const parsed = parseBundle(await readInput(values.bundle, 'bundle', DEFAULT_LIMITS.maxDocumentBytes), DEFAULT_LIMITS);
      const id = w.logKey.logId.toString('base64');
      claimed = parsed.bundle.verificationMaterial.tlogEntries?.find(
        (e) => (e.logId as { keyId?: string } | undefined)?.keyId === id,
      );
      if (claimed === undefined) {
        io.err(`FAIL NOT_LOGGED: ${values.bundle} carries no entry from log ${w.logKey.origin}`);
        return Exit.DENIED;
      }
      envelope = parsed.envelope;
      index = bigintArg(String(claimed.logIndex), 'the bundle entry logIndex');
    } else {
      index = bigintArg(values.index, '--index');
    }
    const head = await w.ledger.treeHead();
    if (index >= head.size) {
      io.err(`FAIL NOT_LOGGED: index ${index} is beyond the log size ${head.size}`);
      return Exit.DENIED;
    }
    const checkpoint = await w.ledger.checkpointCovering(index);
    const opened = w.ledger.openCheckpoint(checkpoint.note).checkpoint;
    const [entry] = await w.store.entries(index, 1);
    const proof = await w.ledger.inclusionProof(index, opened.size);
    verifyInclusion(index, opened.size, leafHash(entry!), proof, opened.rootHash);
    if (claimed !== undefined) {
      // The bundle's own proof must hold against its own checkpoint, and that checkpoint must be ours.
      const body = decodeBase64Strict(claimed.canonicalizedBody, 'canonicalizedBody');
      if (!body.equals(entry!)) {
        io.err(`FAIL ENTRY_MISMATCH: the bundle's log entry body differs from entry ${index} in the log`);
        return Exit.DENIED;
      }
      // The entry must be the one for this bundle's envelope, not one grafted from another bundle.
      if (envelope === undefined || !recordsEnvelope(body, envelope)) {
        io.err(`FAIL ENTRY_MISMATCH: log entry ${index} does not record the bundle's DSSE envelope`);
        return Exit.DENIED;
      }
      const ip = claimed.inclusionProof as { checkpoint?: { envelope?: string }; hashes?: string[] } | undefined;
      let own: Checkpoint;
      try {
        own = w.ledger.openCheckpoint(String(ip?.checkpoint?.envelope ?? '')).checkpoint;
      } catch (err) {
        io.err(`FAIL CHECKPOINT_INVALID: the bundle's checkpoint: ${(err as Error).message}`);
        return Exit.DENIED;
      }
      const ipFields = ip as { treeSize?: unknown; rootHash?: unknown; logIndex?: unknown } | undefined;
      if (
        String(ipFields?.treeSize) !== own.size.toString() ||
        String(ipFields?.rootHash) !== own.rootHash.toString('base64') ||
        String(ipFields?.logIndex) !== index.toString()
      ) {
        io.err(`FAIL ENTRY_MISMATCH: the inclusion proof's treeSize, rootHash or logIndex disagree with its signed checkpoint`);
        return Exit.DENIED;
      }
      verifyInclusion(index, own.size, leafHash(body), (ip?.hashes ?? []).map((h, i) => decodeBase64Strict(h, `hashes[${i}]`)), own.rootHash);
      if (own.size <= opened.size && own.size > 0n) {
        verifyConsistency(own.size, opened.size, await w.ledger.consistencyProof(own.size, opened.size), own.rootHash, opened.rootHash);
      }
    }
    if (values.json) {
      io.out(
        JSON.stringify(
          { index: index.toString(), size: opened.size.toString(), hashes: proof.map((h) => h.toString('base64')), checkpoint: checkpoint.note },
          null,
          2,
        ),
      );
    } else {
      io.out(`OK: entry ${index} is included in the log at size ${opened.size}`);
      for (const h of proof) io.out(h.toString('base64'));
    }
    return Exit.OK;
  });
}

/** Whether a dsse v0.0.2 entry body records this envelope: its payload hash, and only its signatures. */
function recordsEnvelope(body: Buffer, envelope: DecodedEnvelope): boolean {
  type Spec = { payloadHash?: { algorithm?: unknown; digest?: unknown }; signatures?: { content?: unknown }[] };
  let spec: Spec | undefined;
  try {
    spec = (JSON.parse(body.toString('utf8')) as { spec?: { dsseV002?: Spec } } | null)?.spec?.dsseV002;
  } catch {
    return false;
  }
  const sigs = new Set(envelope.signatures.map((s) => s.sig.toString('base64')));
  return (
    spec?.payloadHash?.algorithm === 'SHA2_256' &&
    spec.payloadHash.digest === createHash('sha256').update(envelope.payload).digest('base64') &&
    Array.isArray(spec.signatures) &&
    spec.signatures.length > 0 &&
    spec.signatures.every((s) => typeof s?.content === 'string' && sigs.has(s.content))
  );
}

async function consistency(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, { old: { type: 'string' }, new: { type: 'string' } });
  if (values.old === undefined || values.new === undefined) throw new UsageError('log consistency needs --old FILE and --new FILE');
  const [oldNote, newNote] = await Promise.all([
    readFile(values.old, 'utf8').catch(() => {
      throw new UsageError(`cannot read ${values.old}`);
    }),
    readFile(values.new, 'utf8').catch(() => {
      throw new UsageError(`cannot read ${values.new}`);
    }),
  ]);
  return withWarrant(io, async (w) => {
    let older: Checkpoint;
    let newer: Checkpoint;
    try {
      older = w.ledger.openCheckpoint(oldNote).checkpoint;
      newer = w.ledger.openCheckpoint(newNote).checkpoint;
    } catch (err) {
      io.err(`FAIL CHECKPOINT_INVALID: ${(err as Error).message}`);
      return Exit.DENIED;
    }
    if (newer.size < older.size) {
      io.err(`FAIL ROLLBACK: the new checkpoint (size ${newer.size}) is older than the old one (size ${older.size})`);
      return Exit.DENIED;
    }
    if (older.size === newer.size && !older.rootHash.equals(newer.rootHash)) {
      io.err(`FAIL FORK: two checkpoints of size ${older.size} with different roots`);
      return Exit.DENIED;
    }
    // Each checkpoint this store can reach must match the stored tree at its size.
    const head = await w.ledger.treeHead();
    for (const [name, c] of [['old', older], ['new', newer]] as const) {
      if (c.size > head.size || c.size === 0n) continue;
      if (!(await w.ledger.rootAt(c.size)).equals(c.rootHash)) {
        io.err(`FAIL FORK: the ${name} checkpoint (size ${c.size}) disagrees with this log's tree at that size`);
        return Exit.DENIED;
      }
    }
    if (newer.size > head.size) {
      io.err(`INDETERMINATE: this store holds ${head.size} entries, fewer than the new checkpoint's ${newer.size}`);
      return Exit.INDETERMINATE;
    }
    if (older.size > 0n && older.size < newer.size) {
      const proof = await w.ledger.consistencyProof(older.size, newer.size);
      try {
        verifyConsistency(older.size, newer.size, proof, older.rootHash, newer.rootHash);
      } catch (err) {
        io.err(`FAIL FORK: checkpoint ${newer.size} is not an extension of checkpoint ${older.size}: ${(err as Error).message}`);
        return Exit.DENIED;
      }
    }
    io.out(`OK: consistent (size ${older.size} -> ${newer.size})`);
    return Exit.OK;
  });
}

async function audit(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, { json: { type: 'boolean', default: false } });
  return withWarrant(io, async (w) => {
    const report = await auditLog(w.store, w.logKey.verifier, w.logKey.origin);
    if (values.json) {
      io.out(
        JSON.stringify({
          ok: report.ok,
          size: report.size.toString(),
          entriesChecked: report.entriesChecked.toString(),
          checkpointsChecked: report.checkpointsChecked,
          problem: report.problem && { index: report.problem.index?.toString() ?? null, message: report.problem.message },
        }),
      );
    } else if (report.ok) {
      io.out(`OK: ${report.entriesChecked} entries and ${report.checkpointsChecked} checkpoints verified`);
    } else {
      const at = report.problem!.index !== undefined ? ` at index ${report.problem!.index}` : '';
      io.err(`FAIL TAMPERED${at}: ${report.problem!.message}`);
    }
    return report.ok ? Exit.OK : Exit.DENIED;
  });
}
