/**
 * Readers (docs/reader.md): signed event uploads and trust-cache refresh for readers themselves
 * (authenticated by their certificate and signature, no token), and the views operators and
 * auditors read (readers, events, dashboard counters).
 */
import type { FastifyInstance } from 'fastify';
import { fromBase64 } from '../../core/bytes.ts';
import { CityTrustError } from '../../core/errors.ts';
import { tenantScope } from '../../access/roles.ts';
import type { AppContext } from '../context.ts';
import { requireRoles } from '../auth.ts';
import { bearer, errorResponses, uintString } from './schemas.ts';
import { ReaderIngest } from './reader-ingest.ts';

const b64 = { type: 'string', description: 'standard base64' } as const;
const readerId = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } as const;
const signedBody = {
  type: 'object',
  required: ['sign1'],
  additionalProperties: false,
  properties: { sign1: { type: 'string', minLength: 8, maxLength: 1_400_000, pattern: '^[A-Za-z0-9+/]+={0,2}$', description: 'COSE_Sign1 by the reader key, x5chain protected (docs/reader.md §7), base64' } },
} as const;

const readerSchema = {
  type: 'object',
  properties: {
    tenant: { type: 'string' },
    id: { type: 'string' },
    site: { type: 'string' },
    profile: { type: 'string' },
    firstSeen: { type: 'integer' },
    lastSeen: { type: 'integer' },
    lastUploadAt: { type: ['integer', 'null'] },
    lastSeq: { type: 'integer' },
    events: { type: 'integer' },
    granted: { type: 'integer' },
    denied: { type: 'integer' },
    alerts: { type: 'integer' },
  },
} as const;

function sign1Of(body: unknown): Uint8Array {
  const s = (body as { sign1: string }).sign1;
  const bytes = fromBase64(s);
  if (bytes.length === 0) throw new CityTrustError('READER_UPLOAD_INVALID', 'sign1 is empty');
  return bytes;
}

export function readerRoutes(app: FastifyInstance, ctx: AppContext): void {
  const ingest = new ReaderIngest({ store: ctx.store, audit: ctx.audit, clock: ctx.clock, pki: ctx.pki, credentials: ctx.credentials });

  app.post(
    '/v1/readers/:id/events',
    {
      schema: {
        tags: ['readers'],
        summary: 'A reader uploads its queued tap events, signed with its certificate key. Idempotent: events already held count as duplicates.',
        params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: readerId } },
        body: signedBody,
        response: { 200: { type: 'object', properties: { accepted: { type: 'integer' }, duplicates: { type: 'integer' }, lastSeq: { type: 'integer' } } }, ...errorResponses },
      },
    },
    async (req) => ingest.ingest((req.params as { id: string }).id, sign1Of(req.body)),
  );

  app.post(
    '/v1/readers/:id/trust',
    {
      schema: {
        tags: ['readers'],
        summary: 'A reader refreshes its offline trust cache: the trust list and the status lists of the tenants it accepts (signed request).',
        params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: readerId } },
        body: signedBody,
        response: { 200: { type: 'object', properties: { trustList: b64, statusLists: { type: 'array', items: b64 } } }, ...errorResponses },
      },
    },
    async (req) => {
      const b = await ingest.trustBundle((req.params as { id: string }).id, sign1Of(req.body));
      return { trustList: Buffer.from(b.trustList).toString('base64'), statusLists: b.statusLists.map((s) => Buffer.from(s).toString('base64')) };
    },
  );

  app.get(
    '/v1/readers',
    {
      schema: {
        tags: ['readers'],
        summary: 'Readers of the tenant with their counters (taps, granted, denied, alerts).',
        security: bearer,
        querystring: { type: 'object', additionalProperties: false, properties: { tenant: readerId } },
        response: { 200: { type: 'array', items: readerSchema }, ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query as { tenant?: string };
      const p = await requireRoles(ctx.tokens, req, ['operator', 'tenant-admin', 'auditor'], q.tenant);
      return ingest.list(tenantScope(p), q.tenant);
    },
  );

  app.get(
    '/v1/readers/stats',
    {
      schema: {
        tags: ['readers'],
        summary: 'Dashboard counters over the readers in scope, and refusals by reason.',
        security: bearer,
        querystring: { type: 'object', additionalProperties: false, properties: { tenant: readerId } },
        response: {
          200: { type: 'object', properties: { readers: { type: 'integer' }, events: { type: 'integer' }, granted: { type: 'integer' }, denied: { type: 'integer' }, alerts: { type: 'integer' }, byReason: { type: 'object', additionalProperties: { type: 'integer' } } } },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const q = req.query as { tenant?: string };
      const p = await requireRoles(ctx.tokens, req, ['operator', 'tenant-admin', 'auditor'], q.tenant);
      return ingest.stats(tenantScope(p), q.tenant);
    },
  );

  app.get(
    '/v1/readers/:id/events',
    {
      schema: {
        tags: ['readers'],
        summary: 'Tap events of one reader, oldest first after a sequence number.',
        security: bearer,
        params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: readerId } },
        querystring: { type: 'object', additionalProperties: false, properties: { tenant: readerId, after: uintString, limit: { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$' } } },
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                seq: { type: 'integer' },
                at: { type: 'integer' },
                receivedAt: { type: 'integer' },
                site: { type: 'string' },
                allow: { type: 'boolean' },
                reason: { type: 'string' },
                code: { type: ['string', 'null'] },
                by: { type: 'string' },
                resource: { type: ['string', 'null'] },
                zones: { type: ['array', 'null'], items: { type: 'string' } },
                credentialId: { type: ['string', 'null'] },
                issuer: { type: ['string', 'null'] },
                statusStale: { type: 'boolean' },
                session: { type: ['string', 'null'] },
                alert: { type: 'boolean' },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const q = req.query as { tenant?: string; after?: string; limit?: string };
      const p = await requireRoles(ctx.tokens, req, ['operator', 'tenant-admin', 'auditor'], q.tenant);
      const tenant = q.tenant ?? p.tenant;
      if (tenant === null || tenant === undefined) throw new CityTrustError('INPUT_INVALID', 'a city-wide token names the tenant (?tenant=)');
      return ingest.events(tenantScope(p), tenant, (req.params as { id: string }).id, { ...(q.after !== undefined && { after: Number(q.after) }), ...(q.limit !== undefined && { limit: Number(q.limit) }) });
    },
  );
}
