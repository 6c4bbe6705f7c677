import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { stat } from 'node:fs/promises';
import { InputError } from './errors.ts';
import type { DigestAlgorithm } from './digest.ts';

/** An artifact named on the command line: its name and its digests, computed in one read. */
export interface ArtifactDigests {
  name: string;
  digests: Partial<Record<DigestAlgorithm, string>>;
}

/** Hashes a file with sha256 and sha512 in a single streamed pass (statements may use either). */
export async function artifactDigests(path: string, maxBytes: number): Promise<ArtifactDigests> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError('ARTIFACT_UNREADABLE', `cannot read artifact ${path}: ${err.code ?? err.message}`);
  });
  if (!info.isFile()) throw new InputError('ARTIFACT_UNREADABLE', `artifact ${path} is not a regular file`);
  if (info.size > maxBytes) {
    throw new InputError('LIMIT_EXCEEDED', `artifact ${path} is ${info.size} bytes, over the limit of ${maxBytes}`);
  }
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    sha256.update(chunk as Buffer);
    sha512.update(chunk as Buffer);
  }
  return { name: basename(path), digests: { sha256: sha256.digest('hex'), sha512: sha512.digest('hex') } };
}
