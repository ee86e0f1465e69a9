import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { CityTrustError } from '../../core/errors.ts';
import type { AppContext } from '../context.ts';
import type { Metrics } from '../metrics.ts';

export function healthRoutes(app: FastifyInstance, ctx: AppContext, metrics: Metrics): void {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness: the process answers.', response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } }, config: { rateLimit: false } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { schema: { tags: ['operations'], summary: 'Readiness: the database answers and the audit log is open.', response: { 200: { type: 'object', properties: { status: { type: 'string' }, store: { type: 'string' }, auditSize: { type: 'integer' } } } } }, config: { rateLimit: false } },
    async () => {
      try {
        await sql`select 1`.execute(ctx.store.db);
      } catch (e) {
        throw new CityTrustError('STORE_UNAVAILABLE', 'the database does not answer', { cause: e });
      }
      const auditSize = await ctx.audit.size();
      return { status: 'ready', store: ctx.store.dialect, auditSize };
    },
  );

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics (text exposition format).' }, config: { rateLimit: false } }, async (_req, reply) => {
    metrics.auditSize.set(await ctx.audit.size());
    metrics.meterFramesStored.set(ctx.metering.ingest.stats.stored);
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
