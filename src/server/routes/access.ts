/** Tenants and API tokens. */
import type { FastifyInstance } from 'fastify';
import { tenantScope } from '../../access/roles.ts';
import type { AppContext } from '../context.ts';
import { requireRoles } from '../auth.ts';
import { bearer, errorResponses } from './schemas.ts';

const tenantSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' }, status: { type: 'string' }, createdAt: { type: 'integer' } },
} as const;

const tokenInfoSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    tenant: { type: ['string', 'null'] },
    label: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'integer' },
    createdBy: { type: 'string' },
    expiresAt: { type: ['integer', 'null'] },
    revokedAt: { type: ['integer', 'null'] },
  },
} as const;

export function accessRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post(
    '/v1/tenants',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Create a tenant (service provider). city-admin.',
        security: bearer,
        body: {
          type: 'object',
          required: ['id', 'name'],
          additionalProperties: false,
          properties: { id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$' }, name: { type: 'string', minLength: 1, maxLength: 200 } },
        },
        response: { 201: tenantSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = await requireRoles(ctx.tokens, req, ['city-admin']);
      const body = req.body as { id: string; name: string };
      const t = await ctx.tenants.create(body, `token:${p.tokenId}`);
      return reply.status(201).send(t);
    },
  );

  app.get(
    '/v1/tenants',
    { schema: { tags: ['tenants'], summary: 'List tenants; a tenant token sees only its own.', security: bearer, response: { 200: { type: 'array', items: tenantSchema }, ...errorResponses } } },
    async (req) => {
      const p = await requireRoles(ctx.tokens, req, ['city-admin', 'tenant-admin', 'issuer', 'operator', 'auditor']);
      return ctx.tenants.list(tenantScope(p));
    },
  );

  app.post(
    '/v1/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token. The secret is in the answer once and never again.',
        security: bearer,
        body: {
          type: 'object',
          required: ['roles'],
          additionalProperties: false,
          properties: {
            tenant: { type: ['string', 'null'] },
            roles: { type: 'array', minItems: 1, maxItems: 5, items: { type: 'string', enum: ['city-admin', 'tenant-admin', 'issuer', 'operator', 'auditor'] } },
            label: { type: 'string', maxLength: 200 },
            ttlSeconds: { type: 'integer', minimum: 60, maximum: 315360000 },
          },
        },
        response: { 201: { type: 'object', properties: { token: { type: 'string' }, info: tokenInfoSchema } }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = await requireRoles(ctx.tokens, req, ['city-admin', 'tenant-admin']);
      const created = await ctx.tokens.create(req.body as Record<string, unknown> as { tenant: unknown; roles: unknown }, p);
      void reply.header('cache-control', 'no-store');
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/v1/tokens',
    { schema: { tags: ['tokens'], summary: 'List tokens (never their secrets).', security: bearer, response: { 200: { type: 'array', items: tokenInfoSchema }, ...errorResponses } } },
    async (req) => {
      const p = await requireRoles(ctx.tokens, req, ['city-admin', 'tenant-admin']);
      return ctx.tokens.list(tenantScope(p));
    },
  );

  app.delete(
    '/v1/tokens/:id',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Revoke a token.',
        security: bearer,
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9a-f]{16}$' } } },
        response: { 200: tokenInfoSchema, ...errorResponses },
      },
    },
    async (req) => {
      const p = await requireRoles(ctx.tokens, req, ['city-admin', 'tenant-admin']);
      return ctx.tokens.revoke((req.params as { id: string }).id, p);
    },
  );
}
