/** The device registry over HTTP: register, list, show, change state, issue bootstrap tokens. */
import type { FastifyInstance } from 'fastify';
import { actorOf, tenantScope } from '../../access/roles.ts';
import { DEVICE_STATES, DEVICE_TYPES, type DeviceState, type DeviceType } from '../../devices/index.ts';
import type { AppContext } from '../context.ts';
import { requireRoles } from '../auth.ts';
import { bearer, errorResponses, uintString } from './schemas.ts';

const deviceSchema = {
  type: 'object',
  properties: {
    tenant: { type: 'string' },
    id: { type: 'string' },
    type: { type: 'string' },
    site: { type: 'string' },
    label: { type: 'string' },
    state: { type: 'string' },
    createdAt: { type: 'integer' },
    updatedAt: { type: 'integer' },
    firmware: { type: 'object', additionalProperties: { type: 'string' }, description: 'Installed artifacts (name → version) from the last signed install report.' },
    firmwareReportedAt: { type: ['integer', 'null'] },
  },
} as const;

const deviceParams = {
  type: 'object',
  required: ['tenant', 'id'],
  additionalProperties: false,
  properties: { tenant: { type: 'string', maxLength: 40 }, id: { type: 'string', maxLength: 63 } },
} as const;

export function deviceRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post(
    '/v1/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'Register a device (state pending until it enrols).',
        security: bearer,
        body: {
          type: 'object',
          required: ['tenant', 'id', 'type', 'site'],
          additionalProperties: false,
          properties: {
            tenant: { type: 'string', maxLength: 40 },
            id: { type: 'string', maxLength: 63 },
            type: { type: 'string', enum: [...DEVICE_TYPES] },
            site: { type: 'string', maxLength: 100 },
            label: { type: 'string', maxLength: 200 },
          },
        },
        response: { 201: deviceSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body as { tenant: string; id: string; type: string; site: string; label?: string };
      const p = await requireRoles(ctx.tokens, req, ['tenant-admin', 'operator'], body.tenant);
      return reply.status(201).send(await ctx.devices.register(body, actorOf(p)));
    },
  );

  app.get(
    '/v1/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'List devices; a tenant token sees its own.',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tenant: { type: 'string', maxLength: 40 },
            state: { type: 'string', enum: [...DEVICE_STATES] },
            type: { type: 'string', enum: [...DEVICE_TYPES] },
            site: { type: 'string', maxLength: 100 },
            limit: uintString,
          },
        },
        response: { 200: { type: 'array', items: deviceSchema }, ...errorResponses },
      },
    },
    async (req) => {
      const p = await requireRoles(ctx.tokens, req, ['tenant-admin', 'operator', 'issuer', 'auditor']);
      const q = req.query as { tenant?: string; state?: DeviceState; type?: DeviceType; site?: string; limit?: string };
      return ctx.devices.list(tenantScope(p), { ...q, ...(q.limit ? { limit: Number(q.limit) } : {}) } as Parameters<typeof ctx.devices.list>[1]);
    },
  );

  app.get('/v1/devices/:tenant/:id', { schema: { tags: ['devices'], summary: 'One device.', security: bearer, params: deviceParams, response: { 200: deviceSchema, ...errorResponses } } }, async (req) => {
    const p = await requireRoles(ctx.tokens, req, ['tenant-admin', 'operator', 'issuer', 'auditor']);
    const { tenant, id } = req.params as { tenant: string; id: string };
    return ctx.devices.get(tenantScope(p), tenant, id);
  });

  app.post(
    '/v1/devices/:tenant/:id/state',
    {
      schema: {
        tags: ['devices'],
        summary: 'Change a device state. compromised revokes every certificate (keyCompromise); retired revokes them; suspended puts them on hold; active releases the hold.',
        security: bearer,
        params: deviceParams,
        body: { type: 'object', required: ['state'], additionalProperties: false, properties: { state: { type: 'string', enum: [...DEVICE_STATES] } } },
        response: { 200: deviceSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { tenant, id } = req.params as { tenant: string; id: string };
      const p = await requireRoles(ctx.tokens, req, ['tenant-admin', 'operator'], tenant);
      return ctx.devices.setState(tenantScope(p), tenant, id, (req.body as { state: string }).state, actorOf(p));
    },
  );

  app.post(
    '/v1/devices/:tenant/:id/bootstrap',
    {
      schema: {
        tags: ['devices'],
        summary: 'A one-time bootstrap token for the device\'s enrolment. The token is in the answer once and never again.',
        security: bearer,
        params: deviceParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: { ttlSeconds: { type: 'integer', minimum: 60, maximum: 7776000 } } },
        response: {
          201: { type: 'object', properties: { token: { type: 'string' }, id: { type: 'string' }, tenant: { type: 'string' }, deviceId: { type: 'string' }, expiresAt: { type: 'integer' } } },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const { tenant, id } = req.params as { tenant: string; id: string };
      const p = await requireRoles(ctx.tokens, req, ['tenant-admin', 'operator'], tenant);
      const ttl = (req.body as { ttlSeconds?: number } | null | undefined)?.ttlSeconds;
      const created = await ctx.bootstrap.create(tenantScope(p), tenant, id, actorOf(p), ttl);
      void reply.header('cache-control', 'no-store');
      return reply.status(201).send(created);
    },
  );
}
