import { createHash } from 'node:crypto';

// RFC 6962 §2.1 (unchanged in RFC 9162 §2.1.1) Merkle tree hashing with SHA-256.
// The 0x00/0x01 prefixes keep a leaf from ever being read as an interior node.

export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** MTH({}): the root of the empty tree, SHA-256 of the empty string. */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

/** MTH({d}) = SHA-256(0x00 || d). */
export function leafHash(entry: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(entry).digest();
}

/** SHA-256(0x01 || left || right). Children are taken as given; callers check their length. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}
