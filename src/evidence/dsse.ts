import { decodeBase64Strict } from './base64.ts';
import { canonicalize } from './canonical-json.ts';
import { digestBytes, type Digest } from './digest.ts';
import { VerificationCode, VerificationError } from './errors.ts';
import { isPlainObject } from './json.ts';
import type { PrivateKey, PublicKey } from './keys.ts';
import type { Limits } from './limits.ts';
import { signBytes, verifyBytes } from './signature.ts';

/** A DSSE envelope as it appears in JSON. */
export interface Envelope {
  payload: string;
  payloadType: string;
  signatures: EnvelopeSignature[];
}

export interface EnvelopeSignature {
  keyid?: string;
  sig: string;
}

/** An envelope whose base64 fields have been strictly decoded. */
export interface DecodedEnvelope {
  payloadType: string;
  payload: Buffer;
  signatures: { keyid: string; sig: Buffer }[];
}

const PAE_PREFIX = 'DSSEv1';

/**
 * DSSE v1 pre-authentication encoding:
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 * with LEN the ASCII decimal byte length and SP one 0x20 byte.
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  const head = Buffer.from(`${PAE_PREFIX} ${type.length} ${payloadType} ${payload.byteLength} `, 'utf8');
  return Buffer.concat([head, payload]);
}

export function signEnvelope(payloadType: string, payload: Uint8Array, keys: readonly PrivateKey[]): Envelope {
  if (keys.length === 0) throw new TypeError('signEnvelope needs at least one key');
  const pae = preAuthEncoding(payloadType, payload);
  return {
    payload: Buffer.from(payload).toString('base64'),
    payloadType,
    signatures: keys.map((k) => ({ keyid: k.keyId, sig: signBytes(k, pae).toString('base64') })),
  };
}

/** Checks an envelope's shape and limits and decodes it; throws VerificationError. */
export function decodeEnvelope(value: unknown, limits: Limits): DecodedEnvelope {
  if (!isPlainObject(value)) throw malformed('DSSE envelope is not a JSON object');
  const { payload, payloadType, signatures } = value;
  if (typeof payloadType !== 'string') throw malformed('DSSE envelope payloadType must be a string');
  if (typeof payload !== 'string') throw malformed('DSSE envelope payload must be a base64 string');
  if (payload.length > Math.ceil(limits.maxPayloadBytes / 3) * 4) {
    throw new VerificationError(
      VerificationCode.LIMIT_EXCEEDED,
      `DSSE payload is over the limit of ${limits.maxPayloadBytes} bytes`,
    );
  }
  if (!Array.isArray(signatures) || signatures.length === 0) {
    throw malformed('DSSE envelope must have at least one signature');
  }
  if (signatures.length > limits.maxSignatures) {
    throw new VerificationError(
      VerificationCode.LIMIT_EXCEEDED,
      `DSSE envelope has ${signatures.length} signatures, over the limit of ${limits.maxSignatures}`,
    );
  }
  const decoded = signatures.map((s: unknown, i) => {
    if (!isPlainObject(s)) throw malformed(`DSSE signatures[${i}] is not an object`);
    if (s.keyid !== undefined && typeof s.keyid !== 'string') throw malformed(`DSSE signatures[${i}].keyid must be a string`);
    if (typeof s.sig === 'string' && s.sig.length > Math.ceil(limits.maxSignatureBytes / 3) * 4) {
      throw new VerificationError(VerificationCode.LIMIT_EXCEEDED, `DSSE signatures[${i}].sig is over ${limits.maxSignatureBytes} bytes`);
    }
    const sig = decodeBase64Strict(s.sig, `DSSE signatures[${i}].sig`);
    if (sig.length === 0) throw malformed(`DSSE signatures[${i}].sig is empty`);
    return { keyid: (s.keyid as string | undefined) ?? '', sig };
  });
  return { payloadType, payload: decodeBase64Strict(payload, 'DSSE payload'), signatures: decoded };
}

/** Where a verifier finds the public keys it trusts. */
export interface KeyRing {
  byKeyId(keyId: string): PublicKey | undefined;
  all(): readonly PublicKey[];
}

/**
 * Verifies the envelope's signatures over PAE and returns the keys that signed,
 * at least `threshold` distinct ones. A signature whose keyid names no trusted
 * key (DSSE makes keyid optional and free-form) is tried against every trusted
 * key, so the cost is bounded by signatures x keys.
 */
export function verifyEnvelopeSignatures(
  env: DecodedEnvelope,
  keys: KeyRing,
  threshold = 1,
  defaultKeyId = '',
): PublicKey[] {
  const pae = preAuthEncoding(env.payloadType, env.payload);
  const signers = new Map<string, PublicKey>();
  let matchedKeyId = false;
  for (const { keyid, sig } of env.signatures) {
    // A bundle's key hint names the key of a signature that carries no keyid.
    const id = keyid === '' ? defaultKeyId : keyid;
    const named = id === '' ? undefined : keys.byKeyId(id);
    if (named !== undefined) {
      matchedKeyId = true;
      if (!signers.has(named.keyId) && verifyBytes(named, pae, sig)) signers.set(named.keyId, named);
      continue;
    }
    for (const key of keys.all()) {
      if (!signers.has(key.keyId) && verifyBytes(key, pae, sig)) signers.set(key.keyId, key);
    }
  }
  if (signers.size >= threshold) return [...signers.values()];
  if (!matchedKeyId && signers.size === 0) {
    const ids = env.signatures.map((s) => s.keyid || '(none)').join(', ');
    throw new VerificationError(
      VerificationCode.KEY_UNKNOWN,
      `no trusted key matches the signature key id ${ids.slice(0, 300)}, and none verifies the signature`,
    );
  }
  throw new VerificationError(
    VerificationCode.SIGNATURE_INVALID,
    threshold === 1
      ? 'the signature does not verify with the trusted key it names'
      : `${signers.size} of the required ${threshold} signatures verify`,
  );
}

/**
 * The identity of an envelope for storage and de-duplication: sha256 over the
 * RFC 8785 form of the envelope with base64 re-encoded in the standard alphabet,
 * so one envelope has one digest however it was spelled.
 */
export function envelopeDigest(env: DecodedEnvelope): Digest {
  return digestBytes(canonicalEnvelopeJson(env));
}

/**
 * RFC 8785 text of the normalized envelope, written directly: the shape is
 * fixed, its keys are already in JCS order (payload < payloadType < signatures,
 * keyid < sig), base64 needs no escaping and JCS strings are JSON.stringify's.
 * Strings with lone surrogates take the general path, which rejects them.
 */
export function canonicalEnvelopeJson(env: DecodedEnvelope): string {
  if (!env.payloadType.isWellFormed() || env.signatures.some((s) => !s.keyid.isWellFormed())) {
    return canonicalize(normalizedEnvelope(env));
  }
  let signatures = '';
  for (const s of env.signatures) {
    if (signatures !== '') signatures += ',';
    signatures += `{"keyid":${JSON.stringify(s.keyid)},"sig":"${s.sig.toString('base64')}"}`;
  }
  return `{"payload":"${env.payload.toString('base64')}","payloadType":${JSON.stringify(env.payloadType)},"signatures":[${signatures}]}`;
}

export function normalizedEnvelope(env: DecodedEnvelope): Envelope {
  return {
    payload: env.payload.toString('base64'),
    payloadType: env.payloadType,
    signatures: env.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig.toString('base64') })),
  };
}

function malformed(message: string): VerificationError {
  return new VerificationError(VerificationCode.MALFORMED, message);
}
