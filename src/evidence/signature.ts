import { sign, verify } from 'node:crypto';
import type { PrivateKey, PublicKey } from './keys.ts';

// The encodings DSSE and Sigstore use: raw 64-byte Ed25519 signatures, and
// ECDSA P-256 over SHA-256 in ASN.1 DER (not IEEE P1363 r||s).

export function signBytes(key: PrivateKey, data: Uint8Array): Buffer {
  return key.algorithm === 'ed25519'
    ? sign(null, data, key.privateKey)
    : sign('sha256', data, { key: key.privateKey, dsaEncoding: 'der' });
}

export function verifyBytes(key: PublicKey, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return key.algorithm === 'ed25519'
      ? verify(null, data, key.key, signature)
      : verify('sha256', data, { key: key.key, dsaEncoding: 'der' }, signature);
  } catch {
    // OpenSSL throws on some malformed DER signatures; that is simply "does not verify".
    return false;
  }
}
