import type { TransparencyLogEntry } from '../evidence/index.ts';
import type { StoredCheckpoint } from './storage.ts';

export interface TlogEntryInput {
  index: bigint;
  /** The log entry body (the leaf's bytes). */
  entry: Uint8Array;
  /** Audit path from the leaf to the checkpoint's root. */
  proof: readonly Buffer[];
  checkpoint: StoredCheckpoint;
  /** The log id: sha256 over the checkpoint key's name, type and public key (the note key id is its first 4 bytes). */
  logId: Buffer;
  kind?: { kind: string; version: string };
}

/**
 * A bundle's `verificationMaterial.tlogEntries[]` item, laid out as Rekor v2
 * writes it: no integrated time and no SET; an inclusion proof whose
 * checkpoint is the signed note, so a verifier needs only the log's key.
 */
export function toTlogEntry(input: TlogEntryInput): TransparencyLogEntry {
  return {
    logIndex: input.index.toString(),
    logId: { keyId: input.logId.toString('base64') },
    kindVersion: input.kind ?? { kind: 'dsse', version: '0.0.2' },
    inclusionProof: {
      logIndex: input.index.toString(),
      rootHash: input.checkpoint.root.toString('base64'),
      treeSize: input.checkpoint.size.toString(),
      hashes: input.proof.map((h) => h.toString('base64')),
      checkpoint: { envelope: input.checkpoint.note },
    },
    canonicalizedBody: Buffer.from(input.entry).toString('base64'),
  };
}
