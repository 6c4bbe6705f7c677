import Fastify, { type FastifyInstance } from 'fastify';
import { DEFAULT_LIMITS, parseDigest } from '../evidence/index.ts';
import { isBadInput, type Warrant } from '../intake/index.ts';
import { LedgerError, TilePathError } from '../ledger/index.ts';
import { StoreError } from '../store/index.ts';
import { registerLogRoutes } from './log-routes.ts';
import { createMetrics } from './metrics.ts';

export interface ServerOptions {
  warrant: Pick<Warrant, 'store' | 'ledger' | 'intake' | 'logKey' | 'home' | 'keys' | 'onInvariantViolation'>;
  logger?: boolean;
  /** Largest request body accepted, bytes. */
  bodyLimit?: number;
  /** Per-request time limit, ms. */
  requestTimeoutMs?: number;
}

/** The HTTP API. Routes only translate HTTP to module calls and back. */
export function buildServer(options: ServerOptions): FastifyInstance {
  const { store, intake } = options.warrant;
  const bodyLimit = options.bodyLimit ?? DEFAULT_LIMITS.maxDocumentBytes;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    connectionTimeout: 60_000,
  });

  // The intake parses bundles itself, under its own limits, from the exact bytes sent.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  app.get('/healthz', async () => ({ status: 'ok' }));

  const metrics = createMetrics(options.warrant);
  app.get('/metrics', async (_req, reply) => {
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/readyz', async (_req, reply) => {
    try {
      await store.ping();
      return { status: 'ready', store: store.kind };
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable', message: (err as Error).message });
    }
  });

  app.post('/v1/evidence', async (req, reply) => {
    if (!Buffer.isBuffer(req.body)) {
      return reply.code(415).send({ code: 'MALFORMED', message: 'send the bundle as application/json' });
    }
    const r = await intake.add(req.body);
    if (r.outcome === 'rejected') {
      return reply.code(isBadInput(r.failure) ? 400 : 422).send(r.failure);
    }
    return reply.code(r.outcome === 'stored' ? 201 : 200).send({
      ok: true,
      outcome: r.outcome,
      envelopeDigest: r.envelopeDigest,
      logIndex: r.logIndex.toString(),
      signer: r.evidence.signer,
      bundle: r.bundle,
    });
  });

  app.get<{ Querystring: { subject?: string } }>('/v1/evidence', async (req, reply) => {
    const subject = req.query.subject;
    try {
      parseDigest(subject ?? '');
    } catch (err) {
      return reply.code(400).send({ code: 'MALFORMED', message: (err as Error).message });
    }
    const rows = await store.listBySubject(subject!);
    return {
      subject,
      statements: rows.map((r) => ({
        envelopeDigest: r.envelopeDigest,
        predicateType: r.predicateType,
        signer: r.signer,
        addedAt: r.addedAt,
        bundle: JSON.parse(r.bundle) as unknown,
      })),
    };
  });

  registerLogRoutes(app, options.warrant.ledger);

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof StoreError && err.code === 'STORE_UNAVAILABLE') {
      return reply.code(503).send({ code: 'INDETERMINATE', message: err.message });
    }
    if (err instanceof TilePathError || (err instanceof LedgerError && err.code === 'SIZE_INVALID')) {
      return reply.code(400).send({ code: err.code, message: err.message });
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.code(status).send({ code: status === 413 ? 'LIMIT_EXCEEDED' : 'ERROR', message: (err as Error).message });
  });

  return app;
}
