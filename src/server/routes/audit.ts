/** The audit log: checkpoints, proofs, events (auditor role), and operator annotations. */
import type { FastifyInstance } from 'fastify';
import { toBase64 } from '../../core/bytes.ts';
import { tenantScope, actorOf } from '../../access/roles.ts';
import type { AppContext } from '../context.ts';
import { requireRoles } from '../auth.ts';
import { bearer, errorResponses, uintString } from './schemas.ts';

const b64 = { type: 'string', description: 'standard base64' } as const;

export function auditRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get(
    '/v1/audit/checkpoint',
    {
      schema: {
        tags: ['audit'],
        summary: 'The latest signed checkpoint (C2SP signed-note) and the log verifier key.',
        security: bearer,
        response: {
          200: { type: 'object', properties: { size: { type: 'integer' }, root: b64, note: { type: 'string' }, origin: { type: 'string' }, keyName: { type: 'string' }, publicKey: b64, createdAt: { type: ['integer', 'null'], description: 'When the checkpoint was signed (ms since the epoch; null before the first)' } } },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      await requireRoles(ctx.tokens, req, ['auditor']);
      const c = (await ctx.audit.latestCheckpoint()) ?? (await ctx.audit.checkpoint()) ?? (await ctx.audit.latestCheckpoint());
      const v = ctx.audit.verifier;
      return {
        size: c?.size ?? 0,
        root: c ? toBase64(c.root) : '',
        note: c?.note ?? '',
        origin: ctx.audit.origin,
        keyName: v.name,
        publicKey: toBase64(v.publicKey),
        createdAt: c?.createdAt ?? null,
      };
    },
  );

  app.get(
    '/v1/audit/proof/inclusion',
    {
      schema: {
        tags: ['audit'],
        summary: 'RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves.',
        security: bearer,
        querystring: { type: 'object', required: ['index', 'size'], additionalProperties: false, properties: { index: uintString, size: uintString } },
        response: { 200: { type: 'object', properties: { index: { type: 'integer' }, size: { type: 'integer' }, leafHash: b64, root: b64, proof: { type: 'array', items: b64 } } }, ...errorResponses },
      },
    },
    async (req) => {
      await requireRoles(ctx.tokens, req, ['auditor']);
      const q = req.query as { index: string; size: string };
      const index = Number(q.index);
      const size = Number(q.size);
      const p = await ctx.audit.inclusionProof(index, size);
      return { index, size, leafHash: toBase64(p.leafHash), root: toBase64(p.root), proof: p.proof.map(toBase64) };
    },
  );

  app.get(
    '/v1/audit/proof/consistency',
    {
      schema: {
        tags: ['audit'],
        summary: 'RFC 9162 consistency proof between tree sizes `from` and `to`.',
        security: bearer,
        querystring: { type: 'object', required: ['from', 'to'], additionalProperties: false, properties: { from: uintString, to: uintString } },
        response: { 200: { type: 'object', properties: { from: { type: 'integer' }, to: { type: 'integer' }, proof: { type: 'array', items: b64 } } }, ...errorResponses },
      },
    },
    async (req) => {
      await requireRoles(ctx.tokens, req, ['auditor']);
      const q = req.query as { from: string; to: string };
      const from = Number(q.from);
      const to = Number(q.to);
      return { from, to, proof: (await ctx.audit.consistencyProof(from, to)).map(toBase64) };
    },
  );

  app.get(
    '/v1/audit/events',
    {
      schema: {
        tags: ['audit'],
        summary: 'A page of audit events after `after` (exclusive). Tenant auditors see only their tenant.',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after: uintString, limit: { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$' }, action: { type: 'string', maxLength: 100 } },
        },
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                seq: { type: 'integer' },
                ts: { type: 'integer' },
                tenant: { type: ['string', 'null'] },
                actor: { type: 'string' },
                action: { type: 'string' },
                subject: { type: 'string' },
                details: { type: 'string', description: 'canonical JSON' },
                leafHash: b64,
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = await requireRoles(ctx.tokens, req, ['auditor']);
      const q = req.query as { after?: string; limit?: string; action?: string };
      const events = await ctx.audit.events({
        tenant: tenantScope(p),
        ...(q.after !== undefined ? { after: Number(q.after) } : {}),
        ...(q.limit !== undefined ? { limit: Number(q.limit) } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
      });
      return events.map((e) => ({ ...e, leafHash: toBase64(e.leafHash) }));
    },
  );

  app.post(
    '/v1/audit/annotations',
    {
      schema: {
        tags: ['audit'],
        summary: 'Record an operator annotation (e.g. "key ceremony held", "maintenance window") in the log. Answers once durable.',
        security: bearer,
        body: {
          type: 'object',
          required: ['subject', 'text'],
          additionalProperties: false,
          properties: { subject: { type: 'string', minLength: 1, maxLength: 200 }, text: { type: 'string', minLength: 1, maxLength: 1000 } },
        },
        response: { 201: { type: 'object', properties: { index: { type: 'integer' } } }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = await requireRoles(ctx.tokens, req, ['city-admin', 'tenant-admin', 'operator']);
      const b = req.body as { subject: string; text: string };
      const r = await ctx.audit.append({ actor: actorOf(p), tenant: p.tenant, action: 'audit.annotation', subject: b.subject, details: { text: b.text } });
      return reply.status(201).send(r);
    },
  );
}
