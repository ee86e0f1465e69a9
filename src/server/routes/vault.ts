/**
 * The key vault over HTTP. The master key lives in the server process, so unsealing, sealing,
 * backup and tamper go through here (the CLI's `vault` commands call these routes).
 * Key material never appears in an answer: only ids, public keys and signatures.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CityTrustError } from '../../core/errors.ts';
import { fromBase64, toBase64 } from '../../core/bytes.ts';
import { actorOf, type Principal } from '../../access/roles.ts';
import { KEY_TYPES, type KeyInfo, type KeyType, type KeyUsage, type VaultCaller } from '../../vault/types.ts';
import type { AppContext } from '../context.ts';
import { requireRoles } from '../auth.ts';
import { bearer, errorResponses } from './schemas.ts';

const keyInfoSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    label: { type: 'string' },
    tenant: { type: ['string', 'null'] },
    usages: { type: 'array', items: { type: 'string' } },
    extractable: { type: 'boolean' },
    currentVersion: { type: 'integer' },
    versions: { type: 'array', items: { type: 'object', properties: { version: { type: 'integer' }, state: { type: 'string' }, createdAt: { type: 'integer' } } } },
    createdAt: { type: 'integer' },
    destroyedAt: { type: 'integer' },
  },
} as const;

const statusSchema = {
  type: 'object',
  properties: {
    backend: { type: 'string' },
    state: { type: 'string', enum: ['uninitialised', 'sealed', 'unsealed', 'tampered'] },
    unseal: { type: 'object', properties: { threshold: { type: 'integer' }, received: { type: 'integer' } } },
    tamper: { type: 'object', properties: { at: { type: 'integer' }, source: { type: 'string' }, reason: { type: 'string' } } },
  },
} as const;

const b64 = { type: 'string', maxLength: 1_400_000, pattern: '^[A-Za-z0-9+/]*={0,2}$' } as const;
const keyIdParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } } as const;
const tenantQuery = { type: 'object', additionalProperties: false, properties: { tenant: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$' } } } as const;

function keyView(k: KeyInfo): Record<string, unknown> {
  return {
    id: k.id,
    type: k.type,
    label: k.label,
    tenant: k.tenant,
    usages: k.usages,
    extractable: k.extractable,
    currentVersion: k.currentVersion,
    versions: k.versions,
    createdAt: k.createdAt,
    ...(k.destroyedAt !== undefined ? { destroyedAt: k.destroyedAt } : {}),
  };
}

function decode(s: string, what: string): Uint8Array {
  try {
    return fromBase64(s);
  } catch (e) {
    throw new CityTrustError('INPUT_INVALID', `${what} must be standard base64`, { cause: e });
  }
}

/**
 * The vault caller for a request: the principal's own tenant; a city-admin may act for a
 * tenant by naming it (`?tenant=`), which is the scope the vault then enforces.
 */
async function callerFor(ctx: AppContext, req: FastifyRequest, roles: Parameters<typeof requireRoles>[2]): Promise<{ p: Principal; caller: VaultCaller }> {
  const asked = (req.query as { tenant?: string } | undefined)?.tenant;
  const p = await requireRoles(ctx.tokens, req, roles, asked);
  return { p, caller: { actor: actorOf(p), tenant: asked ?? p.tenant } };
}

function cityOnly(ctx: AppContext, req: FastifyRequest): Promise<Principal> {
  return requireRoles(ctx.tokens, req, ['city-admin']);
}

function need<T>(ability: T | undefined, what: string): T {
  if (!ability) throw new CityTrustError('VAULT_UNSUPPORTED', `this vault backend does not support ${what}`);
  return ability;
}

export function vaultRoutes(app: FastifyInstance, ctx: AppContext): void {
  const v = ctx.vault;

  app.get(
    '/v1/vault/status',
    { schema: { tags: ['vault'], summary: 'Vault state: uninitialised, sealed (with unseal progress), unsealed or tampered.', security: bearer, response: { 200: statusSchema, ...errorResponses } } },
    async (req) => {
      await requireRoles(ctx.tokens, req, ['city-admin', 'tenant-admin', 'operator', 'auditor', 'issuer']);
      return v.status();
    },
  );

  app.post(
    '/v1/vault/unseal',
    {
      schema: {
        tags: ['vault'],
        summary: 'Submit one unseal share (city-admin). Repeated failures count as an attack and zeroize the vault.',
        security: bearer,
        body: { type: 'object', required: ['share'], additionalProperties: false, properties: { share: { type: 'string', minLength: 1, maxLength: 512 } } },
        response: { 200: { type: 'object', properties: { threshold: { type: 'integer' }, received: { type: 'integer' }, unsealed: { type: 'boolean' } } }, ...errorResponses },
      },
    },
    async (req) => {
      // A token is required: an anonymous unseal endpoint would let anyone zeroize the
      // vault by sending bad shares until the failure limit trips.
      await cityOnly(ctx, req);
      const r = await need(v.unseal?.bind(v), 'unsealing')((req.body as { share: string }).share);
      if (r.unsealed) await ctx.onVaultUnsealed();
      return r;
    },
  );

  app.post(
    '/v1/vault/seal',
    { schema: { tags: ['vault'], summary: 'Seal the vault: the master key and cached keys leave memory (city-admin).', security: bearer, response: { 200: statusSchema, ...errorResponses } } },
    async (req) => {
      const p = await cityOnly(ctx, req);
      await need(v.seal?.bind(v), 'sealing')({ actor: actorOf(p), tenant: null });
      ctx.checkpointSigner.unbind();
      return v.status();
    },
  );

  app.post(
    '/v1/vault/tamper',
    {
      schema: {
        tags: ['vault'],
        summary: 'Declare tampering: zeroize every key now (city-admin). Irreversible; recovery is `vault restore` from a backup.',
        security: bearer,
        body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } } },
        response: { 200: statusSchema, ...errorResponses },
      },
    },
    async (req) => {
      const p = await cityOnly(ctx, req);
      await need(v.tamper?.bind(v), 'tamper response')({ actor: actorOf(p), tenant: null }, 'api', (req.body as { reason: string }).reason);
      ctx.checkpointSigner.unbind();
      ctx.logger.fatal('vault zeroized by an API tamper call: restart the process so no key object survives in memory');
      return v.status();
    },
  );

  app.post(
    '/v1/vault/sensors',
    {
      schema: {
        tags: ['vault'],
        summary: 'Report a tamper-sensor reading (the enclosure monitor). A reading outside the safe ranges zeroizes the vault at once.',
        security: bearer,
        body: {
          oneOf: [
            { type: 'object', required: ['sensor', 'closed'], additionalProperties: false, properties: { sensor: { const: 'enclosure' }, closed: { type: 'boolean' } } },
            { type: 'object', required: ['sensor', 'celsius'], additionalProperties: false, properties: { sensor: { const: 'temperature' }, celsius: { type: 'number' } } },
            { type: 'object', required: ['sensor', 'volts'], additionalProperties: false, properties: { sensor: { const: 'voltage' }, volts: { type: 'number' } } },
          ],
        },
        response: { 200: statusSchema, ...errorResponses },
      },
    },
    async (req) => {
      await cityOnly(ctx, req);
      const feed = ctx.sensors;
      if (!feed) throw new CityTrustError('VAULT_UNSUPPORTED', 'tamper sensors are off (set vault.sensors to true)');
      await feed.report(req.body as Parameters<typeof feed.report>[0]);
      return v.status();
    },
  );

  app.get(
    '/v1/vault/keys',
    {
      schema: {
        tags: ['vault'],
        summary: "List keys of the caller's tenant (a city-admin names a tenant with ?tenant=, or sees the city's keys).",
        security: bearer,
        querystring: tenantQuery,
        response: { 200: { type: 'array', items: keyInfoSchema }, ...errorResponses },
      },
    },
    async (req) => {
      const { caller } = await callerFor(ctx, req, ['city-admin', 'tenant-admin', 'auditor']);
      return (await v.listKeys(caller)).map(keyView);
    },
  );

  app.post(
    '/v1/vault/keys',
    {
      schema: {
        tags: ['vault'],
        summary: 'Create a key in the vault (never extractable through the API).',
        security: bearer,
        querystring: tenantQuery,
        body: {
          type: 'object',
          required: ['type', 'label'],
          additionalProperties: false,
          properties: {
            type: { type: 'string', enum: [...KEY_TYPES] },
            label: { type: 'string', minLength: 1, maxLength: 200 },
            usages: { type: 'array', maxItems: 8, items: { type: 'string', enum: ['sign', 'verify', 'encrypt', 'decrypt', 'derive', 'mac', 'wrap', 'unwrap'] } },
          },
        },
        response: { 201: keyInfoSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { caller } = await callerFor(ctx, req, ['city-admin', 'tenant-admin']);
      const b = req.body as { type: KeyType; label: string; usages?: KeyUsage[] };
      const k = await v.createKey(caller, { type: b.type, label: b.label, ...(b.usages ? { usages: b.usages } : {}) });
      return reply.status(201).send(keyView(k));
    },
  );

  app.post(
    '/v1/vault/keys/:id/rotate',
    { schema: { tags: ['vault'], summary: 'Rotate a key: a new version signs/encrypts; old versions keep verify/decrypt only.', security: bearer, params: keyIdParams, querystring: tenantQuery, response: { 200: keyInfoSchema, ...errorResponses } } },
    async (req) => {
      const { caller } = await callerFor(ctx, req, ['city-admin', 'tenant-admin']);
      return keyView(await v.rotateKey(caller, (req.params as { id: string }).id));
    },
  );

  app.delete(
    '/v1/vault/keys/:id',
    { schema: { tags: ['vault'], summary: 'Destroy every version of a key (the id stays as a tombstone).', security: bearer, params: keyIdParams, querystring: tenantQuery, response: { 204: { type: 'null' }, ...errorResponses } } },
    async (req, reply) => {
      const { caller } = await callerFor(ctx, req, ['city-admin', 'tenant-admin']);
      await v.destroyKey(caller, (req.params as { id: string }).id);
      return reply.status(204).send();
    },
  );

  app.get(
    '/v1/vault/keys/:id/public',
    {
      schema: {
        tags: ['vault'],
        summary: 'Public key of an asymmetric key (SPKI DER and raw, base64).',
        security: bearer,
        params: keyIdParams,
        querystring: tenantQuery,
        response: { 200: { type: 'object', properties: { keyId: { type: 'string' }, version: { type: 'integer' }, type: { type: 'string' }, spki: { type: 'string' }, raw: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (req) => {
      const { caller } = await callerFor(ctx, req, ['city-admin', 'tenant-admin', 'issuer', 'operator', 'auditor']);
      const k = await v.publicKey(caller, (req.params as { id: string }).id);
      return { keyId: k.keyId, version: k.version, type: k.type, spki: toBase64(k.spki), raw: toBase64(k.raw) };
    },
  );

  app.post(
    '/v1/vault/keys/:id/sign',
    {
      schema: {
        tags: ['vault'],
        summary: 'Sign data (base64) with a key that has the sign usage; ECDSA needs format der or p1363.',
        security: bearer,
        params: keyIdParams,
        querystring: tenantQuery,
        body: { type: 'object', required: ['data'], additionalProperties: false, properties: { data: b64, format: { type: 'string', enum: ['der', 'p1363'] } } },
        response: { 200: { type: 'object', properties: { keyId: { type: 'string' }, version: { type: 'integer' }, signature: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (req) => {
      const { caller } = await callerFor(ctx, req, ['city-admin', 'tenant-admin', 'issuer', 'operator']);
      const b = req.body as { data: string; format?: 'der' | 'p1363' };
      const s = await v.sign(caller, (req.params as { id: string }).id, decode(b.data, 'data'), b.format ? { format: b.format } : {});
      return { keyId: s.keyId, version: s.version, signature: toBase64(s.signature) };
    },
  );

  app.post(
    '/v1/vault/keys/:id/verify',
    {
      schema: {
        tags: ['vault'],
        summary: 'Verify a signature with a vault key (any retained version).',
        security: bearer,
        params: keyIdParams,
        querystring: tenantQuery,
        body: {
          type: 'object',
          required: ['data', 'signature'],
          additionalProperties: false,
          properties: { data: b64, signature: b64, format: { type: 'string', enum: ['der', 'p1363'] }, version: { type: 'integer', minimum: 1 } },
        },
        response: { 200: { type: 'object', properties: { valid: { type: 'boolean' } } }, ...errorResponses },
      },
    },
    async (req) => {
      const { caller } = await callerFor(ctx, req, ['city-admin', 'tenant-admin', 'issuer', 'operator', 'auditor']);
      const b = req.body as { data: string; signature: string; format?: 'der' | 'p1363'; version?: number };
      const valid = await v.verify(caller, (req.params as { id: string }).id, decode(b.data, 'data'), decode(b.signature, 'signature'), {
        ...(b.format ? { format: b.format } : {}),
        ...(b.version ? { version: b.version } : {}),
      });
      return { valid };
    },
  );

  app.post(
    '/v1/vault/backup',
    {
      schema: {
        tags: ['vault'],
        summary: 'Export every key wrapped under a fresh backup key split into recovery shares (city-admin). Shares are in this answer once.',
        security: bearer,
        body: { type: 'object', required: ['shares', 'threshold'], additionalProperties: false, properties: { shares: { type: 'integer', minimum: 1, maximum: 255 }, threshold: { type: 'integer', minimum: 1, maximum: 255 } } },
        response: { 200: { type: 'object', properties: { archive: { type: 'string' }, shares: { type: 'array', items: { type: 'string' } }, keyCount: { type: 'integer' } } }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = await cityOnly(ctx, req);
      const b = req.body as { shares: number; threshold: number };
      const r = await need(v.backup?.bind(v), 'backup')({ actor: actorOf(p), tenant: null }, b);
      void reply.header('cache-control', 'no-store');
      return { archive: toBase64(r.archive), shares: r.shares, keyCount: r.keyCount };
    },
  );

  app.post(
    '/v1/vault/restore',
    {
      schema: {
        tags: ['vault'],
        summary: 'Restore keys (same ids) from a backup archive with enough recovery shares (city-admin; the vault must be unsealed).',
        security: bearer,
        body: {
          type: 'object',
          required: ['archive', 'shares'],
          additionalProperties: false,
          properties: { archive: b64, shares: { type: 'array', minItems: 1, maxItems: 255, items: { type: 'string', minLength: 1, maxLength: 512 } } },
        },
        response: { 200: { type: 'object', properties: { restored: { type: 'array', items: keyInfoSchema } } }, ...errorResponses },
      },
    },
    async (req) => {
      const p = await cityOnly(ctx, req);
      const b = req.body as { archive: string; shares: string[] };
      const keys = await need(v.restore?.bind(v), 'restore')({ actor: actorOf(p), tenant: null }, decode(b.archive, 'archive'), b.shares);
      await ctx.onVaultUnsealed();
      return { restored: keys.map(keyView) };
    },
  );
}
