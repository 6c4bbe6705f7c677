// The evidence core: the signed statement and everything needed to make,
// read and check one. Depends on nothing else in warrant.
export { artifactDigests, type ArtifactDigests } from './artifacts.ts';
export { decodeBase64Strict } from './base64.ts';
export {
  BUNDLE_V03_MEDIA_TYPE,
  buildBundle,
  parseBundle,
  type Bundle,
  type BundleVersion,
  type ParsedBundle,
  type SigningMaterial,
  type TransparencyLogEntry,
} from './bundle.ts';
export { canonicalize } from './canonical-json.ts';
export { parseBoundedJson, parseBoundedJsonObject } from './json.ts';
export { digestBytes, digestFile, formatDigest, parseDigest, type Digest, type DigestAlgorithm } from './digest.ts';
export {
  decodeEnvelope,
  envelopeDigest,
  normalizedEnvelope,
  preAuthEncoding,
  signEnvelope,
  verifyEnvelopeSignatures,
  type DecodedEnvelope,
  type Envelope,
  type KeyRing,
} from './dsse.ts';
export { InputError, VerificationCode, VerificationError } from './errors.ts';
export { TrustedKeys } from './keyring.ts';
export {
  KEY_ALGORITHMS,
  exportPrivateKeyPem,
  exportPublicKeyDer,
  exportPublicKeyPem,
  generateKey,
  importPrivateKey,
  importPublicKey,
  importPublicKeyDer,
  keyIdOf,
  type KeyAlgorithm,
  type PrivateKey,
  type PublicKey,
} from './keys.ts';
export { DEFAULT_LIMITS, withLimits, type Limits } from './limits.ts';
export { signBytes, verifyBytes } from './signature.ts';
export type { SignerInfo, VerificationFailure, VerificationResult, VerifiedEvidence } from './result.ts';
export { SigstoreVerifier, type IdentityPolicy, type SigstoreVerifyOptions } from './sigstore.ts';
export {
  IN_TOTO_PAYLOAD_TYPE,
  STATEMENT_TYPE_V1,
  buildStatement,
  subjectDigests,
  validateStatement,
  type Statement,
  type Subject,
} from './statement.ts';
export { fetchTrustedRoot, parseTrustedRoot, publicGoodTrustedRoot, type TrustedRootJson } from './trusted-root.ts';
export { BundleVerifier, type VerifyOptions } from './verify.ts';
export { attest, type AttestInput } from './attest.ts';
