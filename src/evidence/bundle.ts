import { decodeEnvelope, type DecodedEnvelope, type Envelope } from './dsse.ts';
import { VerificationCode, VerificationError } from './errors.ts';
import { isPlainObject, parseBoundedJson } from './json.ts';
import type { Limits } from './limits.ts';

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** Media types a reader must accept, by bundle version (protobuf-specs, sigstore_bundle.proto). */
const MEDIA_TYPE_VERSIONS: Readonly<Record<string, BundleVersion>> = {
  'application/vnd.dev.sigstore.bundle+json;version=0.1': '0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2': '0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3': '0.3',
  [BUNDLE_V03_MEDIA_TYPE]: '0.3',
};

export type BundleVersion = '0.1' | '0.2' | '0.3';

/**
 * A transparency-log entry in protobuf-JSON form. Kept opaque here: the
 * ledger (warrant's own log) and @sigstore/verify (Rekor) give it meaning.
 */
export type TransparencyLogEntry = Record<string, unknown>;

/** How the verifier finds the signing key: a key hint, or a certificate (keyless). */
export type SigningMaterial =
  | { kind: 'publicKey'; hint: string }
  | { kind: 'certificate'; rawBytes: string };

export interface Bundle {
  mediaType: string;
  verificationMaterial: {
    publicKey?: { hint: string };
    certificate?: { rawBytes: string };
    x509CertificateChain?: { certificates: { rawBytes: string }[] };
    tlogEntries?: TransparencyLogEntry[];
    timestampVerificationData?: Record<string, unknown>;
    [field: string]: unknown;
  };
  dsseEnvelope?: Envelope;
  messageSignature?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface BuildBundleOptions {
  signing: SigningMaterial;
  tlogEntries?: TransparencyLogEntry[];
  timestampVerificationData?: Record<string, unknown>;
}

/** A v0.3 bundle around a DSSE envelope. Empty repeated fields are omitted, as protobuf-JSON does. */
export function buildBundle(envelope: Envelope, options: BuildBundleOptions): Bundle {
  const material: Bundle['verificationMaterial'] =
    options.signing.kind === 'publicKey'
      ? { publicKey: { hint: options.signing.hint } }
      : { certificate: { rawBytes: options.signing.rawBytes } };
  if (options.tlogEntries && options.tlogEntries.length > 0) material.tlogEntries = options.tlogEntries;
  if (options.timestampVerificationData) material.timestampVerificationData = options.timestampVerificationData;
  return { mediaType: BUNDLE_V03_MEDIA_TYPE, verificationMaterial: material, dsseEnvelope: envelope };
}

export interface ParsedBundle {
  /** The bundle as read, every field kept. */
  bundle: Bundle;
  version: BundleVersion;
  /** The decoded DSSE envelope, when the bundle carries one rather than a message signature. */
  envelope?: DecodedEnvelope;
  /** `publicKey.hint`, when the bundle is signed by a key rather than a certificate. */
  keyHint?: string;
}

/** Parses a bundle from JSON text, bytes or an already-parsed value, within the limits. */
export function parseBundle(input: string | Uint8Array | unknown, limits: Limits): ParsedBundle {
  const value =
    typeof input === 'string' || input instanceof Uint8Array ? parseBoundedJson(input, 'bundle', limits) : input;
  if (!isPlainObject(value)) throw malformed('bundle is not a JSON object');
  const version = typeof value.mediaType === 'string' ? MEDIA_TYPE_VERSIONS[value.mediaType] : undefined;
  if (version === undefined) {
    throw malformed(`bundle mediaType ${JSON.stringify(value.mediaType)} is not a Sigstore bundle v0.1 to v0.3`);
  }
  const material = value.verificationMaterial;
  if (!isPlainObject(material)) throw malformed('bundle verificationMaterial is missing');
  const hasDsse = value.dsseEnvelope !== undefined;
  const hasMessage = value.messageSignature !== undefined;
  if (hasDsse === hasMessage) throw malformed('bundle must carry exactly one of dsseEnvelope and messageSignature');

  let keyHint: string | undefined;
  if (material.publicKey !== undefined) {
    if (!isPlainObject(material.publicKey) || typeof material.publicKey.hint !== 'string') {
      throw malformed('bundle verificationMaterial.publicKey.hint must be a string');
    }
    keyHint = material.publicKey.hint;
  } else if (material.certificate === undefined && material.x509CertificateChain === undefined) {
    throw malformed('bundle verificationMaterial has no publicKey, certificate or x509CertificateChain');
  }
  const parsed: ParsedBundle = { bundle: value as Bundle, version };
  if (keyHint !== undefined) parsed.keyHint = keyHint;
  if (hasDsse) parsed.envelope = decodeEnvelope(value.dsseEnvelope, limits);
  return parsed;
}

/** True when the key-signed bundle's signing material is a certificate (keyless Sigstore). */
export function isCertificateBundle(parsed: ParsedBundle): boolean {
  return parsed.keyHint === undefined;
}

function malformed(message: string): VerificationError {
  return new VerificationError(VerificationCode.MALFORMED, message);
}
