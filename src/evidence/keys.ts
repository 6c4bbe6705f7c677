import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { InputError } from './errors.ts';

export type KeyAlgorithm = 'ed25519' | 'ecdsa-p256';

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ed25519', 'ecdsa-p256'];

export interface PublicKey {
  algorithm: KeyAlgorithm;
  /** Hex sha256 of the SubjectPublicKeyInfo DER: the same id whoever computes it. */
  keyId: string;
  key: KeyObject;
}

export interface PrivateKey extends PublicKey {
  privateKey: KeyObject;
}

/** Cipher used when a private key is written with a passphrase (PKCS#8 PBES2). */
const PRIVATE_KEY_CIPHER = 'aes-256-cbc';

export function generateKey(algorithm: KeyAlgorithm = 'ed25519'): PrivateKey {
  const { privateKey } =
    algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return fromPrivateKeyObject(privateKey);
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

export function exportPublicKeyPem(key: PublicKey): string {
  return key.key.export({ type: 'spki', format: 'pem' }).toString();
}

export function exportPublicKeyDer(key: PublicKey): Buffer {
  return key.key.export({ type: 'spki', format: 'der' });
}

/** PKCS#8 PEM; encrypted ("ENCRYPTED PRIVATE KEY") when a passphrase is given. */
export function exportPrivateKeyPem(key: PrivateKey, passphrase?: string): string {
  if (passphrase !== undefined && passphrase.length > 0) {
    return key.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: PRIVATE_KEY_CIPHER, passphrase }).toString();
  }
  return key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function importPublicKey(pem: string | Buffer, source = 'public key'): PublicKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new InputError('KEY_INVALID', `${source} is not a PEM SubjectPublicKeyInfo key: ${(err as Error).message}`);
  }
  return { algorithm: algorithmOf(key, source), keyId: keyIdOf(key), key };
}

/** Imports SPKI DER bytes (as carried in Sigstore trust material). */
export function importPublicKeyDer(der: Buffer, source = 'public key'): PublicKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (err) {
    throw new InputError('KEY_INVALID', `${source} is not a DER SubjectPublicKeyInfo key: ${(err as Error).message}`);
  }
  return { algorithm: algorithmOf(key, source), keyId: keyIdOf(key), key };
}

export function importPrivateKey(pem: string | Buffer, passphrase?: string, source = 'private key'): PrivateKey {
  const text = pem.toString();
  if (text.includes('ENCRYPTED PRIVATE KEY') && (passphrase === undefined || passphrase === '')) {
    throw new InputError(
      'KEY_PASSPHRASE_REQUIRED',
      `${source} is encrypted: set WARRANT_KEY_PASSPHRASE or pass --passphrase-file`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem', ...(passphrase ? { passphrase } : {}) });
  } catch (err) {
    const message = (err as Error).message;
    // A wrong passphrase decrypts to garbage, which OpenSSL reports in several ways ("bad decrypt",
    // "DECODER routines::unsupported", ...), so any failure on an encrypted key is reported as such.
    if (text.includes('ENCRYPTED PRIVATE KEY')) {
      throw new InputError('KEY_PASSPHRASE_WRONG', `${source} could not be decrypted: wrong passphrase or damaged key`);
    }
    throw new InputError('KEY_INVALID', `${source} is not a PEM PKCS#8 private key: ${message}`);
  }
  return fromPrivateKeyObject(key, source);
}

function fromPrivateKeyObject(privateKey: KeyObject, source = 'private key'): PrivateKey {
  const key = createPublicKey(privateKey);
  return { algorithm: algorithmOf(key, source), keyId: keyIdOf(key), key, privateKey };
}

function algorithmOf(key: KeyObject, source: string): KeyAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256';
  const kind = key.asymmetricKeyType === 'ec' ? `ec ${key.asymmetricKeyDetails?.namedCurve}` : key.asymmetricKeyType;
  throw new InputError('KEY_ALGORITHM', `${source} is a ${kind} key; warrant signs with ed25519 or ecdsa-p256`);
}
