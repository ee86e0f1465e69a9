/**
 * Status lists (docs/status-list.md): the Status List Token of a list, and a server-sent events
 * stream announcing new versions to online readers.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { errorResponses } from './schemas.ts';

/** Readers that stay connected get a comment line this often, so proxies keep the stream open. */
const HEARTBEAT_MS = 15_000;

export function statusRoutes(app: FastifyInstance, ctx: AppContext): void {
  const lists = ctx.credentials.statusLists;

  app.get(
    '/v1/status/events',
    { schema: { tags: ['status'], summary: 'Server-sent events: `event: status` with data {"list","version"} whenever a list changes; `event: trust` with data {"trust"} (a version name) whenever the trust list changes — readers then fetch the signed list. Public.' }, config: { rateLimit: false } },
    async (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-request-id': req.id });
      res.write(': citytrust status events\n\n');
      const unsubscribe = lists.subscribe((c) => res.write(`event: status\ndata: ${JSON.stringify({ list: c.list, version: c.version })}\n\n`));
      const unsubscribeTrust = lists.subscribeTrust((c) => {
        // The next trust-list fetch signs the new state (a rotation on another instance included).
        ctx.credentials.trustLists.invalidate();
        res.write(`event: trust\ndata: ${JSON.stringify({ trust: c.trust })}\n\n`);
      });
      const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      beat.unref();
      const close = () => {
        clearInterval(beat);
        unsubscribe();
        unsubscribeTrust();
      };
      req.raw.on('close', close);
      res.on('error', close);
    },
  );

  app.get(
    '/v1/status/:list',
    {
      schema: {
        tags: ['status'],
        summary: 'The Status List Token (application/statuslist+cwt) of a list; the credential status uri ct:<list> names it. Public.',
        params: { type: 'object', required: ['list'], additionalProperties: false, properties: { list: { type: 'string', pattern: '^[a-z0-9]{4,32}$' } } },
        response: { 404: errorResponses[404] },
      },
      config: { rateLimit: false },
    },
    async (req, reply) => {
      const p = await lists.publish((req.params as { list: string }).list);
      // Readers cache by the token's ttl claim; HTTP caches must revalidate so a revocation shows at once.
      return reply
        .header('content-type', 'application/statuslist+cwt')
        .header('cache-control', 'public, no-cache')
        .header('etag', `"${p.list}-${p.version}"`)
        .send(Buffer.from(p.token));
    },
  );
}
