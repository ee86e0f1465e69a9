/** Credentials: issuer keys, trust list, templates, issuance and lifecycle (docs/credential-format.md). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CityTrustError } from '../../core/errors.ts';
import { toBase64Url } from '../../core/bytes.ts';
import { actorOf, tenantScope, type Principal, type Role } from '../../access/roles.ts';
import type { AppContext } from '../context.ts';
import { requireRoles } from '../auth.ts';
import { bearer, errorResponses, uintString } from './schemas.ts';

const TENANT = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$' } as const;
const CRED_ID = { type: 'string', pattern: '^[0-9a-f]{16}$' } as const;
const SECONDS = { type: 'integer', minimum: 0, maximum: 1099511627776 } as const;

export const grantsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    resources: { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 256 } },
    zones: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 64 } },
    schedule: { type: 'array', maxItems: 28, items: { type: 'array', minItems: 3, maxItems: 3, items: { type: 'integer' } } },
    timeZone: { type: 'string', maxLength: 64 },
    class: { type: 'integer' },
    uses: { type: 'integer' },
    attributes: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 64 } },
    userVerificationSeconds: { type: 'integer' },
  },
} as const;

const credentialSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    tenant: { type: 'string' },
    template: { type: ['string', 'null'] },
    wallet: { type: 'string' },
    status: { type: 'string', enum: ['active', 'suspended', 'revoked'] },
    statusList: { type: 'string' },
    statusIndex: { type: 'integer' },
    issuerKid: { type: 'string' },
    issuedAt: { type: 'integer' },
    validFrom: { type: 'integer' },
    validUntil: { type: 'integer' },
    size: { type: 'integer' },
    replaces: { type: ['string', 'null'] },
    replacedBy: { type: ['string', 'null'] },
    reason: { type: ['string', 'null'] },
    credential: { type: 'string', description: 'the COSE_Sign1 CWT, base64url' },
    holder: { type: 'object', properties: { name: { type: 'string' }, email: { type: 'string' } } },
  },
} as const;

const issuerKeySchema = {
  type: 'object',
  properties: {
    kid: { type: 'string' },
    tenant: { type: 'string' },
    alg: { type: 'string' },
    state: { type: 'string' },
    createdAt: { type: 'integer' },
    retiredAt: { type: ['integer', 'null'] },
    certificateExpiresAt: { type: 'integer' },
    lastCredentialExpiry: { type: 'integer' },
  },
} as const;

const templateSchema = {
  type: 'object',
  properties: { tenant: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' }, validitySeconds: { type: 'integer' }, grants: { type: 'object', additionalProperties: true }, createdAt: { type: 'integer' } },
} as const;

/**
 * The tenant a request acts for: the one named, checked against the token, or the token's own.
 * A city-wide token must name it.
 */
export async function actingTenant(ctx: AppContext, req: FastifyRequest, roles: readonly Role[], named: string | undefined): Promise<{ p: Principal; tenant: string }> {
  const p = await requireRoles(ctx.tokens, req, roles, named);
  const tenant = named ?? p.tenant;
  if (tenant === null || tenant === undefined) throw new CityTrustError('INPUT_INVALID', 'name the tenant');
  await ctx.tenants.get(tenant);
  return { p, tenant };
}

const idParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: CRED_ID } } as const;
const reasonBody = { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 200 } } } as const;

export function credentialsRoutes(app: FastifyInstance, ctx: AppContext): void {
  const svc = ctx.credentials;

  app.post(
    '/v1/credentials/issuer-keys',
    {
      schema: {
        tags: ['credentials'],
        summary: 'Create or rotate the tenant issuer key (certified by the city root). tenant-admin.',
        security: bearer,
        body: { type: 'object', required: ['tenant'], additionalProperties: false, properties: { tenant: TENANT, alg: { type: 'string', enum: ['ES256', 'EdDSA'] } } },
        response: { 201: issuerKeySchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body as { tenant: string; alg?: 'ES256' | 'EdDSA' };
      const { p, tenant } = await actingTenant(ctx, req, ['tenant-admin'], body.tenant);
      return reply.status(201).send(await svc.rotateIssuerKey(tenant, body.alg ?? 'ES256', actorOf(p)));
    },
  );

  app.get(
    '/v1/credentials/issuer-keys',
    {
      schema: {
        tags: ['credentials'],
        summary: 'List issuer keys (current and retired).',
        security: bearer,
        querystring: { type: 'object', additionalProperties: false, properties: { tenant: TENANT } },
        response: { 200: { type: 'array', items: issuerKeySchema }, ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query as { tenant?: string };
      const p = await requireRoles(ctx.tokens, req, ['tenant-admin', 'issuer', 'auditor'], q.tenant);
      return svc.issuerKeys.list(q.tenant ?? tenantScope(p));
    },
  );

  const rootKey = { type: 'object', properties: { kid: { type: 'string' }, alg: { type: 'string' }, spki: { type: 'string' } } } as const;
  app.get(
    '/v1/credentials/root',
    {
      schema: {
        tags: ['credentials'],
        summary: 'The credential root, and the city PKI root that certifies it: readers pin the city root (public; compare its fingerprint out of band).',
        response: {
          200: {
            type: 'object',
            properties: {
              ...rootKey.properties,
              certificate: { type: ['string', 'null'], description: 'the city root’s certificate for the credential root (COSE_Sign1 CWT, application/ct-root+cwt), base64url; null before `ca init`' },
              cityRoot: { anyOf: [{ type: 'null' }, { type: 'object', properties: { ...rootKey.properties, certificate: { type: 'string', description: 'the city root CA certificate, DER, base64url' } } }] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async () => {
      const root = await svc.root.get();
      const c = await svc.root.certificate();
      return {
        kid: Buffer.from(root.kid).toString('hex'),
        alg: 'ES256',
        spki: toBase64Url(root.spki),
        certificate: c ? toBase64Url(c.certificate) : null,
        cityRoot: c ? { kid: Buffer.from(c.cityRoot.kid).toString('hex'), alg: c.cityRoot.alg, spki: toBase64Url(c.cityRoot.spki), certificate: toBase64Url(c.cityRoot.certificate) } : null,
      };
    },
  );

  app.get(
    '/v1/credentials/trust',
    { schema: { tags: ['credentials'], summary: 'The trust list (COSE_Sign1 CWT, application/ct-trust+cwt): every issuer certificate in force. Public.' } },
    async (_req, reply) => {
      const t = await svc.trustLists.current();
      return reply.header('content-type', 'application/ct-trust+cwt').header('cache-control', 'public, max-age=60').send(Buffer.from(t.token));
    },
  );

  app.post(
    '/v1/credentials/templates',
    {
      schema: {
        tags: ['credentials'],
        summary: 'Create a credential template (a product). tenant-admin or issuer.',
        security: bearer,
        body: {
          type: 'object',
          required: ['tenant', 'id', 'name', 'validitySeconds', 'grants'],
          additionalProperties: false,
          properties: { tenant: TENANT, id: { type: 'string', maxLength: 63 }, name: { type: 'string', maxLength: 200 }, validitySeconds: { type: 'integer' }, grants: grantsSchema },
        },
        response: { 201: templateSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body as { tenant: string; id: string; name: string; validitySeconds: number; grants: object };
      const { p, tenant } = await actingTenant(ctx, req, ['tenant-admin', 'issuer'], body.tenant);
      return reply.status(201).send(await svc.templates.create(tenant, body, actorOf(p)));
    },
  );

  app.get(
    '/v1/credentials/templates',
    {
      schema: {
        tags: ['credentials'],
        summary: 'List templates.',
        security: bearer,
        querystring: { type: 'object', additionalProperties: false, properties: { tenant: TENANT } },
        response: { 200: { type: 'array', items: templateSchema }, ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query as { tenant?: string };
      const p = await requireRoles(ctx.tokens, req, ['tenant-admin', 'issuer', 'auditor'], q.tenant);
      return svc.templates.list(q.tenant ?? tenantScope(p));
    },
  );

  app.post(
    '/v1/credentials',
    {
      schema: {
        tags: ['credentials'],
        summary: 'Issue a credential to a wallet: signed, given a status slot, sealed to the wallet and queued for sync. issuer.',
        security: bearer,
        body: {
          type: 'object',
          required: ['tenant', 'walletId'],
          additionalProperties: false,
          properties: {
            tenant: TENANT,
            walletId: { type: 'string', maxLength: 64 },
            template: { type: 'string', maxLength: 63 },
            grants: grantsSchema,
            validFrom: SECONDS,
            validUntil: SECONDS,
            subject: { type: 'string', maxLength: 64 },
            holder: { type: 'object', additionalProperties: false, properties: { name: { type: 'string', maxLength: 200 }, email: { type: 'string', maxLength: 320 } } },
          },
        },
        response: { 201: credentialSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body as { tenant: string } & Record<string, unknown>;
      const { p, tenant } = await actingTenant(ctx, req, ['issuer'], body.tenant);
      const { tenant: _t, ...input } = body;
      void _t;
      return reply.status(201).send(await svc.issuer.issue(tenant, input as { walletId: unknown }, actorOf(p)));
    },
  );

  app.get(
    '/v1/credentials',
    {
      schema: {
        tags: ['credentials'],
        summary: 'List and filter credentials (by status, wallet, template or holder e-mail via its keyed hash).',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tenant: TENANT,
            status: { type: 'string', enum: ['active', 'suspended', 'revoked'] },
            wallet: { type: 'string', maxLength: 64 },
            template: { type: 'string', maxLength: 63 },
            holderEmail: { type: 'string', maxLength: 320 },
            limit: uintString,
            after: CRED_ID,
          },
        },
        response: { 200: { type: 'array', items: credentialSchema }, ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query as { tenant?: string; status?: 'active'; wallet?: string; template?: string; holderEmail?: string; limit?: string; after?: string };
      const p = await requireRoles(ctx.tokens, req, ['issuer', 'tenant-admin', 'auditor'], q.tenant);
      const { tenant, limit, ...filter } = q;
      return svc.issuer.list(tenant ?? tenantScope(p), { ...filter, ...(limit !== undefined && { limit: Number(limit) }) });
    },
  );

  app.get(
    '/v1/credentials/:id',
    {
      schema: {
        tags: ['credentials'],
        summary: 'One credential with its bytes; holder=true decrypts the holder data (audited).',
        security: bearer,
        params: idParams,
        querystring: { type: 'object', additionalProperties: false, properties: { holder: { type: 'string', enum: ['true', 'false'] } } },
        response: { 200: credentialSchema, ...errorResponses },
      },
    },
    async (req) => {
      const p = await requireRoles(ctx.tokens, req, ['issuer', 'tenant-admin', 'auditor']);
      const { id } = req.params as { id: string };
      const withHolder = (req.query as { holder?: string }).holder === 'true';
      if (withHolder && !p.roles.some((r) => r === 'issuer' || r === 'tenant-admin' || r === 'city-admin')) throw new CityTrustError('AUTH_FORBIDDEN', 'reading holder data needs the issuer or tenant-admin role');
      return svc.issuer.get(tenantScope(p), id, { withHolder, actor: actorOf(p) });
    },
  );

  const lifecycle = (verb: 'suspend' | 'resume' | 'revoke', summary: string) =>
    app.post(
      `/v1/credentials/:id/${verb}`,
      { schema: { tags: ['credentials'], summary, security: bearer, params: idParams, body: reasonBody, response: { 200: credentialSchema, ...errorResponses } } },
      async (req) => {
        const p = await requireRoles(ctx.tokens, req, ['issuer']);
        const { id } = req.params as { id: string };
        const tenant = await ownerOf(ctx, p, id);
        return svc.issuer[verb](tenant, id, actorOf(p), (req.body as { reason?: string } | undefined)?.reason);
      },
    );
  lifecycle('suspend', 'Suspend a credential (status list value 2, wallet notified). issuer.');
  lifecycle('resume', 'Resume a suspended credential. issuer.');
  lifecycle('revoke', 'Revoke a credential for good (status list value 1, wallet notified). issuer.');

  app.post(
    '/v1/credentials/:id/update',
    {
      schema: {
        tags: ['credentials'],
        summary: 'Re-issue with new grants or validity and revoke the old credential, atomically. issuer.',
        security: bearer,
        params: idParams,
        body: { type: 'object', additionalProperties: false, properties: { grants: grantsSchema, validFrom: SECONDS, validUntil: SECONDS, subject: { type: 'string', maxLength: 64 } } },
        response: { 201: credentialSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = await requireRoles(ctx.tokens, req, ['issuer']);
      const { id } = req.params as { id: string };
      const tenant = await ownerOf(ctx, p, id);
      return reply.status(201).send(await svc.issuer.update(tenant, id, (req.body ?? {}) as object, actorOf(p)));
    },
  );
}

/** The tenant of a credential as the principal may see it (foreign ids answer CREDENTIAL_NOT_FOUND). */
async function ownerOf(ctx: AppContext, p: Principal, id: string): Promise<string> {
  const c = await ctx.credentials.issuer.get(tenantScope(p), id);
  return c.tenant;
}
