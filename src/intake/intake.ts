import {
  BundleVerifier,
  IN_TOTO_PAYLOAD_TYPE,
  VerificationCode,
  canonicalize,
  formatDigest,
  parseBundle,
  withLimits,
  type Bundle,
  type KeyRing,
  type Limits,
  type PublicKey,
  type TransparencyLogEntry,
  type VerificationFailure,
  type VerifiedEvidence,
} from '../evidence/index.ts';
import { dsseEntry, toTlogEntry, type Ledger, type LogKey } from '../ledger/index.ts';
import type { NewEvidence } from '../store/index.ts';

export type IntakeResult =
  | {
      outcome: 'stored' | 'duplicate';
      envelopeDigest: string;
      logIndex: bigint;
      evidence: VerifiedEvidence;
      /** The bundle as received, with warrant's log entry (inclusion proof and signed checkpoint) added. */
      bundle: Bundle;
    }
  | { outcome: 'rejected'; failure: VerificationFailure };

export interface IntakeOptions {
  limits?: Partial<Limits>;
}

/**
 * Evidence intake: a bundle is verified against the trusted keys, then stored
 * and appended to the log in one transaction, then handed back with a log
 * entry that proves its inclusion. A rejected bundle leaves nothing behind; a
 * replayed one changes nothing and gets the entry it was first given.
 */
export class EvidenceIntake {
  readonly #ledger: Ledger<NewEvidence>;
  readonly #keys: KeyRing;
  readonly #logKey: LogKey;
  readonly #verifier: BundleVerifier;
  readonly #limits: Limits;

  constructor(ledger: Ledger<NewEvidence>, keys: KeyRing, logKey: LogKey, options: IntakeOptions = {}) {
    this.#ledger = ledger;
    this.#keys = keys;
    this.#logKey = logKey;
    this.#limits = withLimits(options.limits);
    this.#verifier = new BundleVerifier(keys, options.limits);
  }

  async add(input: string | Uint8Array): Promise<IntakeResult> {
    const result = this.#verifier.verify(input);
    if (!result.ok) return { outcome: 'rejected', failure: result };
    const parsed = parseBundle(input, this.#limits);
    const envelope = parsed.envelope!;
    const signer = result.signer.kind === 'key' ? this.#keys.byKeyId(result.signer.keyId) : undefined;
    const entry = dsseEntry(envelope, [signer].filter((k): k is PublicKey => k !== undefined));
    const record = toRecord(result, parsed.bundle);
    const appended = await this.#ledger.append(entry, { key: record.envelopeDigest, record });
    const tlogEntry = await this.logEntry(appended.index);
    return {
      outcome: appended.appended ? 'stored' : 'duplicate',
      envelopeDigest: record.envelopeDigest,
      logIndex: appended.index,
      evidence: result,
      bundle: withLogEntry(parsed.bundle, tlogEntry, this.#logKey.logId),
    };
  }

  /** A fresh log entry for `index`: its body, an inclusion proof and the checkpoint that covers it. */
  async logEntry(index: bigint): Promise<TransparencyLogEntry> {
    const checkpoint = await this.#ledger.checkpointCovering(index);
    const [entry] = await this.#ledger.storage.entries(index, 1);
    if (entry === undefined) throw new Error(`log entry ${index} is missing`);
    const proof = await this.#ledger.inclusionProof(index, checkpoint.size);
    return toTlogEntry({ index, entry, proof, checkpoint, logId: this.#logKey.logId });
  }
}

/** Adds (or refreshes) warrant's entry among the bundle's log entries, keeping any others (Rekor's). */
export function withLogEntry(bundle: Bundle, entry: TransparencyLogEntry, logId: Buffer): Bundle {
  const id = logId.toString('base64');
  const others = (bundle.verificationMaterial.tlogEntries ?? []).filter(
    (e) => (e.logId as { keyId?: string } | undefined)?.keyId !== id,
  );
  return { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [...others, entry] } };
}

function toRecord(evidence: VerifiedEvidence, bundle: Bundle): NewEvidence {
  const statement = evidence.statement!;
  const subjects = statement.subject.flatMap((s) =>
    Object.entries(s.digest).map(([algorithm, digest]) => ({ name: s.name, algorithm, digest })),
  );
  return {
    envelopeDigest: formatDigest(evidence.envelopeDigest!),
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    predicateType: statement.predicateType,
    signer: evidence.signer.kind === 'key' ? evidence.signer.keyId : evidence.signer.identity,
    subjects,
    // Stored in canonical form so equal bundles are byte-equal in every store.
    bundle: canonicalize(bundle),
  };
}

/** Failures that mean "this input is not a bundle at all" rather than "this evidence is invalid". */
export function isBadInput(failure: VerificationFailure): boolean {
  return failure.code === VerificationCode.MALFORMED || failure.code === VerificationCode.LIMIT_EXCEEDED;
}
