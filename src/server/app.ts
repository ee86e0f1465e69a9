/**
 * The HTTP server: Fastify with request ids, body limits, rate limiting, security headers,
 * Prometheus metrics, an OpenAPI description at /openapi.json and a docs page at /docs.
 * One route module per domain; one error mapping for all of them (./errors.ts).
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { SecureContextOptions } from 'node:tls';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { CityTrustError } from '../core/errors.ts';
import type { AppContext } from './context.ts';
import { errorHandler } from './errors.ts';
import { createMetrics } from './metrics.ts';
import { healthRoutes } from './routes/health.ts';
import { accessRoutes } from './routes/access.ts';
import { auditRoutes } from './routes/audit.ts';
import { pkiRoutes } from './routes/pki.ts';
import { deviceRoutes } from './routes/devices.ts';
import { estRoutes } from './routes/est.ts';
import { vaultRoutes } from './routes/vault.ts';
import { updatesRoutes } from './routes/updates.ts';
import { credentialsRoutes } from './routes/credentials.ts';
import { walletsRoutes } from './routes/wallets.ts';
import { statusRoutes } from './routes/status.ts';
import { offersRoutes } from './routes/offers.ts';
import { readerRoutes } from './routes/readers.ts';
import { meteringRoutes } from './routes/metering.ts';
import { consoleRoutes } from './routes/console.ts';

export const API_VERSION = '0.1.0';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface BuildServerOptions {
  /** Serve HTTPS (`citytrust serve --tls`): key, certificate chain, and the CAs client certificates may chain to. */
  https?: SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean };
}

export async function buildServer(ctx: AppContext, opts: BuildServerOptions = {}): Promise<FastifyInstance> {
  const metrics = createMetrics();
  const app = Fastify({
    // Client certificates are requested but verified by the route that needs them (EST, renewal):
    // a bootstrap enrolment arrives without one, so the handshake must not demand it.
    ...(opts.https ? { https: opts.https } : {}),
    loggerInstance: ctx.logger.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: ctx.config.server.bodyLimit,
    trustProxy: ctx.config.server.trustProxy,
    requestIdHeader: 'x-request-id',
    // Accept a caller's request id only when it is short and plain; otherwise mint one.
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID.test(h) ? h : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    return503OnClosing: true,
  });
  app.decorateRequest('principal', undefined);
  // JSON only by default; routes that take other media (EST's PKCS#10, OCSP DER) add their own parser.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => errorHandler(new CityTrustError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`), req, reply));

  app.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  await app.register(helmet, {
    // The API answers JSON; the docs page is the only HTML and its assets are served locally.
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'], styleSrc: ["'self'", "'unsafe-inline'"], scriptSrc: ["'self'"] } },
    hsts: { maxAge: 31536000, includeSubDomains: true },
  });
  await app.register(rateLimit, {
    global: true,
    max: ctx.config.server.rateLimit,
    timeWindow: '1 minute',
    errorResponseBuilder: (_req, c) => Object.assign(new Error('rate limited'), { statusCode: 429, retryAfter: c.after }),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'citytrust API', version: API_VERSION, description: 'Trust platform for smart cities. Every error answers {code, message}; codes are stable.' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'ct_<id>_<secret> API token' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => app.swagger());

  healthRoutes(app, ctx, metrics);
  accessRoutes(app, ctx);
  auditRoutes(app, ctx);
  pkiRoutes(app, ctx);
  deviceRoutes(app, ctx);
  estRoutes(app, ctx);
  vaultRoutes(app, ctx);
  updatesRoutes(app, ctx);
  credentialsRoutes(app, ctx);
  walletsRoutes(app, ctx);
  statusRoutes(app, ctx);
  offersRoutes(app, ctx);
  readerRoutes(app, ctx);
  meteringRoutes(app, ctx);
  await consoleRoutes(app, ctx);
  return app;
}
