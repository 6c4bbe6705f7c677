import { createHash, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  ed25519NoteVerifier,
  formatVerifierKey,
  generateNoteKey,
  parseSignerKey,
  SIG_TYPE_ED25519,
  type NoteSigner,
  type NoteVerifier,
} from './note.ts';

/** The log's signing identity: its origin (= key name), signer, verifier and ids. */
export interface LogKey {
  origin: string;
  signer: NoteSigner;
  verifier: NoteVerifier;
  publicKey: KeyObject;
  /** C2SP verifier key, `name+hash+base64`. */
  vkey: string;
  /**
   * sha256(name || 0x0A || 0x01 || pub): the log id Sigstore trusted roots use
   * for a checkpoint-signing log; its first 4 bytes are the note key id.
   */
  logId: Buffer;
}

export function logIdOf(name: string, publicKey: KeyObject): Buffer {
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0x0a, SIG_TYPE_ED25519]), raw]))
    .digest();
}

export function logKeyFromSkey(skey: string): LogKey {
  const signer = parseSignerKey(skey.trim());
  return {
    origin: signer.name,
    signer,
    verifier: ed25519NoteVerifier(signer.name, signer.publicKey),
    publicKey: signer.publicKey,
    vkey: formatVerifierKey(signer.name, signer.publicKey),
    logId: logIdOf(signer.name, signer.publicKey),
  };
}

/**
 * Reads the log key (Go note private key format, mode 0600), creating it on
 * first use. Creation is exclusive, so processes starting together agree on
 * one key. The origin is fixed when the key is made: a new origin is a new log.
 */
export async function loadOrCreateLogKey(path: string, origin?: string): Promise<LogKey> {
  try {
    return logKeyFromSkey(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const name = origin ?? `warrant.local/log/${randomBytes(4).toString('hex')}`;
  const key = generateNoteKey(name);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, key.skey + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return logKeyFromSkey(await readFile(path, 'utf8'));
}
