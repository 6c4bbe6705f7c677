import type { FastifyInstance } from 'fastify';
import { encodeEntryBundle, encodeHashTile, parseTilePath, TILE_WIDTH, type Ledger } from '../ledger/index.ts';

const UINT64 = /^(0|[1-9][0-9]{0,19})$/;

/** Reads a decimal uint64 query parameter, or undefined when absent or malformed. */
function uint64(value: unknown): bigint | undefined {
  if (typeof value !== 'string' || !UINT64.test(value)) return undefined;
  const n = BigInt(value);
  return n < 1n << 64n ? n : undefined;
}

/**
 * The C2SP tlog-tiles read API rooted at /v1/log/, so any tiles client
 * pointed at /v1/log can read the log, plus two proof endpoints.
 */
export function registerLogRoutes(app: FastifyInstance, ledger: Ledger<unknown>): void {
  app.get('/v1/log/checkpoint', async (_req, reply) => {
    const checkpoint = (await ledger.latestCheckpoint()) ?? (await ledger.checkpoint());
    return reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(checkpoint.note);
  });

  app.get('/v1/log/tile/*', async (req, reply) => {
    const path = 'tile/' + (req.params as { '*': string })['*'];
    const tile = parseTilePath(path);
    const first = tile.index * BigInt(TILE_WIDTH);
    const body =
      tile.kind === 'entries'
        ? await ledger.storage.entries(first, tile.width).then((e) => (e.length === tile.width ? encodeEntryBundle(e) : undefined))
        : await ledger.storage
            .nodeRange(tile.level * 8, first, tile.width)
            .then((h) => (h.length === tile.width ? encodeHashTile(h) : undefined));
    if (body === undefined) return reply.code(404).send({ code: 'NOT_FOUND', message: `${path} does not exist (yet)` });
    return reply
      .header('content-type', 'application/octet-stream')
      // Full tiles never change; partial ones are superseded but never rewritten either.
      .header('cache-control', tile.width === TILE_WIDTH ? 'public, max-age=31536000, immutable' : 'public, max-age=60')
      .send(body);
  });

  app.get<{ Querystring: { index?: string; size?: string } }>('/v1/log/proof/inclusion', async (req, reply) => {
    const index = uint64(req.query.index);
    const size = uint64(req.query.size);
    if (index === undefined || size === undefined) {
      return reply.code(400).send({ code: 'MALFORMED', message: 'index and size must be decimal integers' });
    }
    const hashes = await ledger.inclusionProof(index, size);
    return { index: index.toString(), size: size.toString(), hashes: hashes.map((h) => h.toString('base64')) };
  });

  app.get<{ Querystring: { old?: string; new?: string } }>('/v1/log/proof/consistency', async (req, reply) => {
    const oldSize = uint64(req.query.old);
    const newSize = uint64(req.query.new);
    if (oldSize === undefined || newSize === undefined) {
      return reply.code(400).send({ code: 'MALFORMED', message: 'old and new must be decimal integers' });
    }
    const hashes = await ledger.consistencyProof(oldSize, newSize);
    return { old: oldSize.toString(), new: newSize.toString(), hashes: hashes.map((h) => h.toString('base64')) };
  });
}
