import { createHash, hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { InputError } from './errors.ts';

export type DigestAlgorithm = 'sha256' | 'sha512';

/** A content digest, written `sha256:<lowercase hex>` at every edge. */
export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/**
 * Hex lengths of the digest algorithms in-toto's ResourceDescriptor names, so a
 * statement's digest map can be checked even for algorithms warrant does not
 * compute itself.
 */
export const KNOWN_HEX_DIGESTS: Readonly<Record<string, number>> = {
  sha256: 64,
  sha224: 56,
  sha384: 96,
  sha512: 128,
  sha512_224: 56,
  sha512_256: 64,
  sha3_224: 56,
  sha3_256: 64,
  sha3_384: 96,
  sha3_512: 128,
  sha1: 40,
  md5: 32,
};

export function formatDigest(d: Digest): string {
  return `${d.algorithm}:${d.hex}`;
}

/** Parses `sha256:<hex>` or `sha512:<hex>`; hex must be lowercase and the right length. */
export function parseDigest(text: string): Digest {
  const m = /^(sha256|sha512):([0-9a-f]+)$/.exec(text);
  const algorithm = m?.[1] as DigestAlgorithm | undefined;
  if (!m || !algorithm || m[2]!.length !== HEX_LENGTH[algorithm]) {
    throw new InputError(
      'DIGEST_INVALID',
      `"${text.slice(0, 80)}" is not a digest: expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>`,
    );
  }
  return { algorithm, hex: m[2]! };
}

export function digestBytes(bytes: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  // crypto.hash: one-shot, no Hash object per call.
  return { algorithm, hex: hash(algorithm, bytes, 'hex') };
}

/** Streams a file through the hash so an artifact of any size costs constant memory. */
export async function digestFile(
  path: string,
  algorithm: DigestAlgorithm = 'sha256',
  maxBytes = Number.MAX_SAFE_INTEGER,
): Promise<Digest> {
  const info = await stat(path);
  if (!info.isFile()) throw new InputError('NOT_A_FILE', `${path} is not a regular file`);
  if (info.size > maxBytes) {
    throw new InputError('LIMIT_EXCEEDED', `${path} is ${info.size} bytes, over the limit of ${maxBytes}`);
  }
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return { algorithm, hex: hash.digest('hex') };
}
