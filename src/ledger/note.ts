/**
 * C2SP signed-note (c2sp.org/signed-note): text signed by one or more named
 * keys, as written by Go's golang.org/x/mod/sumdb/note. Only Ed25519 (signature
 * type 0x01) is implemented; signatures of other types are carried and ignored
 * as unknown, which is what the spec asks of a verifier that does not know them.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { decodeBase64Strict } from '../evidence/base64.ts';

export type NoteErrorCode = 'NOTE_MALFORMED' | 'NOTE_UNVERIFIED' | 'NOTE_SIGNATURE_INVALID' | 'KEY_INVALID';

/** A note or key failure: a stable code and a sentence a person understands. */
export class NoteError extends Error {
  readonly code: NoteErrorCode;
  constructor(code: NoteErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NoteError';
    this.code = code;
  }
}

/** Signature type byte for Ed25519 (signed-note §Signature types). */
export const SIG_TYPE_ED25519 = 0x01;

/** Largest note openNote reads, in bytes; decided before any parsing. */
export const NOTE_MAX_BYTES = 1024 * 1024;

/**
 * Most signature lines openNote accepts. The spec requires at least 16; Go
 * stops at 100, and a larger note is refused rather than half-read.
 */
export const NOTE_MAX_SIGNATURES = 100;

export interface NoteSigner {
  name: string;
  keyId: number;
  sign(msg: Buffer): Buffer;
}

export interface NoteVerifier {
  name: string;
  keyId: number;
  verify(msg: Buffer, sig: Buffer): boolean;
}

/** A signature line's key, as (name, key id): the pair that identifies a key. */
export interface NoteSignatureRef {
  name: string;
  keyId: number;
}

export interface OpenedNote {
  /** The signed text, final newline included. */
  text: string;
  /** Keys whose signature verified, once each, in note order. */
  verified: NoteSignatureRef[];
  /** Signatures by keys the caller does not know, once per key, in note order. */
  unverified: NoteSignatureRef[];
}

export interface GeneratedNoteKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** `PRIVATE+KEY+<name>+<id>+<base64>`: secret. */
  skey: string;
  /** `<name>+<id>+<base64>`: what verifiers are configured with. */
  vkey: string;
}

const EM_DASH_PREFIX = '\u2014 ';
const SKEY_PREFIX = 'PRIVATE+KEY+';
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

// Go's unicode.IsSpace is exactly the Unicode White_Space property.
const UNICODE_SPACE = /\p{White_Space}/u;
// Notes use the standard alphabet with padding (RFC 4648 §4) and nothing else;
// decodeBase64Strict alone would also take URL-safe and unpadded spellings.
const STD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const KEY_ID_HEX = /^[0-9a-f]{8}$/;

const utf8Fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Key names are non-empty, with no Unicode spaces and no '+'. Control
 * characters are refused too: a name carrying one could never appear in a note.
 */
function isValidKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name !== '' &&
    name.isWellFormed() &&
    !name.includes('+') &&
    !UNICODE_SPACE.test(name) &&
    !hasForbiddenControl(name)
  );
}

/** The spec forbids ASCII controls other than newline anywhere in a note; DEL and C1 are allowed, as in Go. */
function hasForbiddenControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

function isUint32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/** `<name>+<8 hex>`, the way Go names a key in messages. */
function keyLabel(name: string, keyId: number): string {
  return `${name}+${keyIdHex(keyId)}`;
}

/** Well-formed note text: ends in a newline, valid Unicode, no ASCII controls but newline. */
export function isNoteText(text: unknown): text is string {
  return typeof text === 'string' && text.endsWith('\n') && text.isWellFormed() && !hasForbiddenControl(text);
}

/** Strict standard base64 (padded, canonical), or undefined. */
function decodeStdBase64(value: string): Buffer | undefined {
  if (value.length % 4 !== 0 || !STD_BASE64.test(value)) return undefined;
  try {
    return decodeBase64Strict(value, 'base64');
  } catch {
    return undefined;
  }
}

/** key ID = SHA-256(key name || 0x0A || signature type || public key)[:4], as a big-endian uint32. */
export function noteKeyId(name: string, sigType: number, publicKey: Buffer): number {
  if (!isValidKeyName(name)) throw new NoteError('KEY_INVALID', 'key name must be non-empty, without spaces or "+"');
  if (!Number.isInteger(sigType) || sigType < 0 || sigType > 0xff) {
    throw new NoteError('KEY_INVALID', 'signature type must be one byte');
  }
  const digest = createHash('sha256')
    .update(Buffer.from(name, 'utf8'))
    .update(Buffer.from([0x0a, sigType]))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

function requireEd25519(key: KeyObject, type: 'public' | 'private'): void {
  if (key?.type !== type || key.asymmetricKeyType !== 'ed25519') {
    throw new NoteError('KEY_INVALID', `expected an Ed25519 ${type} key`);
  }
}

function rawPublicKey(publicKey: KeyObject): Buffer {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return Buffer.from(der.subarray(ED25519_SPKI_PREFIX.length));
}

function rawSeed(privateKey: KeyObject): Buffer {
  const d = privateKey.export({ format: 'jwk' }).d;
  if (typeof d !== 'string') throw new NoteError('KEY_INVALID', 'Ed25519 private key has no seed');
  return Buffer.from(d, 'base64url');
}

export function ed25519NoteSigner(name: string, privateKey: KeyObject): NoteSigner {
  requireEd25519(privateKey, 'private');
  const keyId = noteKeyId(name, SIG_TYPE_ED25519, rawPublicKey(createPublicKey(privateKey)));
  return Object.freeze({ name, keyId, sign: (msg: Buffer) => cryptoSign(null, msg, privateKey) });
}

export function ed25519NoteVerifier(name: string, publicKey: KeyObject): NoteVerifier {
  requireEd25519(publicKey, 'public');
  const keyId = noteKeyId(name, SIG_TYPE_ED25519, rawPublicKey(publicKey));
  return Object.freeze({
    name,
    keyId,
    // A wrong-length signature is simply not a valid one.
    verify: (msg: Buffer, sig: Buffer) => sig.length === 64 && cryptoVerify(null, msg, publicKey, sig),
  });
}

/** `<name>+<hex id>+<base64(0x01 || 32-byte public key)>`. */
export function formatVerifierKey(name: string, publicKey: KeyObject): string {
  const { keyId } = ed25519NoteVerifier(name, publicKey);
  const encoded = Buffer.concat([Buffer.from([SIG_TYPE_ED25519]), rawPublicKey(publicKey)]).toString('base64');
  return `${keyLabel(name, keyId)}+${encoded}`;
}

/** `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || 32-byte seed)>`, Go's signer key format. */
export function formatSignerKey(name: string, privateKey: KeyObject): string {
  const { keyId } = ed25519NoteSigner(name, privateKey);
  const encoded = Buffer.concat([Buffer.from([SIG_TYPE_ED25519]), rawSeed(privateKey)]).toString('base64');
  return `${SKEY_PREFIX}${keyLabel(name, keyId)}+${encoded}`;
}

/**
 * Splits `<name>+<hex id>+<base64 key>` and checks what is common to both key
 * formats. The base64 part may itself contain '+', so only the first two split.
 * Messages never quote the input: it may be a private key.
 */
function parseKeyFields(encoded: string, what: string): { name: string; keyId: number; key: Buffer } {
  const i = encoded.indexOf('+');
  const j = i < 0 ? -1 : encoded.indexOf('+', i + 1);
  if (j < 0) throw new NoteError('KEY_INVALID', `${what} must be <name>+<hex key id>+<base64 key>`);
  const name = encoded.slice(0, i);
  const idHex = encoded.slice(i + 1, j);
  if (!isValidKeyName(name)) {
    throw new NoteError('KEY_INVALID', `${what} name must be non-empty, without spaces or "+"`);
  }
  if (!KEY_ID_HEX.test(idHex)) throw new NoteError('KEY_INVALID', `${what} key id must be 8 lowercase hex digits`);
  const key = decodeStdBase64(encoded.slice(j + 1));
  if (key === undefined) throw new NoteError('KEY_INVALID', `${what} key is not canonical standard base64`);
  if (key[0] !== SIG_TYPE_ED25519) throw new NoteError('KEY_INVALID', `${what} is not an Ed25519 (type 0x01) key`);
  if (key.length !== 33) throw new NoteError('KEY_INVALID', `${what} Ed25519 key must be 32 bytes`);
  return { name, keyId: parseInt(idHex, 16), key: key.subarray(1) };
}

export function parseVerifierKey(vkey: string): NoteVerifier & { publicKey: KeyObject } {
  if (typeof vkey !== 'string') throw new NoteError('KEY_INVALID', 'verifier key must be a string');
  const { name, keyId, key } = parseKeyFields(vkey, 'verifier key');
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, key]), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new NoteError('KEY_INVALID', 'verifier key is not an Ed25519 public key', { cause });
  }
  const verifier = ed25519NoteVerifier(name, publicKey);
  // The id is a hash of name and key: a mismatch means either was altered.
  if (verifier.keyId !== keyId) throw new NoteError('KEY_INVALID', 'verifier key id does not match its name and key');
  return Object.freeze({ ...verifier, publicKey });
}

export function parseSignerKey(skey: string): NoteSigner & { privateKey: KeyObject; publicKey: KeyObject } {
  if (typeof skey !== 'string' || !skey.startsWith(SKEY_PREFIX)) {
    throw new NoteError('KEY_INVALID', 'signer key must start with PRIVATE+KEY+');
  }
  const { name, keyId, key } = parseKeyFields(skey.slice(SKEY_PREFIX.length), 'signer key');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, key]), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new NoteError('KEY_INVALID', 'signer key is not an Ed25519 seed', { cause });
  }
  const signer = ed25519NoteSigner(name, privateKey);
  // The id names the public key, so it is checked only after deriving it.
  if (signer.keyId !== keyId) throw new NoteError('KEY_INVALID', 'signer key id does not match its name and key');
  return Object.freeze({ ...signer, privateKey, publicKey: createPublicKey(privateKey) });
}

export function generateNoteKey(name: string): GeneratedNoteKey {
  if (!isValidKeyName(name)) throw new NoteError('KEY_INVALID', 'key name must be non-empty, without spaces or "+"');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey,
    publicKey,
    skey: formatSignerKey(name, privateKey),
    vkey: formatVerifierKey(name, publicKey),
  };
}

/**
 * Signs text (which must end in a newline) and returns text, a blank line and
 * one `— <name> <base64(key id || signature)>` line per signer. The text may
 * hold blank lines: openNote splits at the last one, which is the separator.
 */
export function signNote(text: string, signers: NoteSigner[]): string {
  if (!isNoteText(text)) {
    throw new NoteError('NOTE_MALFORMED', 'note text must end in a newline and hold no control characters but newline');
  }
  if (!Array.isArray(signers) || signers.length === 0 || signers.length > NOTE_MAX_SIGNATURES) {
    throw new NoteError('NOTE_MALFORMED', `a note needs 1 to ${NOTE_MAX_SIGNATURES} signatures`);
  }
  const msg = Buffer.from(text, 'utf8');
  let lines = '';
  for (const signer of signers) {
    if (!isValidKeyName(signer?.name) || !isUint32(signer.keyId)) {
      throw new NoteError('KEY_INVALID', 'signer needs a valid key name and a uint32 key id');
    }
    const sig = signer.sign(msg);
    // At least one signature byte, or openNote would refuse the line.
    if (!(sig instanceof Uint8Array) || sig.length === 0) {
      throw new NoteError('KEY_INVALID', `signer ${keyLabel(signer.name, signer.keyId)} returned no signature`);
    }
    const id = Buffer.alloc(4);
    id.writeUInt32BE(signer.keyId);
    lines += `${EM_DASH_PREFIX}${signer.name} ${Buffer.concat([id, sig]).toString('base64')}\n`;
  }
  const note = `${text}\n${lines}`;
  if (Buffer.byteLength(note, 'utf8') > NOTE_MAX_BYTES) {
    throw new NoteError('NOTE_MALFORMED', `signed note is larger than ${NOTE_MAX_BYTES} bytes`);
  }
  return note;
}

/** The note as a string, after the size and UTF-8 checks that must precede parsing. */
function decodeNote(note: string | Buffer): string {
  if (typeof note === 'string') {
    if (note.length > NOTE_MAX_BYTES || Buffer.byteLength(note, 'utf8') > NOTE_MAX_BYTES) {
      throw new NoteError('NOTE_MALFORMED', `note is larger than ${NOTE_MAX_BYTES} bytes`);
    }
    if (!note.isWellFormed()) throw new NoteError('NOTE_MALFORMED', 'note is not valid Unicode');
    return note;
  }
  if (!(note instanceof Uint8Array)) throw new NoteError('NOTE_MALFORMED', 'note must be a string or bytes');
  if (note.length > NOTE_MAX_BYTES) {
    throw new NoteError('NOTE_MALFORMED', `note is larger than ${NOTE_MAX_BYTES} bytes`);
  }
  try {
    // ignoreBOM keeps a leading U+FEFF: it is part of the signed text.
    return utf8Fatal.decode(note);
  } catch (cause) {
    throw new NoteError('NOTE_MALFORMED', 'note is not valid UTF-8', { cause });
  }
}

function verifierIndex(verifiers: NoteVerifier[]): Map<string, NoteVerifier> {
  if (!Array.isArray(verifiers)) throw new NoteError('KEY_INVALID', 'verifiers must be a list');
  const known = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    if (typeof v?.name !== 'string' || !isUint32(v.keyId) || typeof v.verify !== 'function') {
      throw new NoteError('KEY_INVALID', 'verifier needs a name, a uint32 key id and verify()');
    }
    const label = keyLabel(v.name, v.keyId);
    const had = known.get(label);
    // Two keys under one (name, id) would make the outcome depend on list order.
    if (had !== undefined && had !== v) throw new NoteError('KEY_INVALID', `ambiguous verifiers for key ${label}`);
    known.set(label, v);
  }
  return known;
}

/**
 * Opens a signed note: checks its form, verifies every signature by a known
 * (name, key id) and lists the others as unverified. A known key whose
 * signature fails rejects the whole note; so does a note with no verified
 * signature. Unlike Go, a repeated signature by a known key is verified too
 * rather than skipped: the spec says a known key's signature MUST verify.
 */
export function openNote(note: string | Buffer, verifiers: NoteVerifier[]): OpenedNote {
  const known = verifierIndex(verifiers);
  const msg = decodeNote(note);
  if (hasForbiddenControl(msg)) throw new NoteError('NOTE_MALFORMED', 'note holds a control character');

  // The text ends at the last blank line; signature lines are never empty, so
  // no "\n\n" can occur after it.
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('NOTE_MALFORMED', 'note has no blank line before its signatures');
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) {
    throw new NoteError('NOTE_MALFORMED', 'note must end in newline-terminated signature lines');
  }
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > NOTE_MAX_SIGNATURES) {
    throw new NoteError('NOTE_MALFORMED', `note has more than ${NOTE_MAX_SIGNATURES} signatures`);
  }

  const textBytes = Buffer.from(text, 'utf8');
  const verified = new Map<string, NoteSignatureRef>();
  const unverified = new Map<string, NoteSignatureRef>();
  for (const line of lines) {
    const { name, keyId, sig } = parseSignatureLine(line);
    const label = keyLabel(name, keyId);
    const verifier = known.get(label);
    if (verifier === undefined) {
      if (!unverified.has(label)) unverified.set(label, { name, keyId });
      continue;
    }
    if (verifier.verify(textBytes, sig) !== true) {
      throw new NoteError('NOTE_SIGNATURE_INVALID', `invalid signature for key ${label}`);
    }
    if (!verified.has(label)) verified.set(label, { name, keyId });
  }
  if (verified.size === 0) throw new NoteError('NOTE_UNVERIFIED', 'note has no verifiable signatures');
  return { text, verified: [...verified.values()], unverified: [...unverified.values()] };
}

/** `— <name> <base64(key id || signature)>`, without its newline. */
function parseSignatureLine(line: string): { name: string; keyId: number; sig: Buffer } {
  if (!line.startsWith(EM_DASH_PREFIX)) {
    throw new NoteError('NOTE_MALFORMED', 'signature line must start with an em dash and a space');
  }
  const rest = line.slice(EM_DASH_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? '' : rest.slice(0, space);
  const raw = space < 0 ? undefined : decodeStdBase64(rest.slice(space + 1));
  // Key id plus at least one signature byte, as Go requires.
  if (!isValidKeyName(name) || raw === undefined || raw.length < 5) {
    throw new NoteError('NOTE_MALFORMED', 'signature line must be "— <key name> <base64 signature>"');
  }
  return { name, keyId: raw.readUInt32BE(0), sig: raw.subarray(4) };
}
