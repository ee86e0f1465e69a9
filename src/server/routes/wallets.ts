/**
 * Wallets: registration over a challenge signed by the secure-element key, and sync with a
 * single-use nonce signed by the same key (docs/wallet.md, docs/provisioning.md). The nonce and
 * sync endpoints take no bearer token: possession of the SE key authenticates the wallet, and a
 * relaying app sees only sealed envelopes.
 */
import type { FastifyInstance } from 'fastify';
import { actorOf, tenantScope } from '../../access/roles.ts';
import type { AppContext } from '../context.ts';
import { requireRoles } from '../auth.ts';
import { bearer, errorResponses } from './schemas.ts';
import { actingTenant } from './credentials.ts';

const TENANT = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$' } as const;
const WALLET = { type: 'string', pattern: '^w_[0-9a-f]{24}$' } as const;
const B64URL = { type: 'string', pattern: '^[A-Za-z0-9_-]*$', maxLength: 8192 } as const;
const params = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: WALLET } } as const;

const walletSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    tenant: { type: 'string' },
    publicKey: { type: 'string' },
    kid: { type: 'string' },
    attestationFormat: { type: 'string' },
    label: { type: 'string' },
    state: { type: 'string' },
    pendingDeliveries: { type: 'integer' },
    ackedSeq: { type: 'integer' },
    createdAt: { type: 'integer' },
  },
} as const;

export function walletsRoutes(app: FastifyInstance, ctx: AppContext): void {
  const wallets = ctx.credentials.wallets;

  app.post(
    '/v1/wallets/challenges',
    {
      schema: {
        tags: ['wallets'],
        summary: 'A registration challenge for a new wallet (the tenant app asks on behalf of the phone). issuer.',
        security: bearer,
        body: { type: 'object', required: ['tenant'], additionalProperties: false, properties: { tenant: TENANT } },
        response: { 201: { type: 'object', properties: { challengeId: { type: 'string' }, challenge: { type: 'string' }, expiresAt: { type: 'integer' } } }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { p, tenant } = await actingTenant(ctx, req, ['issuer', 'tenant-admin'], (req.body as { tenant: string }).tenant);
      return reply.status(201).send(await wallets.createChallenge(tenant, actorOf(p)));
    },
  );

  app.post(
    '/v1/wallets',
    {
      schema: {
        tags: ['wallets'],
        summary: 'Register a wallet: its SE key (P-256 point) and an ES256 signature over the challenge. issuer.',
        security: bearer,
        body: {
          type: 'object',
          required: ['tenant', 'challengeId', 'publicKey', 'signature'],
          additionalProperties: false,
          properties: {
            tenant: TENANT,
            challengeId: { type: 'string', maxLength: 64 },
            publicKey: B64URL,
            signature: B64URL,
            label: { type: 'string', maxLength: 100 },
            attestation: { type: 'object', required: ['format'], additionalProperties: false, properties: { format: { type: 'string', maxLength: 32 }, data: B64URL } },
          },
        },
        response: { 201: walletSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body as { tenant: string; challengeId: string; publicKey: string; signature: string };
      const { p, tenant } = await actingTenant(ctx, req, ['issuer', 'tenant-admin'], body.tenant);
      return reply.status(201).send(await wallets.register(tenant, body, actorOf(p)));
    },
  );

  app.get(
    '/v1/wallets',
    {
      schema: {
        tags: ['wallets'],
        summary: 'List wallets.',
        security: bearer,
        querystring: { type: 'object', additionalProperties: false, properties: { tenant: TENANT } },
        response: { 200: { type: 'array', items: walletSchema }, ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query as { tenant?: string };
      const p = await requireRoles(ctx.tokens, req, ['issuer', 'tenant-admin', 'auditor'], q.tenant);
      return wallets.list(q.tenant ?? tenantScope(p));
    },
  );

  app.get(
    '/v1/wallets/:id',
    { schema: { tags: ['wallets'], summary: 'One wallet.', security: bearer, params, response: { 200: walletSchema, ...errorResponses } } },
    async (req) => {
      const p = await requireRoles(ctx.tokens, req, ['issuer', 'tenant-admin', 'auditor']);
      return wallets.get(tenantScope(p), (req.params as { id: string }).id);
    },
  );

  app.post(
    '/v1/wallets/:id/deactivate',
    { schema: { tags: ['wallets'], summary: 'Deactivate a wallet (lost device): no more deliveries or syncs. issuer.', security: bearer, params, response: { 200: walletSchema, ...errorResponses } } },
    async (req) => {
      const p = await requireRoles(ctx.tokens, req, ['issuer', 'tenant-admin']);
      return wallets.deactivate(tenantScope(p), (req.params as { id: string }).id, actorOf(p));
    },
  );

  app.post(
    '/v1/wallets/:id/nonce',
    {
      schema: {
        tags: ['wallets'],
        summary: 'A fresh single-use nonce for the next sync (no bearer token).',
        params,
        response: { 201: { type: 'object', properties: { nonce: { type: 'string' }, expiresAt: { type: 'integer' } } }, ...errorResponses },
      },
      config: { rateLimit: { max: 120, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      return reply.status(201).send(await wallets.nonce((req.params as { id: string }).id));
    },
  );

  app.post(
    '/v1/wallets/:id/sync',
    {
      schema: {
        tags: ['wallets'],
        summary: 'Acknowledge stored deliveries and fetch the next ones. Authenticated by an ES256 signature of the SE key over ["citytrust/wallet-sync/v1", id, nonce, ack].',
        params,
        body: {
          type: 'object',
          required: ['nonce', 'ack', 'signature'],
          additionalProperties: false,
          properties: { nonce: B64URL, ack: { type: 'integer', minimum: 0, maximum: 9007199254740991 }, signature: B64URL },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              ackedSeq: { type: 'integer' },
              more: { type: 'boolean' },
              deliveries: { type: 'array', items: { type: 'object', properties: { seq: { type: 'integer' }, envelope: { type: 'string' } } } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      return wallets.sync((req.params as { id: string }).id, req.body as { nonce: string; ack: number; signature: string });
    },
  );
}
