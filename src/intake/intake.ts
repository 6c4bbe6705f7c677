import {
  BundleVerifier,
  VerificationCode,
  canonicalize,
  formatDigest,
  type KeyRing,
  type Limits,
  type VerificationFailure,
  type VerifiedEvidence,
} from '../evidence/index.ts';
import type { EvidenceStore, NewEvidence } from '../store/index.ts';

export type IntakeResult =
  | { outcome: 'stored'; envelopeDigest: string; id: number; evidence: VerifiedEvidence }
  | { outcome: 'duplicate'; envelopeDigest: string; id: number; evidence: VerifiedEvidence }
  | { outcome: 'rejected'; failure: VerificationFailure };

/**
 * Evidence intake: a bundle is verified against the trusted keys and only
 * then stored, indexed by envelope digest and by every subject digest. A
 * rejected bundle leaves the store untouched; a replayed one changes nothing.
 */
export class EvidenceIntake {
  readonly #store: EvidenceStore;
  readonly #verifier: BundleVerifier;

  constructor(store: EvidenceStore, keys: KeyRing, limits?: Partial<Limits>) {
    this.#store = store;
    this.#verifier = new BundleVerifier(keys, limits);
  }

  async add(bundle: string | Uint8Array): Promise<IntakeResult> {
    const result = this.#verifier.verify(bundle);
    if (!result.ok) return { outcome: 'rejected', failure: result };
    const record = toRecord(result, bundle);
    const added = await this.#store.addEvidence(record);
    return {
      outcome: added.inserted ? 'stored' : 'duplicate',
      envelopeDigest: added.envelopeDigest,
      id: added.id,
      evidence: result,
    };
  }
}

function toRecord(evidence: VerifiedEvidence, bundle: string | Uint8Array): NewEvidence {
  const statement = evidence.statement!;
  const subjects = statement.subject.flatMap((s) =>
    Object.entries(s.digest).map(([algorithm, digest]) => ({ name: s.name, algorithm, digest })),
  );
  const text = typeof bundle === 'string' ? bundle : Buffer.from(bundle).toString('utf8');
  return {
    envelopeDigest: formatDigest(evidence.envelopeDigest!),
    payloadType: 'application/vnd.in-toto+json',
    predicateType: statement.predicateType,
    signer: evidence.signer.kind === 'key' ? evidence.signer.keyId : evidence.signer.identity,
    subjects,
    // Stored in canonical form so equal bundles are byte-equal in every store.
    bundle: canonicalize(JSON.parse(text)),
  };
}

/** Failures that mean "this input is not a bundle at all" rather than "this evidence is invalid". */
export function isBadInput(failure: VerificationFailure): boolean {
  return failure.code === VerificationCode.MALFORMED || failure.code === VerificationCode.LIMIT_EXCEEDED;
}
