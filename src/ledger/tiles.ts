import type { NodeId } from './proof.ts';
import { HASH_SIZE, nodeHash } from './rfc6962.ts';

// C2SP tlog-tiles: the log's hashes stored as immutable 8-level subtrees.
// A tile at tile level L, index N holds the tree level 8L nodes
// N·256 .. N·256+W-1; the levels in between are recomputed by hashing.

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;

const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_TILE_LEVEL = 63;
const MAX_ENTRY_SIZE = 0xffff;

/** A tile path that is not the one canonical spelling of a tile. */
export class TilePathError extends Error {
  readonly code = 'TILE_PATH_INVALID' as const;
  constructor(message: string) {
    super(message);
    this.name = 'TilePathError';
  }
}

export type TileDataErrorCode = 'ENTRY_BUNDLE_INVALID' | 'HASH_TILE_INVALID';

/** Tile or entry-bundle contents that do not have the shape asked for. */
export class TileDataError extends Error {
  readonly code: TileDataErrorCode;
  constructor(code: TileDataErrorCode, message: string) {
    super(message);
    this.name = 'TileDataError';
    this.code = code;
  }
}

export type ParsedTilePath =
  | { kind: 'hash'; level: number; index: bigint; width: number }
  | { kind: 'entries'; index: bigint; width: number };

function requireTileLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
    throw new TilePathError(`tile level ${level} is not in 0..${MAX_TILE_LEVEL}`);
  }
}

function requireTileIndex(index: bigint): void {
  if (typeof index !== 'bigint' || index < 0n || index > MAX_UINT64) {
    throw new TilePathError(`tile index ${index} is not a uint64 bigint`);
  }
}

/** Width 0 or 256 is a full tile; 1..255 a partial one. */
function requireWidth(width: number): void {
  if (!Number.isInteger(width) || width < 0 || width > TILE_WIDTH) {
    throw new TilePathError(`tile width ${width} is not in 0..${TILE_WIDTH}`);
  }
}

/** N as 3-digit groups, every group but the last prefixed with x, then .p/W if partial. */
function indexPath(index: bigint, width: number): string {
  requireTileIndex(index);
  requireWidth(width);
  let s = String(index % 1000n).padStart(3, '0');
  for (let n = index / 1000n; n > 0n; n /= 1000n) s = `x${String(n % 1000n).padStart(3, '0')}/${s}`;
  return width === 0 || width === TILE_WIDTH ? s : `${s}.p/${width}`;
}

/** `tile/<L>/<N>[.p/<W>]`; width 0, 256 or absent means a full tile. */
export function tilePath(level: number, index: bigint, width = 0): string {
  requireTileLevel(level);
  return `tile/${level}/${indexPath(index, width)}`;
}

/** `tile/entries/<N>[.p/<W>]`; width 0, 256 or absent means a full bundle. */
export function entriesPath(index: bigint, width = 0): string {
  return `tile/entries/${indexPath(index, width)}`;
}

const TILE_PATH = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/**
 * Parses a tile or entry-bundle path. Only the spelling tilePath/entriesPath
 * would produce is accepted (no x000 groups, no leading zeros in L or W, no
 * .p/256), so one tile never has two URLs. Full tiles come back with width 256.
 */
export function parseTilePath(path: string): ParsedTilePath {
  const m = typeof path === 'string' ? TILE_PATH.exec(path) : null;
  if (m === null) throw new TilePathError(`${JSON.stringify(path)} is not a tile path`);
  const [, levelText, indexText, widthText] = m;
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if (widthText !== undefined && width >= TILE_WIDTH) throw new TilePathError(`partial tile width ${width} is not in 1..255`);
  const index = BigInt(indexText!.replace(/[x/]/g, ''));
  if (index > MAX_UINT64) throw new TilePathError(`tile index in ${JSON.stringify(path)} does not fit in uint64`);
  const parsed: ParsedTilePath =
    levelText === 'entries' ? { kind: 'entries', index, width } : { kind: 'hash', level: Number(levelText), index, width };
  if (parsed.kind === 'hash' && parsed.level > MAX_TILE_LEVEL) {
    throw new TilePathError(`tile level ${parsed.level} is not in 0..${MAX_TILE_LEVEL}`);
  }
  const canonical = parsed.kind === 'hash' ? tilePath(parsed.level, index, width) : entriesPath(index, width);
  if (canonical !== path) throw new TilePathError(`${JSON.stringify(path)} is not canonical; the path is ${canonical}`);
  return parsed;
}

function requireSize(size: bigint): void {
  if (typeof size !== 'bigint' || size < 0n || size > MAX_UINT64) throw new RangeError(`tree size ${size} is not a uint64 bigint`);
}

/**
 * Width of tile (level, index) in the tree of `size`: 256 if full, 1..255 if
 * partial, 0 if that tile does not exist yet (an empty tile is never served).
 */
export function tileWidth(level: number, index: bigint, size: bigint): number {
  requireTileLevel(level);
  requireTileIndex(index);
  requireSize(size);
  const atLevel = size >> BigInt(TILE_HEIGHT * level);
  const full = atLevel / BigInt(TILE_WIDTH);
  if (index < full) return TILE_WIDTH;
  return index === full ? Number(atLevel % BigInt(TILE_WIDTH)) : 0;
}

export interface TileLevelInventory {
  level: number;
  /** Tiles 0 .. fullTiles-1 at this level are full. */
  fullTiles: bigint;
  /** Width of tile `fullTiles`, 0 if there is none. */
  partialWidth: number;
}

/** The tiles a tree of `size` has, level by level: floor(s/256^L) hashes at level L. */
export function tileWidthsForSize(size: bigint): TileLevelInventory[] {
  requireSize(size);
  const out: TileLevelInventory[] = [];
  for (let level = 0; size >> BigInt(TILE_HEIGHT * level) > 0n; level++) {
    const atLevel = size >> BigInt(TILE_HEIGHT * level);
    out.push({ level, fullTiles: atLevel / BigInt(TILE_WIDTH), partialWidth: Number(atLevel % BigInt(TILE_WIDTH)) });
  }
  return out;
}

/** The tree nodes a tile holds: level 8L, indices first .. first+count-1. */
export function tileNodes(level: number, index: bigint, width: number): { treeLevel: number; first: bigint; count: number } {
  requireTileLevel(level);
  requireTileIndex(index);
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new RangeError(`tile width ${width} is not in 1..256`);
  return { treeLevel: TILE_HEIGHT * level, first: index * BigInt(TILE_WIDTH), count: width };
}

export interface TileCoordinates {
  tileLevel: number;
  tileIndex: bigint;
  /** Position of the node's first descendant hash within the tile. */
  first: number;
  /** How many consecutive tile hashes fold into the node: 2^(level mod 8). */
  count: number;
  /** The tile must be at least this wide to hold them. */
  minWidth: number;
}

/**
 * Where a complete node's hash comes from: a node at tree level l lies in tile
 * level floor(l/8), as the perfect subtree over 2^(l mod 8) of its hashes.
 */
export function nodeTileCoordinates(node: NodeId): TileCoordinates {
  if (!Number.isInteger(node.level) || node.level < 0 || node.level > 63) {
    throw new RangeError(`node level ${node.level} is not in 0..63`);
  }
  if (typeof node.index !== 'bigint' || node.index < 0n) throw new RangeError(`node index ${node.index} is not a uint64 bigint`);
  const tileLevel = Math.floor(node.level / TILE_HEIGHT);
  const height = node.level % TILE_HEIGHT;
  const firstAtTileLevel = node.index << BigInt(height);
  const first = Number(firstAtTileLevel % BigInt(TILE_WIDTH));
  const count = 1 << height;
  return { tileLevel, tileIndex: firstAtTileLevel / BigInt(TILE_WIDTH), first, count, minWidth: first + count };
}

/** Root of the perfect binary subtree over 2^k hashes (k <= 8), by pairwise nodeHash. */
export function hashWithinTile(hashes: Uint8Array[]): Buffer {
  const n = hashes.length;
  if (n < 1 || n > TILE_WIDTH || (n & (n - 1)) !== 0) {
    throw new TileDataError('HASH_TILE_INVALID', `${n} hashes do not form a perfect subtree within a tile`);
  }
  for (const h of hashes) {
    if (h.length !== HASH_SIZE) throw new TileDataError('HASH_TILE_INVALID', `tile hash is ${h.length} bytes, not ${HASH_SIZE}`);
  }
  let level: Uint8Array[] = hashes;
  while (level.length > 1) {
    const up: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(nodeHash(level[i]!, level[i + 1]!));
    level = up;
  }
  return Buffer.from(level[0]!);
}

/** A complete node's hash from the decoded hashes of the tile nodeTileCoordinates(node) names. */
export function nodeFromTile(tileHashes: Uint8Array[], node: NodeId): Buffer {
  const c = nodeTileCoordinates(node);
  if (tileHashes.length < c.minWidth) {
    throw new TileDataError('HASH_TILE_INVALID', `tile has ${tileHashes.length} hashes; node ${node.level}/${node.index} needs ${c.minWidth}`);
  }
  return hashWithinTile(tileHashes.slice(c.first, c.first + c.count));
}

/** Concatenated uint16-BE length || entry items, 1 to 256 of them. */
export function encodeEntryBundle(entries: Uint8Array[]): Buffer {
  if (entries.length < 1 || entries.length > TILE_WIDTH) {
    throw new TileDataError('ENTRY_BUNDLE_INVALID', `an entry bundle holds 1..${TILE_WIDTH} entries, not ${entries.length}`);
  }
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.length > MAX_ENTRY_SIZE) {
      throw new TileDataError('ENTRY_BUNDLE_INVALID', `entry of ${e.length} bytes exceeds ${MAX_ENTRY_SIZE}`);
    }
    const len = Buffer.alloc(2);
    len.writeUInt16BE(e.length);
    parts.push(len, Buffer.from(e.buffer, e.byteOffset, e.byteLength));
  }
  return Buffer.concat(parts);
}

/**
 * Splits an entry bundle. Anything but whole items, at least one and at most
 * maxEntries (pass the expected width), is refused: a cut-off length or entry,
 * or bytes beyond the last allowed entry.
 */
export function decodeEntryBundle(data: Uint8Array, maxEntries = TILE_WIDTH): Buffer[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: Buffer[] = [];
  let off = 0;
  while (off < buf.length) {
    if (out.length >= maxEntries) throw new TileDataError('ENTRY_BUNDLE_INVALID', `trailing bytes after ${maxEntries} entries`);
    if (buf.length - off < 2) throw new TileDataError('ENTRY_BUNDLE_INVALID', 'truncated entry length');
    const n = buf.readUInt16BE(off);
    off += 2;
    if (buf.length - off < n) throw new TileDataError('ENTRY_BUNDLE_INVALID', `truncated entry: ${buf.length - off} of ${n} bytes`);
    out.push(Buffer.from(buf.subarray(off, off + n)));
    off += n;
  }
  if (out.length === 0) throw new TileDataError('ENTRY_BUNDLE_INVALID', 'empty entry bundle');
  return out;
}

/** A hash tile is its 1..256 hashes concatenated. */
export function encodeHashTile(hashes: Uint8Array[]): Buffer {
  if (hashes.length < 1 || hashes.length > TILE_WIDTH) {
    throw new TileDataError('HASH_TILE_INVALID', `a tile holds 1..${TILE_WIDTH} hashes, not ${hashes.length}`);
  }
  for (const h of hashes) {
    if (h.length !== HASH_SIZE) throw new TileDataError('HASH_TILE_INVALID', `tile hash is ${h.length} bytes, not ${HASH_SIZE}`);
  }
  return Buffer.concat(hashes);
}

/** The hashes of a tile of `width` (256 for a full tile); the length must be exactly 32·width. */
export function decodeHashTile(data: Uint8Array, width: number): Buffer[] {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new TileDataError('HASH_TILE_INVALID', `tile width ${width} is not in 1..${TILE_WIDTH}`);
  }
  if (data.length !== HASH_SIZE * width) {
    throw new TileDataError('HASH_TILE_INVALID', `tile of width ${width} must be ${HASH_SIZE * width} bytes, not ${data.length}`);
  }
  const out: Buffer[] = [];
  for (let i = 0; i < width; i++) out.push(Buffer.from(data.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)));
  return out;
}
