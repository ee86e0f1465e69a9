/**
 * Context-aware offers (docs/wallet.md, offers): a tenant's rules, its holders' attributes
 * (sealed at rest), consents signed by the holders' wallets, and the offers a holder is eligible
 * for in a given context. Every route acts inside one tenant; another tenant's wallet, rule or
 * consent answers like a missing one.
 */
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../access/roles.ts';
import type { AppContext } from '../context.ts';
import { bearer, errorResponses } from './schemas.ts';
import { actingTenant } from './credentials.ts';

const TENANT = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$' } as const;
const WALLET = { type: 'string', pattern: '^w_[0-9a-f]{24}$' } as const;
const RULE_ID = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } as const;
const CONSENT_ID = { type: 'string', pattern: '^oc_[0-9a-f]{24}$' } as const;
const NAME = { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,31}$' } as const;
const B64URL = { type: 'string', pattern: '^[A-Za-z0-9_-]*$', maxLength: 256 } as const;
const SCALAR = { anyOf: [{ type: 'string', maxLength: 200 }, { type: 'number' }, { type: 'boolean' }] } as const;
const tenantQuery = { type: 'object', additionalProperties: false, properties: { tenant: TENANT } } as const;
const walletParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: WALLET } } as const;
const ruleParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: RULE_ID } } as const;
const MANAGE = ['tenant-admin', 'issuer'] as const;

const offerSchema = { type: 'object', properties: { title: { type: 'string' }, code: { type: 'string' } } } as const;
const ruleSchema = { type: 'object', properties: { id: { type: 'string' }, offer: offerSchema, when: { type: 'array', items: { type: 'object', additionalProperties: true } } } } as const;
const consentSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    tenant: { type: 'string' },
    walletId: { type: 'string' },
    attributes: { type: 'array', items: { type: 'string' } },
    purpose: { type: 'string' },
    grantedAt: { type: 'integer' },
    revokedAt: { type: ['integer', 'null'] },
  },
} as const;
// Conditions are checked by validateRule, which gives each malformed rule OFFER_RULE_INVALID.
const ruleBody = {
  type: 'object',
  required: ['id', 'offer', 'when'],
  additionalProperties: false,
  properties: {
    tenant: TENANT,
    id: RULE_ID,
    offer: { type: 'object', required: ['title', 'code'], additionalProperties: false, properties: { title: { type: 'string', maxLength: 200 }, code: { type: 'string', maxLength: 32 } } },
    when: { type: 'array', maxItems: 16, items: { type: 'object', maxProperties: 4 } },
  },
} as const;

export function offersRoutes(app: FastifyInstance, ctx: AppContext): void {
  const offers = ctx.credentials.offers;

  app.post(
    '/v1/offers/rules',
    { schema: { tags: ['offers'], summary: 'Create or replace an offer rule (all its conditions must hold). tenant-admin or issuer.', security: bearer, body: ruleBody, response: { 200: ruleSchema, ...errorResponses } } },
    async (req) => {
      const { tenant: named, ...rule } = req.body as { tenant?: string; id: string; offer: unknown; when: unknown };
      const { p, tenant } = await actingTenant(ctx, req, MANAGE, named);
      return offers.defineRule(tenant, rule, actorOf(p));
    },
  );

  app.get(
    '/v1/offers/rules',
    { schema: { tags: ['offers'], summary: 'The offer rules of a tenant.', security: bearer, querystring: tenantQuery, response: { 200: { type: 'array', items: ruleSchema }, ...errorResponses } } },
    async (req) => {
      const { tenant } = await actingTenant(ctx, req, [...MANAGE, 'auditor'], (req.query as { tenant?: string }).tenant);
      return offers.rules(tenant);
    },
  );

  app.get(
    '/v1/offers/rules/:id',
    { schema: { tags: ['offers'], summary: 'One offer rule.', security: bearer, params: ruleParams, querystring: tenantQuery, response: { 200: ruleSchema, ...errorResponses } } },
    async (req) => {
      const { tenant } = await actingTenant(ctx, req, [...MANAGE, 'auditor'], (req.query as { tenant?: string }).tenant);
      return offers.rule(tenant, (req.params as { id: string }).id);
    },
  );

  app.delete(
    '/v1/offers/rules/:id',
    { schema: { tags: ['offers'], summary: 'Delete an offer rule. tenant-admin or issuer.', security: bearer, params: ruleParams, querystring: tenantQuery, response: { 204: { type: 'null' }, ...errorResponses } } },
    async (req, reply) => {
      const { p, tenant } = await actingTenant(ctx, req, MANAGE, (req.query as { tenant?: string }).tenant);
      await offers.deleteRule(tenant, (req.params as { id: string }).id, actorOf(p));
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/offers/wallets/:id/attributes',
    {
      schema: {
        tags: ['offers'],
        summary: 'Set the holder attributes of a wallet (sealed at rest; rules see only what the holder consented to). tenant-admin or issuer.',
        security: bearer,
        params: walletParams,
        body: { type: 'object', required: ['attributes'], additionalProperties: false, properties: { tenant: TENANT, attributes: { type: 'object', maxProperties: 32, propertyNames: NAME, additionalProperties: SCALAR } } },
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body as { tenant?: string; attributes: object };
      const { p, tenant } = await actingTenant(ctx, req, MANAGE, body.tenant);
      await offers.setAttributes(tenant, (req.params as { id: string }).id, body.attributes, actorOf(p));
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/offers/wallets/:id/consents',
    {
      schema: {
        tags: ['offers'],
        summary:
          'Record the holder\'s consent to show attributes to the offer rules: an ES256 signature of the wallet SE key over ["citytrust/offer-consent/v1", tenant, wallet id, sorted attribute names, nonce] with a nonce from POST /v1/wallets/{id}/nonce. issuer.',
        security: bearer,
        params: walletParams,
        body: {
          type: 'object',
          required: ['attributes', 'nonce', 'signature'],
          additionalProperties: false,
          properties: { tenant: TENANT, attributes: { type: 'array', minItems: 1, maxItems: 32, items: NAME }, nonce: B64URL, signature: B64URL },
        },
        response: { 201: consentSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body as { tenant?: string; attributes: string[]; nonce: string; signature: string };
      const { p, tenant } = await actingTenant(ctx, req, MANAGE, body.tenant);
      return reply.status(201).send(await offers.grantConsent(tenant, (req.params as { id: string }).id, body.attributes, { nonce: body.nonce, signature: body.signature }, actorOf(p)));
    },
  );

  app.get(
    '/v1/offers/wallets/:id/consents',
    { schema: { tags: ['offers'], summary: 'The consents of a wallet, active and revoked.', security: bearer, params: walletParams, querystring: tenantQuery, response: { 200: { type: 'array', items: consentSchema }, ...errorResponses } } },
    async (req) => {
      const { tenant } = await actingTenant(ctx, req, [...MANAGE, 'auditor'], (req.query as { tenant?: string }).tenant);
      return offers.consents(tenant, (req.params as { id: string }).id);
    },
  );

  app.post(
    '/v1/offers/consents/:id/revoke',
    {
      schema: {
        tags: ['offers'],
        summary: 'Revoke a consent: its attributes stop reaching the rules at once. tenant-admin or issuer.',
        security: bearer,
        params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: CONSENT_ID } },
        body: { type: 'object', additionalProperties: false, properties: { tenant: TENANT } },
        response: { 200: consentSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { p, tenant } = await actingTenant(ctx, req, MANAGE, (req.body as { tenant?: string } | undefined)?.tenant);
      return offers.revokeConsent(tenant, (req.params as { id: string }).id, actorOf(p));
    },
  );

  app.post(
    '/v1/offers/wallets/:id/eligible',
    {
      schema: {
        tags: ['offers'],
        summary: 'The offers the holder is eligible for now, given a place and a context feed (e.g. weather). tenant-admin or issuer.',
        security: bearer,
        params: walletParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tenant: TENANT,
            place: { type: 'object', required: ['lat', 'lon'], additionalProperties: false, properties: { lat: { type: 'number', minimum: -90, maximum: 90 }, lon: { type: 'number', minimum: -180, maximum: 180 } } },
            feed: { type: 'object', maxProperties: 32, propertyNames: NAME, additionalProperties: SCALAR },
          },
        },
        response: { 200: { type: 'array', items: offerSchema }, ...errorResponses },
      },
    },
    async (req) => {
      const { tenant: named, ...context } = (req.body ?? {}) as { tenant?: string; place?: unknown; feed?: unknown };
      const { tenant } = await actingTenant(ctx, req, MANAGE, named);
      return offers.eligible(tenant, (req.params as { id: string }).id, context);
    },
  );
}
