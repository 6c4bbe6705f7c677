/**
 * A monitor for any C2SP tlog-tiles log (Tessera, Sunlight, Rekor v2,
 * warrant): it fetches the signed checkpoint, recomputes its root from the
 * tiles, and proves from tiles that it extends the last checkpoint it verified,
 * which it keeps on disk. Like Go's sumdb client, a fork or a rollback is
 * reported with both signed notes as evidence. Network trouble is never a
 * verdict: it is reported as unavailable.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, openCheckpoint, type Checkpoint } from './checkpoint.ts';
import { NOTE_MAX_BYTES, NoteError, type NoteVerifier } from './note.ts';
import {
  consistencyProof,
  ProofError,
  rootFromInclusionProof,
  treeRoot,
  verifyConsistency,
  type NodeFetcher,
} from './proof.ts';
import { HASH_SIZE } from './rfc6962.ts';
import { decodeHashTile, nodeFromTile, nodeTileCoordinates, TILE_WIDTH, TileDataError, tilePath, tileWidth } from './tiles.ts';

export type TilesClientErrorCode = 'URL_INVALID' | 'FETCH_FAILED' | 'NOT_FOUND' | 'RESPONSE_TOO_LARGE' | 'TILE_INVALID';

/** A tiles request that failed; FETCH_FAILED and NOT_FOUND say nothing about the log's honesty. */
export class TilesClientError extends Error {
  readonly code: TilesClientErrorCode;
  constructor(code: TilesClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TilesClientError';
    this.code = code;
  }
}

export type MonitorErrorCode = 'STATE_INVALID' | 'STATE_WRITE_FAILED';

/** The monitor's own state cannot be used; no verdict about the log. */
export class MonitorError extends Error {
  readonly code: MonitorErrorCode;
  constructor(code: MonitorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MonitorError';
    this.code = code;
  }
}

export interface TilesClientOptions {
  /** Per-request limit, body included. */
  timeoutMs?: number;
  /** Most tiles kept in memory (8 KiB each when full). */
  cacheTiles?: number;
}

/** Largest checkpoint read: the signed-note limit. */
export const CHECKPOINT_MAX_BYTES = NOTE_MAX_BYTES;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_CACHE_TILES = 64;

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Reads a C2SP tlog-tiles log at a URL prefix: `<prefix>/checkpoint` and
 * `<prefix>/tile/<L>/<N>[.p/<W>]`. Tiles are immutable, so they are cached by
 * path; a full tile also answers for every partial tile of the same position.
 */
export class TilesClient {
  readonly baseUrl: string;
  readonly #timeoutMs: number;
  readonly #cacheTiles: number;
  readonly #cache = new Map<string, Buffer[]>();

  constructor(baseUrl: string, options: TilesClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new TilesClientError('URL_INVALID', `${JSON.stringify(baseUrl)} is not a URL`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
      throw new TilesClientError('URL_INVALID', `${JSON.stringify(baseUrl)} must be an http(s) URL prefix without query or fragment`);
    }
    this.baseUrl = url.href.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#cacheTiles = options.cacheTiles ?? DEFAULT_CACHE_TILES;
  }

  /** How many tiles are held in memory. */
  get cachedTiles(): number {
    return this.#cache.size;
  }

  clearCache(): void {
    this.#cache.clear();
  }

  /** The raw checkpoint, unverified: at most CHECKPOINT_MAX_BYTES. */
  checkpoint(): Promise<Buffer> {
    return this.#get('checkpoint', CHECKPOINT_MAX_BYTES);
  }

  /**
   * The hashes of tile (level, index) of width `width` (256 = full). Only ask
   * for a width a verified checkpoint implies (tileWidth): tlog-tiles forbids
   * fetching partial tiles that may not exist. A partial tile that is gone
   * (logs may delete it once the full tile exists) is read from the full one.
   */
  async hashTile(level: number, index: bigint, width: number): Promise<Buffer[]> {
    const path = tilePath(level, index, width);
    const full = tilePath(level, index);
    const cached = this.#recall(path) ?? this.#recall(full);
    if (cached !== undefined) return cached.slice(0, width);
    if (width < TILE_WIDTH) {
      try {
        return this.#remember(path, await this.#tile(path, width));
      } catch (err) {
        if (!(err instanceof TilesClientError && err.code === 'NOT_FOUND')) throw err;
      }
    }
    return this.#remember(full, await this.#tile(full, TILE_WIDTH)).slice(0, width);
  }

  /**
   * Complete-subtree hashes of the tree of `size`, read from the tiles that
   * size implies; `size` must come from a verified checkpoint. Each tile is
   * fetched once per call, all of them in parallel.
   */
  nodeFetcher(size: bigint): NodeFetcher {
    return async (ids) => {
      const tiles = new Map<string, Promise<Buffer[]>>();
      return Promise.all(
        ids.map(async (id) => {
          const c = nodeTileCoordinates(id);
          const width = tileWidth(c.tileLevel, c.tileIndex, size);
          if (width < c.minWidth) throw new RangeError(`node ${id.level}/${id.index} is not in the tree of size ${size}`);
          const key = `${c.tileLevel}/${c.tileIndex}`;
          let tile = tiles.get(key);
          if (tile === undefined) {
            tile = this.hashTile(c.tileLevel, c.tileIndex, width);
            tiles.set(key, tile);
          }
          return nodeFromTile(await tile, id);
        }),
      );
    };
  }

  async #tile(path: string, width: number): Promise<Buffer[]> {
    let body: Buffer;
    try {
      body = await this.#get(path, HASH_SIZE * width);
    } catch (err) {
      if (!(err instanceof TilesClientError && err.code === 'RESPONSE_TOO_LARGE')) throw err;
      throw new TilesClientError('TILE_INVALID', `${path} is longer than ${HASH_SIZE * width} bytes`, { cause: err });
    }
    try {
      return decodeHashTile(body, width);
    } catch (cause) {
      throw new TilesClientError('TILE_INVALID', `${path} is ${body.length} bytes, not ${HASH_SIZE * width}`, { cause });
    }
  }

  #recall(path: string): Buffer[] | undefined {
    const hit = this.#cache.get(path);
    if (hit !== undefined) {
      // Least recently used goes first: re-insert on every hit.
      this.#cache.delete(path);
      this.#cache.set(path, hit);
    }
    return hit;
  }

  #remember(path: string, hashes: Buffer[]): Buffer[] {
    if (this.#cacheTiles <= 0) return hashes;
    this.#cache.set(path, hashes);
    while (this.#cache.size > this.#cacheTiles) this.#cache.delete(this.#cache.keys().next().value!);
    return hashes;
  }

  /** GET <prefix>/<path>: status 200 and at most maxBytes, read under one timeout. */
  async #get(path: string, maxBytes: number): Promise<Buffer> {
    const url = `${this.baseUrl}/${path}`;
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, { signal, headers: { 'user-agent': 'warrant-log-monitor' } });
    } catch (cause) {
      throw new TilesClientError('FETCH_FAILED', `GET ${url}: ${describeFetchError(cause, this.#timeoutMs)}`, { cause });
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      const code = res.status === 404 ? 'NOT_FOUND' : 'FETCH_FAILED';
      throw new TilesClientError(code, `GET ${url}: HTTP ${res.status}`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of res.body ?? []) {
        total += chunk.length;
        // Leaving the loop cancels the stream: nothing past the limit is read.
        if (total > maxBytes) break;
        chunks.push(Buffer.from(chunk));
      }
    } catch (cause) {
      throw new TilesClientError('FETCH_FAILED', `GET ${url}: ${describeFetchError(cause, this.#timeoutMs)}`, { cause });
    }
    if (total > maxBytes) throw new TilesClientError('RESPONSE_TOO_LARGE', `GET ${url}: response exceeds ${maxBytes} bytes`);
    return Buffer.concat(chunks);
  }
}

/** Where a monitor keeps the last checkpoint it verified. */
export interface MonitorState {
  /** For messages: where the state lives. */
  readonly location: string;
  /** The last verified checkpoint note, or undefined before the first check. */
  load(): Promise<string | undefined>;
  save(note: string): Promise<void>;
}

/** State as one file per log in `dir`, named by the hex SHA-256 of the origin (as tlog-witness names logs). */
export class FileMonitorState implements MonitorState {
  readonly dir: string;
  readonly location: string;

  constructor(dir: string, origin: string) {
    this.dir = dir;
    this.location = join(dir, createHash('sha256').update(origin, 'utf8').digest('hex'));
  }

  async load(): Promise<string | undefined> {
    try {
      const info = await stat(this.location);
      if (!info.isFile() || info.size > NOTE_MAX_BYTES) {
        throw new MonitorError('STATE_INVALID', `state ${this.location} is not a checkpoint file`);
      }
      return await readFile(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (err instanceof MonitorError) throw err;
      throw new MonitorError('STATE_INVALID', `cannot read state ${this.location}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Temp file, fsync, rename, fsync of the directory: a crash leaves the old state or the new one. */
  async save(note: string): Promise<void> {
    const tmp = join(this.dir, `.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFile(tmp, note, { mode: 0o600, flag: 'wx' });
      const fh = await open(tmp, 'r');
      await fh.sync().finally(() => fh.close());
      await rename(tmp, this.location);
      const dir = await open(this.dir, 'r');
      // Some filesystems refuse to fsync a directory; the rename is done either way.
      await dir.sync().catch(() => {}).finally(() => dir.close());
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw new MonitorError('STATE_WRITE_FAILED', `cannot write state ${this.location}: ${(err as Error).message}`, { cause: err });
    }
  }
}

export type MonitorOutcome = 'ok' | 'fork' | 'rollback' | 'invalid' | 'unavailable';

export type MonitorCode =
  | 'OK'
  | 'FORK'
  | 'ROLLBACK'
  | 'CHECKPOINT_INVALID'
  | 'ROOT_MISMATCH'
  | 'TILES_INCONSISTENT'
  | 'TILE_INVALID'
  | 'RESPONSE_TOO_LARGE'
  | 'UNAVAILABLE';

export interface MonitorResult {
  outcome: MonitorOutcome;
  /** Stable reason; the message is for people. */
  code: MonitorCode;
  message: string;
  /** Size of the checkpoint the log served, once its signature verified. */
  size: bigint | undefined;
  /** Size of the last verified checkpoint from state, before this check. */
  previousSize: bigint | undefined;
  /** On fork or rollback: both signed notes, which together prove the log misbehaved. */
  evidence?: { old: string; new: string };
}

export interface LogMonitorOptions {
  client: TilesClient;
  /** The log's checkpoint key; other signatures (witnesses) are ignored. */
  verifier: NoteVerifier;
  origin: string;
  state: MonitorState;
}

interface Verified {
  checkpoint: Checkpoint;
  note: string;
}

function b64(hash: Uint8Array): string {
  return Buffer.from(hash).toString('base64');
}

/** Trailing zero bits of x > 0. */
function trailingZeros(x: bigint): number {
  const s = x.toString(2);
  return s.length - 1 - s.lastIndexOf('1');
}

/**
 * Whether a consistency proof from m to n is made of the new tree's own
 * hashes, whatever the old root: the proof is the audit path of the old tree's
 * last complete subtree (level ctz(m)) in the tree whose leaves are the
 * level-ctz(m) subtrees of the new one. That subtree's hash leads the proof,
 * unless m is a power of two: then the verifier supplies it as the old root,
 * so the new tree's own version is read from the tiles. A proof that does not
 * reach the new root shows bad tiles, not a fork.
 */
async function proofReachesNewRoot(m: bigint, n: bigint, proof: Buffer[], fetch: NodeFetcher, newRoot: Buffer): Promise<boolean> {
  const level = trailingZeros(m);
  const index = (m - 1n) >> BigInt(level);
  const [seed, path] = index === 0n ? [(await fetch([{ level, index }]))[0], proof] : [proof[0], proof.slice(1)];
  if (seed === undefined) return false;
  try {
    return rootFromInclusionProof(index, ((n - 1n) >> BigInt(level)) + 1n, seed, path).equals(newRoot);
  } catch (err) {
    if (err instanceof ProofError) return false;
    throw err;
  }
}

/** Checks one tiles log against the last checkpoint verified from it. */
export class LogMonitor {
  readonly #client: TilesClient;
  readonly #verifier: NoteVerifier;
  readonly #origin: string;
  readonly #state: MonitorState;

  constructor(options: LogMonitorOptions) {
    this.#client = options.client;
    this.#verifier = options.verifier;
    this.#origin = options.origin;
    this.#state = options.state;
  }

  /**
   * One round: fetch and open the checkpoint, compare it with the stored one
   * (a smaller size is a rollback, the same size with another root a fork:
   * the two signed notes prove both without any tile), recompute its root
   * from the tiles, prove from the tiles that it extends the stored one, and
   * store it. Throws MonitorError only when the state itself is unusable.
   */
  async check(): Promise<MonitorResult> {
    const previous = await this.#loadState();
    const previousSize = previous?.checkpoint.size;
    let raw: Buffer;
    try {
      raw = await this.#client.checkpoint();
    } catch (err) {
      return this.#fromClientError(err, undefined, previousSize);
    }
    let current: Verified;
    try {
      const opened = openCheckpoint(raw, this.#verifier, this.#origin);
      current = { checkpoint: opened.checkpoint, note: opened.note };
    } catch (err) {
      if (!(err instanceof NoteError || err instanceof CheckpointError)) throw err;
      const message = `${this.#client.baseUrl}/checkpoint: ${err.message}`;
      return { outcome: 'invalid', code: 'CHECKPOINT_INVALID', message, size: undefined, previousSize };
    }
    const size = current.checkpoint.size;
    if (previous !== undefined) {
      const conflict = this.#conflict(previous, current);
      if (conflict !== undefined) return conflict;
    }
    const hadCache = this.#client.cachedTiles > 0;
    let result = await this.#checkTiles(current, previous);
    if ((result.outcome === 'invalid' || result.outcome === 'fork') && hadCache) {
      // A tile cached in an earlier round must never decide a verdict: look again at fresh tiles.
      this.#client.clearCache();
      result = await this.#checkTiles(current, previous);
    }
    if (result.outcome === 'ok' && (previous === undefined || size > previous.checkpoint.size)) {
      await this.#state.save(current.note);
    }
    return result;
  }

  async #loadState(): Promise<Verified | undefined> {
    const note = await this.#state.load();
    if (note === undefined) return undefined;
    try {
      const opened = openCheckpoint(note, this.#verifier, this.#origin);
      return { checkpoint: opened.checkpoint, note: opened.note };
    } catch (err) {
      if (!(err instanceof NoteError || err instanceof CheckpointError)) throw err;
      throw new MonitorError(
        'STATE_INVALID',
        `state ${this.#state.location} is not a checkpoint of ${this.#origin} signed by ${this.#verifier.name}: ${err.message}; move it away to start over`,
        { cause: err },
      );
    }
  }

  /** What two signed checkpoints alone prove: a rollback, or a fork at equal size. */
  #conflict(previous: Verified, current: Verified): MonitorResult | undefined {
    const old = previous.checkpoint;
    const now = current.checkpoint;
    const evidence = { old: previous.note, new: current.note };
    if (now.size < old.size) {
      return {
        outcome: 'rollback',
        code: 'ROLLBACK',
        message: `${this.#origin} served a signed checkpoint of size ${now.size}, older than the verified size ${old.size}`,
        size: now.size,
        previousSize: old.size,
        evidence,
      };
    }
    if (now.size === old.size && !now.rootHash.equals(old.rootHash)) {
      return {
        outcome: 'fork',
        code: 'FORK',
        message: `${this.#origin} signed two different trees of size ${now.size}: root ${b64(old.rootHash)} and root ${b64(now.rootHash)}`,
        size: now.size,
        previousSize: old.size,
        evidence,
      };
    }
    return undefined;
  }

  async #checkTiles(current: Verified, previous: Verified | undefined): Promise<MonitorResult> {
    const now = current.checkpoint;
    const old = previous?.checkpoint;
    const base = { size: now.size, previousSize: old?.size };
    const fetch = this.#client.nodeFetcher(now.size);
    try {
      const root = await treeRoot(now.size, fetch);
      if (!root.equals(now.rootHash)) {
        const message = `the tiles give root ${b64(root)} for size ${now.size}; the signed checkpoint says ${b64(now.rootHash)}`;
        return { outcome: 'invalid', code: 'ROOT_MISMATCH', message, ...base };
      }
      // From the empty tree, or at equal size and root, there is nothing to prove.
      if (old !== undefined && old.size > 0n && old.size < now.size) {
        const proof = await consistencyProof(old.size, now.size, fetch);
        try {
          verifyConsistency(old.size, now.size, proof, old.rootHash, now.rootHash);
        } catch (err) {
          if (!(err instanceof ProofError)) throw err;
          if (!(await proofReachesNewRoot(old.size, now.size, proof, fetch, now.rootHash))) {
            const message = `the tiles of size ${now.size} do not agree with its signed root; consistency with size ${old.size} is unproven`;
            return { outcome: 'invalid', code: 'TILES_INCONSISTENT', message, ...base };
          }
          return {
            outcome: 'fork',
            code: 'FORK',
            message: `the tree of size ${now.size} (root ${b64(now.rootHash)}) does not extend the verified tree of size ${old.size} (root ${b64(old.rootHash)}): ${err.message}`,
            ...base,
            evidence: { old: previous!.note, new: current.note },
          };
        }
      }
    } catch (err) {
      if (err instanceof TileDataError) return { outcome: 'invalid', code: 'TILE_INVALID', message: err.message, ...base };
      return this.#fromClientError(err, now.size, old?.size);
    }
    const was = old === undefined ? 'first check: trusted on first use' : old.size === now.size ? 'unchanged' : `consistent with size ${old.size}`;
    return { outcome: 'ok', code: 'OK', message: `${this.#origin} at size ${now.size}, root ${b64(now.rootHash)} (${was})`, ...base };
  }

  #fromClientError(err: unknown, size: bigint | undefined, previousSize: bigint | undefined): MonitorResult {
    if (!(err instanceof TilesClientError)) throw err;
    const base = { size, previousSize, message: err.message };
    switch (err.code) {
      case 'TILE_INVALID':
        return { outcome: 'invalid', code: 'TILE_INVALID', ...base };
      case 'RESPONSE_TOO_LARGE':
        return { outcome: 'invalid', code: 'RESPONSE_TOO_LARGE', ...base };
      default:
        return { outcome: 'unavailable', code: 'UNAVAILABLE', ...base };
    }
  }
}
