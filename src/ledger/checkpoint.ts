/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): a signed note whose text is
 * a log's origin, tree size and root hash, then optional extension lines.
 */
import { decodeBase64Strict } from '../evidence/base64.ts';
import {
  isNoteText,
  NoteError,
  openNote,
  signNote,
  type NoteSignatureRef,
  type NoteSigner,
  type NoteVerifier,
} from './note.ts';

export type CheckpointErrorCode = 'CHECKPOINT_MALFORMED' | 'CHECKPOINT_ORIGIN_MISMATCH';

export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  constructor(code: CheckpointErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CheckpointError';
    this.code = code;
  }
}

export interface Checkpoint {
  origin: string;
  size: bigint;
  rootHash: Buffer;
  extensions: string[];
}

export interface CheckpointOptions {
  /**
   * Bytes in the root hash: 32 for SHA-256, which every RFC 6962 log uses.
   * Other sizes exist only for vectors written against looser parsers.
   */
  rootHashSize?: number;
}

export interface OpenCheckpointOptions extends CheckpointOptions {
  /** Further known keys (witnesses): ignored when absent, but a bad signature by one rejects. */
  otherVerifiers?: NoteVerifier[];
}

export interface OpenedCheckpoint {
  checkpoint: Checkpoint;
  /** The signed note as opened, to store or pass on. */
  note: string;
  verified: NoteSignatureRef[];
  unverified: NoteSignatureRef[];
}

const DEFAULT_ROOT_HASH_SIZE = 32;
const MAX_UINT64 = (1n << 64n) - 1n;
// ASCII decimal, no sign, no leading zero; 20 digits bounds the BigInt work.
const TREE_SIZE = /^(?:0|[1-9][0-9]{0,19})$/;
const STD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function malformed(message: string, cause?: unknown): CheckpointError {
  return new CheckpointError('CHECKPOINT_MALFORMED', message, cause === undefined ? undefined : { cause });
}

function rootHashSizeOf(options: CheckpointOptions | undefined): number {
  const size = options?.rootHashSize ?? DEFAULT_ROOT_HASH_SIZE;
  if (!Number.isInteger(size) || size < 1) throw malformed('root hash size must be a positive integer');
  return size;
}

function parseTreeSize(line: string): bigint {
  if (!TREE_SIZE.test(line)) throw malformed('tree size must be decimal digits without sign or leading zeros');
  const size = BigInt(line);
  if (size > MAX_UINT64) throw malformed('tree size does not fit in 64 bits');
  return size;
}

/** Standard padded base64 with one spelling per hash, of exactly the expected length. */
function parseRootHash(line: string, size: number): Buffer {
  if (line.length % 4 !== 0 || !STD_BASE64.test(line)) throw malformed('root hash is not standard base64');
  let hash: Buffer;
  try {
    hash = decodeBase64Strict(line, 'root hash');
  } catch (cause) {
    throw malformed('root hash is not canonical base64', cause);
  }
  if (hash.length !== size) throw malformed(`root hash must be ${size} bytes`);
  return hash;
}

/**
 * Parses checkpoint note text strictly: origin, size and root lines, then
 * extension lines, each non-empty and newline-terminated.
 */
export function parseCheckpoint(text: string, options?: CheckpointOptions): Checkpoint {
  const rootHashSize = rootHashSizeOf(options);
  if (!isNoteText(text)) {
    throw malformed('checkpoint must be note text: newline-terminated, no control characters but newline');
  }
  const lines = text.slice(0, -1).split('\n');
  const [origin, size, root, ...extensions] = lines;
  if (origin === undefined || size === undefined || root === undefined) {
    throw malformed('checkpoint needs origin, tree size and root hash lines');
  }
  if (origin === '') throw malformed('checkpoint origin is empty');
  if (extensions.some((line) => line === '')) throw malformed('checkpoint extension lines must be non-empty');
  return { origin, size: parseTreeSize(size), rootHash: parseRootHash(root, rootHashSize), extensions };
}

/** The checkpoint's note text; refuses any checkpoint parseCheckpoint would refuse. */
export function formatCheckpoint(c: Checkpoint, options?: CheckpointOptions): string {
  const rootHashSize = rootHashSizeOf(options);
  if (typeof c?.origin !== 'string' || c.origin === '' || c.origin.includes('\n')) {
    throw malformed('checkpoint origin must be one non-empty line');
  }
  if (typeof c.size !== 'bigint' || c.size < 0n || c.size > MAX_UINT64) {
    throw malformed('tree size must be a bigint in [0, 2^64)');
  }
  if (!(c.rootHash instanceof Uint8Array) || c.rootHash.length !== rootHashSize) {
    throw malformed(`root hash must be ${rootHashSize} bytes`);
  }
  const extensions = c.extensions ?? [];
  if (!Array.isArray(extensions) || extensions.some((e) => typeof e !== 'string' || e === '' || e.includes('\n'))) {
    throw malformed('checkpoint extension lines must be non-empty single lines');
  }
  const root = Buffer.from(c.rootHash.buffer, c.rootHash.byteOffset, c.rootHash.byteLength).toString('base64');
  const text = [c.origin, c.size.toString(10), root, ...extensions].map((line) => `${line}\n`).join('');
  if (!isNoteText(text)) throw malformed('checkpoint holds a control character or invalid Unicode');
  return text;
}

/** The checkpoint as a note signed by the log's key. */
export function signCheckpoint(c: Checkpoint, signer: NoteSigner, options?: CheckpointOptions): string {
  return signNote(formatCheckpoint(c, options), [signer]);
}

/**
 * Opens a checkpoint: it must carry a valid signature by the log's key, and
 * its origin line must be the expected one (by default the key's name, which
 * the spec says SHOULD match). The signature is checked before the text is
 * parsed, so nothing unauthenticated is interpreted.
 */
export function openCheckpoint(
  note: string | Buffer,
  verifier: NoteVerifier,
  origin?: string,
  options?: OpenCheckpointOptions,
): OpenedCheckpoint {
  const expected = origin ?? verifier?.name;
  const opened = openNote(note, [verifier, ...(options?.otherVerifiers ?? [])]);
  const logSigned = opened.verified.some((v) => v.name === verifier.name && v.keyId === verifier.keyId);
  if (!logSigned) throw new NoteError('NOTE_UNVERIFIED', `checkpoint is not signed by the log key ${verifier.name}`);
  const checkpoint = parseCheckpoint(opened.text, options);
  if (checkpoint.origin !== expected) {
    throw new CheckpointError(
      'CHECKPOINT_ORIGIN_MISMATCH',
      `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(expected)}`,
    );
  }
  const text = typeof note === 'string' ? note : Buffer.from(note).toString('utf8');
  return { checkpoint, note: text, verified: opened.verified, unverified: opened.unverified };
}
