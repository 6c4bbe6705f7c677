import { bundleFromJSON, type Bundle as SigstoreBundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import {
  PolicyError,
  VerificationError as SigstoreVerificationError,
  Verifier,
  toSignedEntity,
  toTrustMaterial,
  type KeyFinderFunc,
  type Signer,
  type TrustMaterial,
} from '@sigstore/verify';
import type { ArtifactDigests } from './artifacts.ts';
import { parseBundle, type Bundle, type ParsedBundle } from './bundle.ts';
import { checkPayloadType, checkPredicateType, checkSubjects, parseStatementPayload } from './checks.ts';
import { envelopeDigest } from './dsse.ts';
import { VerificationCode, VerificationError } from './errors.ts';
import type { PublicKey } from './keys.ts';
import { withLimits, type Limits } from './limits.ts';
import { toFailure, type SignerInfo, type VerificationResult } from './result.ts';
import type { TrustedRootJson } from './trusted-root.ts';

/**
 * Who may have signed a certificate bundle. The identity is the certificate's
 * SAN (an email, a workflow URI, ...): exact, or a regular expression searched
 * as cosign's --certificate-identity-regexp does (anchor it with ^...$). The
 * issuer is the OIDC issuer Fulcio recorded, matched exactly.
 */
export interface IdentityPolicy {
  identity: string | RegExp;
  issuer: string;
}

export interface SigstoreVerifyOptions {
  /** Required for certificate-signed bundles. */
  identity?: IdentityPolicy;
  /** Artifacts whose digests must be statement subjects (DSSE bundles). */
  artifacts?: readonly ArtifactDigests[];
  /** The artifact bytes a message-signature bundle signs. */
  messageArtifact?: Buffer;
  predicateType?: string;
}

/**
 * Verifies Sigstore bundles (v0.1 to v0.3, DSSE or message signature, Rekor v1
 * or v2, certificate or key) offline against a trusted root passed in as data.
 * @sigstore/verify checks the certificate chain, SCTs, log entries, timestamps
 * and the signature; this class adds what that library leaves to its caller:
 * payloadType, statement shape, subjects, predicateType and identity patterns.
 */
export class SigstoreVerifier {
  readonly #trust: TrustMaterial;
  readonly #keys: readonly PublicKey[];
  readonly #limits: Limits;

  constructor(trustedRoot: TrustedRootJson, keys: readonly PublicKey[] = [], limits?: Partial<Limits>) {
    this.#keys = keys;
    this.#limits = withLimits(limits);
    this.#trust = toTrustMaterial(TrustedRoot.fromJSON(trustedRoot), this.#findKey);
  }

  verify(bundle: string | Uint8Array | unknown, options: SigstoreVerifyOptions = {}): VerificationResult {
    try {
      const parsed = parseBundle(bundle, this.#limits);
      const sigstoreBundle = toSigstoreBundle(parsed);
      if (parsed.envelope !== undefined) checkPayloadType(parsed.envelope);
      const signer = this.#verifyCryptography(parsed, sigstoreBundle, options);
      const signerInfo = describeSigner(parsed, signer, this.#keys);
      if (signerInfo.kind === 'certificate') checkIdentity(signerInfo, options.identity);
      if (parsed.envelope === undefined) {
        if (options.predicateType !== undefined) {
          throw new VerificationError(VerificationCode.PREDICATE_TYPE_MISMATCH, 'a message-signature bundle has no predicate type');
        }
        return { ok: true, code: 'OK', message: describe(signerInfo), signer: signerInfo, statement: undefined, envelopeDigest: undefined };
      }
      const statement = parseStatementPayload(parsed.envelope, this.#limits);
      checkPredicateType(statement, options.predicateType);
      checkSubjects(statement, options.artifacts);
      return {
        ok: true,
        code: 'OK',
        message: describe(signerInfo),
        signer: signerInfo,
        statement,
        envelopeDigest: envelopeDigest(parsed.envelope),
      };
    } catch (err) {
      return toFailure(err);
    }
  }

  /** Certificate chain, SCTs, transparency log, timestamps and signature, by @sigstore/verify. */
  #verifyCryptography(parsed: ParsedBundle, bundle: SigstoreBundle, options: SigstoreVerifyOptions): Signer {
    if (parsed.envelope === undefined && options.messageArtifact === undefined) {
      throw new VerificationError(
        VerificationCode.UNSUPPORTED,
        'a message-signature bundle signs an artifact: pass exactly one --artifact',
      );
    }
    const keySigned = parsed.keyHint !== undefined;
    const verifier = new Verifier(this.#trust, {
      tlogThreshold: 1,
      ctlogThreshold: keySigned ? 0 : 1,
      timestampThreshold: keySigned ? 0 : 1,
    });
    try {
      const entity = toSignedEntity(bundle, parsed.envelope === undefined ? options.messageArtifact : undefined);
      return verifier.verify(entity);
    } catch (err) {
      throw fromSigstoreError(err);
    }
  }

  #findKey: KeyFinderFunc = (hint) => {
    const key = this.#keys.find((k) => k.keyId === hint) ?? (this.#keys.length === 1 ? this.#keys[0] : undefined);
    if (key === undefined) {
      throw new VerificationError(VerificationCode.KEY_UNKNOWN, `no trusted key for key hint ${hint.slice(0, 100)}`);
    }
    return { publicKey: key.key, validFor: () => true };
  };
}

function toSigstoreBundle(parsed: ParsedBundle): SigstoreBundle {
  try {
    return bundleFromJSON(withoutCheckpointlessProofs(parsed.bundle));
  } catch (err) {
    throw new VerificationError(VerificationCode.MALFORMED, `bundle is not a valid Sigstore bundle: ${(err as Error).message}`);
  }
}

/**
 * Early (v0.1) bundles carry a Rekor v1 inclusion proof without a checkpoint,
 * beside the signed entry timestamp that was their proof of inclusion then.
 * @sigstore/verify 4.x throws a TypeError on such a proof instead of using the
 * SET, so the proof is set aside and the entry is checked by its SET, as
 * bundle v0.1 intended. An entry with neither stays as it is and fails.
 */
function withoutCheckpointlessProofs(bundle: Bundle): Bundle {
  const entries = bundle.verificationMaterial.tlogEntries;
  if (!entries?.some(isCheckpointlessWithPromise)) return bundle;
  return {
    ...bundle,
    verificationMaterial: {
      ...bundle.verificationMaterial,
      tlogEntries: entries.map((e) => {
        if (!isCheckpointlessWithPromise(e)) return e;
        const { inclusionProof: _set_aside, ...rest } = e;
        return rest;
      }),
    },
  };
}

function isCheckpointlessWithPromise(entry: Record<string, unknown>): boolean {
  const proof = entry.inclusionProof as { checkpoint?: { envelope?: string } } | null | undefined;
  // protobuf-JSON writers may spell an absent message as null.
  if (proof === null) return true;
  return proof !== undefined && !proof.checkpoint?.envelope && entry.inclusionPromise != null;
}

/** Maps @sigstore/verify's error codes onto warrant's stable ones. */
function fromSigstoreError(err: unknown): VerificationError {
  if (err instanceof VerificationError) return err;
  if (err instanceof PolicyError) return new VerificationError(VerificationCode.IDENTITY_MISMATCH, err.message, { cause: err });
  if (err instanceof SigstoreVerificationError) {
    const code =
      err.code === 'SIGNATURE_ERROR'
        ? VerificationCode.SIGNATURE_INVALID
        : err.code === 'PUBLIC_KEY_ERROR'
          ? VerificationCode.KEY_UNKNOWN
          : VerificationCode.TRUST_INVALID;
    const cause = err.cause instanceof VerificationError ? err.cause : undefined;
    if (cause) return cause;
    return new VerificationError(code, `${err.code}: ${err.message}`, { cause: err });
  }
  // The library can throw plain TypeErrors on inputs it did not expect; that is a failed verification.
  const message = err instanceof Error ? err.message : String(err);
  return new VerificationError(VerificationCode.TRUST_INVALID, `Sigstore verification failed: ${message}`, { cause: err });
}

function describeSigner(parsed: ParsedBundle, signer: Signer, keys: readonly PublicKey[]): SignerInfo {
  if (signer.identity !== undefined || parsed.keyHint === undefined) {
    return {
      kind: 'certificate',
      identity: signer.identity?.subjectAlternativeName ?? '',
      issuer: signer.identity?.extensions?.issuer,
    };
  }
  const key = keys.find((k) => k.key.equals(signer.key));
  return { kind: 'key', keyId: key?.keyId ?? parsed.keyHint, algorithm: key?.algorithm ?? 'unknown' };
}

function checkIdentity(signer: Extract<SignerInfo, { kind: 'certificate' }>, policy: IdentityPolicy | undefined): void {
  if (policy === undefined) {
    throw new VerificationError(
      VerificationCode.IDENTITY_MISMATCH,
      `bundle is signed by ${signer.identity} (${signer.issuer ?? 'no issuer'}) and no identity policy was given`,
    );
  }
  const identityOk =
    typeof policy.identity === 'string' ? signer.identity === policy.identity : policy.identity.test(signer.identity);
  if (!identityOk) {
    throw new VerificationError(
      VerificationCode.IDENTITY_MISMATCH,
      `certificate identity is ${signer.identity}, which does not match ${String(policy.identity)}`,
    );
  }
  if (signer.issuer !== policy.issuer) {
    throw new VerificationError(
      VerificationCode.IDENTITY_MISMATCH,
      `certificate OIDC issuer is ${signer.issuer ?? '(none)'}, expected ${policy.issuer}`,
    );
  }
}

function describe(signer: SignerInfo): string {
  return signer.kind === 'key' ? `signed by key ${signer.keyId}` : `signed by ${signer.identity} (issuer ${signer.issuer})`;
}

