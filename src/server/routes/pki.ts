/**
 * PKI over HTTP: CA hierarchy, operator issuance and revocation, device enrolment (REST),
 * renewal over mTLS, and the public distribution points — CA certificates, CRLs and the OCSP
 * responder (RFC 6960 Appendix A: POST application/ocsp-request, GET base64 in the path).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf, tenantScope } from '../../access/roles.ts';
import { CityTrustError } from '../../core/errors.ts';
import { OCSP_STATUS, OPERATOR_PROFILES } from '../../pki/index.ts';
import type { IssuedCertificate, OcspAnswer, Pki } from '../../pki/index.ts';
import { OCSP_MAX_REQUEST_BYTES, ocspErrorResponse } from '../../pki/ocsp.ts';
import type { AppContext } from '../context.ts';
import { requireRoles } from '../auth.ts';
import { bearer, errorResponses, uintString } from './schemas.ts';

/** The client certificate of a TLS connection as DER, if the peer sent one. */
export function clientCertificate(req: FastifyRequest): Uint8Array | undefined {
  const socket = req.raw.socket as Partial<TLSSocket>;
  if (!socket.encrypted || typeof socket.getPeerCertificate !== 'function') return undefined;
  const c = socket.getPeerCertificate(false);
  return c && c.raw ? new Uint8Array(c.raw) : undefined;
}

export const issuedSchema = {
  type: 'object',
  properties: {
    serial: { type: 'string' },
    caId: { type: 'string' },
    profile: { type: 'string' },
    tenant: { type: ['string', 'null'] },
    deviceId: { type: ['string', 'null'] },
    subject: { type: 'string' },
    sans: { type: 'array', items: { type: 'string' } },
    notBefore: { type: 'integer' },
    notAfter: { type: 'integer' },
    certificatePem: { type: 'string' },
    chainPem: { type: 'array', items: { type: 'string' } },
  },
} as const;

const certSchema = {
  type: 'object',
  properties: {
    serial: { type: 'string' },
    caId: { type: 'string' },
    tenant: { type: ['string', 'null'] },
    deviceId: { type: ['string', 'null'] },
    profile: { type: 'string' },
    subject: { type: 'string' },
    sans: { type: 'array', items: { type: 'string' } },
    notBefore: { type: 'integer' },
    notAfter: { type: 'integer' },
    status: { type: 'string' },
    revokedAt: { type: ['integer', 'null'] },
    reason: { type: ['string', 'null'] },
    createdAt: { type: 'integer' },
    createdBy: { type: 'string' },
    fingerprint: { type: 'string' },
    certificatePem: { type: 'string' },
  },
} as const;

const caSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    purpose: { type: 'string' },
    generation: { type: 'integer' },
    parentId: { type: ['string', 'null'] },
    keyId: { type: 'string' },
    keyType: { type: 'string' },
    serial: { type: 'string' },
    subject: { type: 'string' },
    notBefore: { type: 'integer' },
    notAfter: { type: 'integer' },
    state: { type: 'string' },
    certificatePem: { type: 'string' },
  },
} as const;

const csrString = { type: 'string', minLength: 1, maxLength: 16384, description: 'PKCS#10 CSR in PEM (or base64 DER)' } as const;
const serialParam = { type: 'object', required: ['serial'], additionalProperties: false, properties: { serial: { type: 'string', maxLength: 64 } } } as const;

function issuedBody(i: IssuedCertificate): Omit<IssuedCertificate, 'der'> {
  const { der: _der, ...rest } = i;
  return rest;
}

function sendOcsp(reply: FastifyReply, a: OcspAnswer, get: boolean): FastifyReply {
  void reply.header('content-type', 'application/ocsp-response');
  if (a.code) void reply.header('x-citytrust-code', a.code);
  // RFC 5019 §6.2: GET answers may be cached by HTTP caches until they go stale.
  void reply.header('cache-control', get && a.maxAge !== undefined && a.maxAge > 0 ? `max-age=${a.maxAge}, public, no-transform, must-revalidate` : 'no-cache');
  return reply.status(200).send(Buffer.from(a.der));
}

/**
 * The OCSP responder's fast path. OCSP is the hottest public endpoint (every relying party,
 * every handshake) and its answers are pre-signed, so the cost is all in the HTTP framework:
 * through Fastify's hooks (security headers, metrics, rate limiting, request ids) a cached
 * answer costs ~5x what the responder itself does. POST /pki/ocsp and GET /pki/ocsp/<b64> are
 * therefore answered here, before Fastify routes the request; everything else passes through
 * untouched. The routes registered below serve the same answers (inject() in tests, OpenAPI).
 */
function installOcspFastPath(server: Server, pki: Pki): void {
  const listeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (listeners.length !== 1) return; // not the server shape we know: leave Fastify in charge
  const fastify = listeners[0]!;
  server.removeAllListeners('request');
  const reply = (res: ServerResponse, a: OcspAnswer, get: boolean) => {
    const headers: Record<string, string | number> = {
      'content-type': 'application/ocsp-response',
      'content-length': a.der.length,
      'cache-control': get && a.maxAge !== undefined && a.maxAge > 0 ? `max-age=${a.maxAge}, public, no-transform, must-revalidate` : 'no-cache',
      'x-content-type-options': 'nosniff',
    };
    if (a.code) headers['x-citytrust-code'] = a.code;
    res.writeHead(200, headers);
    res.end(a.der);
  };
  const malformed = (): OcspAnswer => ({ der: ocspErrorResponse(OCSP_STATUS.malformedRequest), code: 'PKI_OCSP_MALFORMED' });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if (req.method === 'POST' && url === '/pki/ocsp' && req.headers['content-type'] === 'application/ocsp-request') {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (d: Buffer) => {
        size += d.length;
        if (size <= OCSP_MAX_REQUEST_BYTES) chunks.push(d);
      });
      req.on('end', () => {
        if (size > OCSP_MAX_REQUEST_BYTES) return reply(res, malformed(), false);
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        // A byte-identical repeat of a cached request is answered at once, without a promise.
        const hit = pki.ocsp.respondCached(body);
        if (hit) return reply(res, hit, false);
        void pki.ocspRespond(new Uint8Array(body.buffer, body.byteOffset, body.length)).then((a) => reply(res, a, false), () => reply(res, malformed(), false));
      });
      return;
    }
    if (req.method === 'GET' && url.startsWith('/pki/ocsp/')) {
      const der = decodeGetRequest(url.slice('/pki/ocsp/'.length));
      if (!der) return reply(res, malformed(), true);
      const hit = pki.ocsp.respondCached(der);
      if (hit) return reply(res, hit, true);
      void pki.ocspRespond(der).then((a) => reply(res, a, true), () => reply(res, malformed(), true));
      return;
    }
    fastify(req, res);
  });
}

/** RFC 6960 Appendix A.1: GET {url}/{url-encoding of base-64 encoding of the DER OCSPRequest}. */
function decodeGetRequest(raw: string): Uint8Array | undefined {
  try {
    const b64 = decodeURIComponent(raw);
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64) || b64.length === 0 || b64.length > OCSP_MAX_REQUEST_BYTES * 2) return undefined;
    return new Uint8Array(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
}

export function pkiRoutes(app: FastifyInstance, ctx: AppContext): void {
  const pki = ctx.pki;
  installOcspFastPath(app.server as Server, pki);

  app.get('/v1/pki/cas', { schema: { tags: ['pki'], summary: 'The CA hierarchy (root and issuing CAs, every generation).', security: bearer, response: { 200: { type: 'array', items: caSchema }, ...errorResponses } } }, async (req) => {
    await requireRoles(ctx.tokens, req, ['city-admin', 'tenant-admin', 'issuer', 'operator', 'auditor']);
    return pki.listCas();
  });

  app.post('/v1/pki/init', { schema: { tags: ['pki'], summary: 'Create the root and issuing CAs (keys in the vault). city-admin, once.', security: bearer, response: { 201: { type: 'array', items: caSchema }, ...errorResponses } } }, async (req, reply) => {
    const p = await requireRoles(ctx.tokens, req, ['city-admin']);
    return reply.status(201).send(await pki.init(actorOf(p)));
  });

  app.post(
    '/v1/pki/cas/:purpose/rollover',
    {
      schema: {
        tags: ['pki'],
        summary: 'Roll an issuing CA over to a new key; the old one retires but keeps CRL and OCSP until it expires. city-admin.',
        security: bearer,
        params: { type: 'object', required: ['purpose'], additionalProperties: false, properties: { purpose: { type: 'string', maxLength: 40 } } },
        response: { 201: caSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = await requireRoles(ctx.tokens, req, ['city-admin']);
      return reply.status(201).send(await pki.rollover((req.params as { purpose: string }).purpose, actorOf(p)));
    },
  );

  app.post(
    '/v1/pki/certificates',
    {
      schema: {
        tags: ['pki'],
        summary: 'Issue a certificate from a CSR under a profile, for a registered device (or, city scope, a city TLS server/client); or, with keyId instead of csr, certify a tenant vault key (head-end, head-end-command).',
        security: bearer,
        body: {
          type: 'object',
          oneOf: [{ required: ['csr'] }, { required: ['keyId', 'tenant', 'profile'] }],
          additionalProperties: false,
          properties: {
            csr: csrString,
            keyId: { type: 'string', maxLength: 64 },
            tenant: { type: ['string', 'null'], maxLength: 40 },
            deviceId: { type: 'string', maxLength: 63 },
            profile: { type: 'string', enum: OPERATOR_PROFILES },
            dnsNames: { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 253 } },
            ipAddresses: { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 15 } },
          },
        },
        response: { 201: issuedSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body as { csr?: string; keyId?: string; tenant?: string | null; deviceId?: string; profile?: string; dnsNames?: string[]; ipAddresses?: string[] };
      if (body.keyId !== undefined) {
        if (body.csr !== undefined || body.deviceId !== undefined || body.dnsNames || body.ipAddresses) throw new CityTrustError('INPUT_INVALID', 'a vault-key certificate takes tenant, keyId and profile only');
        const p = await requireRoles(ctx.tokens, req, ['issuer', 'operator'], body.tenant ?? null);
        const issued = await pki.issueForVaultKey(tenantScope(p), { tenant: body.tenant ?? '', keyId: body.keyId, profile: body.profile ?? '' }, actorOf(p));
        return reply.status(201).send(issuedBody(issued));
      }
      if (body.csr === undefined) throw new CityTrustError('INPUT_INVALID', 'csr or keyId is required');
      const p = await requireRoles(ctx.tokens, req, ['issuer', 'operator'], body.deviceId !== undefined ? (body.tenant ?? null) : null);
      const issued = await pki.issue(tenantScope(p), { ...body, csr: body.csr }, actorOf(p));
      return reply.status(201).send(issuedBody(issued));
    },
  );

  app.get(
    '/v1/pki/certificates',
    {
      schema: {
        tags: ['pki'],
        summary: 'List certificates, newest first; a tenant token sees its own.',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tenant: { type: 'string', maxLength: 40 },
            deviceId: { type: 'string', maxLength: 63 },
            status: { type: 'string', enum: ['good', 'revoked', 'hold'] },
            profile: { type: 'string', maxLength: 40 },
            caId: { type: 'string', maxLength: 40 },
            limit: uintString,
          },
        },
        response: { 200: { type: 'array', items: certSchema }, ...errorResponses },
      },
    },
    async (req) => {
      const p = await requireRoles(ctx.tokens, req, ['city-admin', 'tenant-admin', 'issuer', 'operator', 'auditor']);
      const q = req.query as { tenant?: string; deviceId?: string; status?: 'good' | 'revoked' | 'hold'; profile?: string; caId?: string; limit?: string };
      return pki.listCertificates(tenantScope(p), { ...q, ...(q.limit ? { limit: Number(q.limit) } : {}) } as Parameters<typeof pki.listCertificates>[1]);
    },
  );

  app.get('/v1/pki/certificates/:serial', { schema: { tags: ['pki'], summary: 'One certificate by serial (hex).', security: bearer, params: serialParam, response: { 200: certSchema, ...errorResponses } } }, async (req) => {
    const p = await requireRoles(ctx.tokens, req, ['city-admin', 'tenant-admin', 'issuer', 'operator', 'auditor']);
    return pki.getCertificate(tenantScope(p), (req.params as { serial: string }).serial);
  });

  app.post(
    '/v1/pki/certificates/:serial/revoke',
    {
      schema: {
        tags: ['pki'],
        summary: 'Revoke a certificate (RFC 5280 reason); the CRL is re-signed and OCSP answers revoked at once.',
        security: bearer,
        params: serialParam,
        body: { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 40 } } },
        response: { 200: certSchema, ...errorResponses },
      },
    },
    async (req) => {
      const p = await requireRoles(ctx.tokens, req, ['issuer', 'operator', 'tenant-admin']);
      return pki.revoke(tenantScope(p), (req.params as { serial: string }).serial, (req.body as { reason?: string } | undefined)?.reason, actorOf(p));
    },
  );

  app.post(
    '/v1/pki/enroll',
    {
      schema: {
        tags: ['pki'],
        summary: 'Device enrolment: a PKCS#10 CSR and the one-time bootstrap token the operator issued for the device → certificate and chain.',
        body: { type: 'object', required: ['csr', 'token'], additionalProperties: false, properties: { csr: csrString, token: { type: 'string', maxLength: 100 } } },
        response: { 201: issuedSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body as { csr: string; token: string };
      return reply.status(201).send(issuedBody(await pki.enroll(body.csr, body.token)));
    },
  );

  app.post(
    '/v1/pki/renew',
    {
      schema: {
        tags: ['pki'],
        summary: 'Renewal over mutual TLS: the device presents its current certificate and sends a CSR (same or new key).',
        body: { type: 'object', required: ['csr'], additionalProperties: false, properties: { csr: csrString } },
        response: { 201: issuedSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const id = await pki.authenticateClient(clientCertificate(req));
      return reply.status(201).send(issuedBody(await pki.renew((req.body as { csr: string }).csr, id)));
    },
  );

  // ---- public distribution points (no auth, no rate limit: answers are cached and cheap) ----

  const file = { type: 'object', required: ['file'], additionalProperties: false, properties: { file: { type: 'string', pattern: '^[a-z0-9-]{1,40}\\.(crt|crl)$' } } } as const;

  app.get('/pki/ca/:file', { schema: { tags: ['pki'], summary: 'A CA certificate, DER (AIA caIssuers).', params: file }, config: { rateLimit: false } }, async (req, reply) => {
    const f = (req.params as { file: string }).file;
    if (!f.endsWith('.crt')) throw new CityTrustError('NOT_FOUND', 'CA certificates end in .crt');
    const der = await pki.caCertificate(f.slice(0, -4));
    return reply.header('content-type', 'application/pkix-cert').header('cache-control', 'public, max-age=86400').send(Buffer.from(der));
  });

  app.get('/pki/crl/:file', { schema: { tags: ['pki'], summary: 'The current CRL of a CA, DER (RFC 5280 §5).', params: file }, config: { rateLimit: false } }, async (req, reply) => {
    const f = (req.params as { file: string }).file;
    if (!f.endsWith('.crl')) throw new CityTrustError('NOT_FOUND', 'CRLs end in .crl');
    const crl = await pki.crl(f.slice(0, -4));
    const maxAge = Math.max(0, Math.floor((crl.nextUpdate - ctx.clock.now()) / 2000));
    return reply.header('content-type', 'application/pkix-crl').header('cache-control', `public, max-age=${maxAge}`).send(Buffer.from(crl.der));
  });

  app.register(async (scope) => {
    scope.addContentTypeParser('application/ocsp-request', { parseAs: 'buffer', bodyLimit: OCSP_MAX_REQUEST_BYTES }, (_req, body, done) => done(null, body));
    scope.post('/pki/ocsp', { schema: { tags: ['pki'], summary: 'OCSP responder (RFC 6960), body application/ocsp-request.' }, config: { rateLimit: false } }, async (req, reply) => {
      const body = req.body;
      if (!Buffer.isBuffer(body)) return sendOcsp(reply, { der: ocspErrorResponse(OCSP_STATUS.malformedRequest), code: 'PKI_OCSP_MALFORMED' }, false);
      return sendOcsp(reply, await pki.ocspRespond(new Uint8Array(body.buffer, body.byteOffset, body.length)), false);
    });
    scope.get('/pki/ocsp/*', { schema: { tags: ['pki'], summary: 'OCSP over GET: base64 (URL-encoded) DER request in the path (RFC 6960 Appendix A.1).' }, config: { rateLimit: false } }, async (req, reply) => {
      const der = decodeGetRequest((req.params as { '*': string })['*']);
      if (!der) return sendOcsp(reply, { der: ocspErrorResponse(OCSP_STATUS.malformedRequest), code: 'PKI_OCSP_MALFORMED' }, true);
      return sendOcsp(reply, await pki.ocspRespond(der), true);
    });
  });
}
