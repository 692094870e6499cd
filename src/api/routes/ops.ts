import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import type { Metrics } from '../metrics.js';

/** Operational routes: no auth, served by every role. */
export function opsRoutes(app: FastifyInstance, ctx: ApiContext, metrics: Metrics): void {
  const hide = { hide: true };
  app.get('/healthz', { schema: hide }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: hide }, async (_req, reply) => {
    try {
      await ctx.store.ping();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ error: { code: 'unavailable', message: 'store: not reachable' } });
    }
  });

  app.get('/metrics', { schema: hide }, async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get('/openapi.json', { schema: hide }, async () => app.swagger());
}
