import type { ArtifactDigests } from './artifacts.ts';
import { parseBundle, type ParsedBundle } from './bundle.ts';
import { checkPayloadType, checkPredicateType, checkSubjects, parseStatementPayload } from './checks.ts';
import { envelopeDigest, verifyEnvelopeSignatures, type DecodedEnvelope, type KeyRing } from './dsse.ts';
import { VerificationCode, VerificationError } from './errors.ts';
import { withLimits, type Limits } from './limits.ts';
import { toFailure, type VerificationResult } from './result.ts';

export interface VerifyOptions {
  /** Artifacts that must each be a subject of the statement. */
  artifacts?: readonly ArtifactDigests[];
  /** When set, the statement's predicateType must equal it. */
  predicateType?: string;
  /** Distinct trusted keys that must have signed (default 1). */
  threshold?: number;
}

/**
 * Verifies key-signed bundles (warrant's own, or any DSSE bundle with a
 * `publicKey` hint) against keys passed in as data. For certificate-signed
 * bundles from a Sigstore instance use `SigstoreVerifier`.
 */
export class BundleVerifier {
  readonly #keys: KeyRing;
  readonly #limits: Limits;

  constructor(keys: KeyRing, limits?: Partial<Limits>) {
    this.#keys = keys;
    this.#limits = withLimits(limits);
  }

  /** The checks, in order; the first that fails decides the result. Never throws. */
  verify(bundle: string | Uint8Array | unknown, options: VerifyOptions = {}): VerificationResult {
    try {
      const parsed = parseBundle(bundle, this.#limits);
      const envelope = requireKeySignedEnvelope(parsed);
      checkPayloadType(envelope);
      const [signer] = verifyEnvelopeSignatures(envelope, this.#keys, options.threshold ?? 1, parsed.keyHint);
      const statement = parseStatementPayload(envelope, this.#limits);
      checkPredicateType(statement, options.predicateType);
      checkSubjects(statement, options.artifacts);
      let digest: ReturnType<typeof envelopeDigest> | undefined;
      return {
        ok: true,
        code: 'OK',
        message: `signed by key ${signer!.keyId}`,
        signer: { kind: 'key', keyId: signer!.keyId, algorithm: signer!.algorithm },
        statement,
        // Computed when first read: a gate that only needs the verdict does not pay for it.
        get envelopeDigest() {
          return (digest ??= envelopeDigest(envelope));
        },
      };
    } catch (err) {
      return toFailure(err);
    }
  }
}

/** A DSSE envelope in a bundle signed by a key, not a certificate. */
function requireKeySignedEnvelope(parsed: ParsedBundle): DecodedEnvelope {
  if (parsed.envelope === undefined) {
    throw new VerificationError(
      VerificationCode.UNSUPPORTED,
      'bundle carries a message signature, not a DSSE statement; verify it with --trusted-root and --artifact',
    );
  }
  if (parsed.keyHint === undefined) {
    throw new VerificationError(
      VerificationCode.UNSUPPORTED,
      'bundle is signed with a certificate, not a key; verify it with --trusted-root and a certificate identity',
    );
  }
  return parsed.envelope;
}
