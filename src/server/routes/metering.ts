/**
 * Metering over HTTP (docs/metering.md): tenant setup, the head-end keys meters pin, meters and
 * their customer data, readings, alerts, and commands with approvals. Frames themselves travel
 * over MQTT, not here. Roles: tenant-admin sets up; operators register meters and request,
 * approve and cancel commands; auditors read.
 */
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../access/roles.ts';
import { COMMAND_ACTIONS } from '../../metering/frame.ts';
import { METER_CLASSES } from '../../metering/plausibility.ts';
import { ALERT_KINDS } from '../../metering/alerts.ts';
import type { AppContext } from '../context.ts';
import { requireRoles } from '../auth.ts';
import { bearer, errorResponses, uintString } from './schemas.ts';

const TENANT = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$' } as const;
const METER_ID = { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' } as const;
const COMMAND_ID = { type: 'string', pattern: '^mc_[0-9a-f]{32}$' } as const;
const tenantParams = { type: 'object', required: ['tenant'], additionalProperties: false, properties: { tenant: TENANT } } as const;
const meterParams = { type: 'object', required: ['tenant', 'id'], additionalProperties: false, properties: { tenant: TENANT, id: METER_ID } } as const;
const commandParams = { type: 'object', required: ['tenant', 'id'], additionalProperties: false, properties: { tenant: TENANT, id: COMMAND_ID } } as const;

const meterSchema = {
  type: 'object',
  properties: {
    tenant: { type: 'string' },
    id: { type: 'string' },
    district: { type: 'string' },
    class: { type: 'string' },
    relay: { type: 'string' },
    state: { type: 'string' },
    lastCounter: { type: 'integer' },
    lastReadingAt: { type: ['integer', 'null'] },
    lastImportWh: { type: ['integer', 'null'] },
    lastExportWh: { type: ['integer', 'null'] },
    tariffId: { type: ['integer', 'null'] },
    createdAt: { type: 'integer' },
  },
} as const;

const customerSchema = { type: 'object', required: ['name', 'address', 'protected'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, address: { type: 'string', minLength: 1, maxLength: 200 }, protected: { type: 'boolean' } } } as const;

const headEndSchema = {
  type: 'object',
  properties: {
    tenant: { type: 'string' },
    keyAgreement: { type: 'object', properties: { keyId: { type: 'string' }, spki: { type: 'string' }, certificate: { type: 'string', description: 'head-end certificate (DER, base64) from the meters CA' } } },
    commandKeys: { type: 'array', items: { type: 'object', properties: { keyId: { type: 'string' }, spki: { type: 'string' }, certificate: { type: 'string', description: 'head-end-command certificate (DER, base64)' } } } },
    chain: { type: 'array', items: { type: 'string' }, description: 'CA certificates above them (DER, base64): meters CA, then the city root' },
  },
} as const;

const readingSchema = {
  type: 'object',
  properties: {
    counter: { type: 'integer' },
    meterTime: { type: 'integer' },
    receivedAt: { type: 'integer' },
    importWh: { type: 'integer' },
    exportWh: { type: 'integer' },
    powerW: { type: 'integer' },
    status: { type: 'integer' },
    flags: { type: 'array', items: { type: 'string' } },
  },
} as const;

const alertSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    tenant: { type: 'string' },
    meterId: { type: 'string' },
    kind: { type: 'string' },
    severity: { type: 'string' },
    count: { type: 'integer' },
    firstAt: { type: 'integer' },
    lastAt: { type: 'integer' },
    counter: { type: ['integer', 'null'] },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

const commandSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    tenant: { type: 'string' },
    action: { type: 'string' },
    args: { type: 'object', additionalProperties: true },
    reason: { type: 'string' },
    meterCount: { type: 'integer' },
    approvalsRequired: { type: 'integer' },
    approvals: { type: 'array', items: { type: 'string' } },
    state: { type: 'string' },
    refusal: { type: ['string', 'null'] },
    requestedBy: { type: 'string' },
    requestedAt: { type: 'integer' },
    approveBy: { type: 'integer' },
    dispatchedAt: { type: ['integer', 'null'] },
    expiresAt: { type: ['integer', 'null'] },
    targets: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          meterId: { type: 'string' },
          district: { type: 'string' },
          state: { type: 'string' },
          counter: { type: ['integer', 'null'] },
          result: { type: ['string', 'null'] },
          sentAt: { type: ['integer', 'null'] },
          ackedAt: { type: ['integer', 'null'] },
        },
      },
    },
  },
} as const;

const READERS = ['tenant-admin', 'operator', 'auditor'] as const;

export function meteringRoutes(app: FastifyInstance, ctx: AppContext): void {
  const m = ctx.metering;

  app.post(
    '/v1/metering/tenants/:tenant/setup',
    { schema: { tags: ['metering'], summary: 'Create the tenant head-end keys in the vault (key agreement, command signing, customer-data KEK); idempotent. tenant-admin.', security: bearer, params: tenantParams, response: { 200: headEndSchema, ...errorResponses } } },
    async (req) => {
      const { tenant } = req.params as { tenant: string };
      const p = await requireRoles(ctx.tokens, req, ['tenant-admin'], tenant);
      await m.keys.setup(tenant, actorOf(p));
      return m.keys.headEndInfo(tenant);
    },
  );

  app.get(
    '/v1/metering/tenants/:tenant/head-end',
    { schema: { tags: ['metering'], summary: 'The head-end public keys with their certificates from the meters CA and the chain to the city root; a meter validates them offline before it agrees a key or accepts a command. Public: no secret in it.', params: tenantParams, response: { 200: headEndSchema, ...errorResponses } } },
    async (req) => m.keys.headEndInfo((req.params as { tenant: string }).tenant),
  );

  app.post(
    '/v1/metering/tenants/:tenant/meters',
    {
      schema: {
        tags: ['metering'],
        summary: 'Register a meter (and its device, pending until it enrols) with its district, class and customer data (sealed at rest).',
        security: bearer,
        params: tenantParams,
        body: { type: 'object', required: ['id', 'district', 'class', 'customer'], additionalProperties: false, properties: { id: METER_ID, district: { type: 'string', maxLength: 63 }, class: { type: 'string', enum: Object.keys(METER_CLASSES) }, customer: customerSchema } },
        response: { 201: meterSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { tenant } = req.params as { tenant: string };
      const p = await requireRoles(ctx.tokens, req, ['tenant-admin', 'operator'], tenant);
      const b = req.body as { id: string; district: string; class: string; customer: unknown };
      return reply.status(201).send(await m.meters.register({ tenant, id: b.id, district: b.district, class: b.class, customer: b.customer }, actorOf(p)));
    },
  );

  app.get(
    '/v1/metering/tenants/:tenant/meters',
    {
      schema: {
        tags: ['metering'],
        summary: 'List meters (no customer data).',
        security: bearer,
        params: tenantParams,
        querystring: { type: 'object', additionalProperties: false, properties: { district: { type: 'string', maxLength: 63 }, after: METER_ID, limit: uintString } },
        response: { 200: { type: 'array', items: meterSchema }, ...errorResponses },
      },
    },
    async (req) => {
      const { tenant } = req.params as { tenant: string };
      const q = req.query as { district?: string; after?: string; limit?: string };
      const p = await requireRoles(ctx.tokens, req, READERS, tenant);
      return m.meters.list(p.tenant, tenant, { ...(q.district ? { district: q.district } : {}), ...(q.after ? { after: q.after } : {}), ...(q.limit ? { limit: Number(q.limit) } : {}) });
    },
  );

  app.get(
    '/v1/metering/tenants/:tenant/meters/:id',
    { schema: { tags: ['metering'], summary: 'One meter (no customer data).', security: bearer, params: meterParams, response: { 200: meterSchema, ...errorResponses } } },
    async (req) => {
      const { tenant, id } = req.params as { tenant: string; id: string };
      const p = await requireRoles(ctx.tokens, req, READERS, tenant);
      return m.meters.get(p.tenant, tenant, id);
    },
  );

  app.get(
    '/v1/metering/tenants/:tenant/meters/:id/customer',
    { schema: { tags: ['metering'], summary: 'The decrypted customer record of a meter; every read is audited.', security: bearer, params: meterParams, response: { 200: customerSchema, ...errorResponses } } },
    async (req) => {
      const { tenant, id } = req.params as { tenant: string; id: string };
      const p = await requireRoles(ctx.tokens, req, ['tenant-admin', 'operator'], tenant);
      return m.meters.customer(p.tenant, tenant, id, actorOf(p), 'api');
    },
  );

  app.get(
    '/v1/metering/tenants/:tenant/meters/:id/readings',
    {
      schema: {
        tags: ['metering'],
        summary: 'Stored readings of a meter in counter order, with their plausibility flags.',
        security: bearer,
        params: meterParams,
        querystring: { type: 'object', additionalProperties: false, properties: { after: uintString, limit: uintString } },
        response: { 200: { type: 'array', items: readingSchema }, ...errorResponses },
      },
    },
    async (req) => {
      const { tenant, id } = req.params as { tenant: string; id: string };
      const q = req.query as { after?: string; limit?: string };
      const p = await requireRoles(ctx.tokens, req, READERS, tenant);
      return m.readings(p.tenant, tenant, id, { ...(q.after ? { since: Number(q.after) } : {}), ...(q.limit ? { limit: Number(q.limit) } : {}) });
    },
  );

  app.get(
    '/v1/metering/tenants/:tenant/alerts',
    {
      schema: {
        tags: ['metering'],
        summary: 'Alerts: refused frames, implausible readings, tamper events, refused commands (newest first).',
        security: bearer,
        params: tenantParams,
        querystring: { type: 'object', additionalProperties: false, properties: { meter: METER_ID, kind: { type: 'string', enum: Object.keys(ALERT_KINDS) }, severity: { type: 'string', enum: ['info', 'warning', 'critical'] }, since: uintString, limit: uintString } },
        response: { 200: { type: 'array', items: alertSchema }, ...errorResponses },
      },
    },
    async (req) => {
      const { tenant } = req.params as { tenant: string };
      const q = req.query as { meter?: string; kind?: string; severity?: string; since?: string; limit?: string };
      const p = await requireRoles(ctx.tokens, req, READERS, tenant);
      return m.alerts(p.tenant, tenant, {
        ...(q.meter ? { meterId: q.meter } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
        ...(q.severity ? { severity: q.severity } : {}),
        ...(q.since ? { since: Number(q.since) } : {}),
        ...(q.limit ? { limit: Number(q.limit) } : {}),
      });
    },
  );

  app.post(
    '/v1/metering/tenants/:tenant/commands',
    {
      schema: {
        tags: ['metering'],
        summary: 'Request a command (operator). Dispatched at once unless it needs approvals (protected customers, more than N meters); refused by the blackout guard beyond its budget.',
        security: bearer,
        params: tenantParams,
        body: {
          type: 'object',
          required: ['action', 'meters', 'reason'],
          additionalProperties: false,
          properties: {
            action: { type: 'string', enum: [...COMMAND_ACTIONS] },
            meters: { type: 'array', minItems: 1, maxItems: 10_000, items: METER_ID },
            args: { type: 'object', additionalProperties: false, properties: { tariffId: { type: 'integer', minimum: 0, maximum: 4_294_967_295 }, activateAt: { type: 'integer', minimum: 0 } } },
            reason: { type: 'string', minLength: 1, maxLength: 500 },
          },
        },
        response: { 201: commandSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { tenant } = req.params as { tenant: string };
      const p = await requireRoles(ctx.tokens, req, ['operator'], tenant);
      const body = req.body as { action: string; meters: string[]; args?: unknown; reason: string };
      return reply.status(201).send(await m.commands.request({ tenant, action: body.action, meters: body.meters, ...(body.args !== undefined ? { args: body.args } : {}), reason: body.reason }, actorOf(p)));
    },
  );

  app.get(
    '/v1/metering/tenants/:tenant/commands',
    {
      schema: {
        tags: ['metering'],
        summary: 'Commands, newest first.',
        security: bearer,
        params: tenantParams,
        querystring: { type: 'object', additionalProperties: false, properties: { state: { type: 'string', enum: ['awaiting-approval', 'dispatched', 'refused', 'cancelled', 'expired'] }, limit: uintString } },
        response: { 200: { type: 'array', items: commandSchema }, ...errorResponses },
      },
    },
    async (req) => {
      const { tenant } = req.params as { tenant: string };
      const q = req.query as { state?: string; limit?: string };
      const p = await requireRoles(ctx.tokens, req, READERS, tenant);
      return m.commands.list(p.tenant, tenant, { ...(q.state ? { state: q.state } : {}), ...(q.limit ? { limit: Number(q.limit) } : {}) });
    },
  );

  app.get(
    '/v1/metering/tenants/:tenant/commands/:id',
    { schema: { tags: ['metering'], summary: 'One command with its approvals and per-meter targets (counter, state, ack result).', security: bearer, params: commandParams, response: { 200: commandSchema, ...errorResponses } } },
    async (req) => {
      const { tenant, id } = req.params as { tenant: string; id: string };
      const p = await requireRoles(ctx.tokens, req, READERS, tenant);
      return m.commands.get(p.tenant, tenant, id);
    },
  );

  for (const [verb, summary] of [
    ['approve', 'Approve a command (an operator other than the requester, once each); the last approval needed dispatches it.'],
    ['cancel', 'Cancel a command still awaiting approval.'],
    ['dispatch', 'Dispatch an approved command again after the MQTT transport was unavailable.'],
  ] as const) {
    app.post(`/v1/metering/tenants/:tenant/commands/:id/${verb}`, { schema: { tags: ['metering'], summary, security: bearer, params: commandParams, response: { 200: commandSchema, ...errorResponses } } }, async (req) => {
      const { tenant, id } = req.params as { tenant: string; id: string };
      const p = await requireRoles(ctx.tokens, req, ['operator'], tenant);
      return m.commands[verb](p.tenant, tenant, id, actorOf(p));
    });
  }
}
