/**
 * The web console (console/, React + Vite) served at /console, and /v1/whoami, the one call
 * the console needs that no domain answers: who the bearer token is.
 *
 * Headers: a Content-Security-Policy that allows only 'self' (no inline script or style, no
 * other origin, no framing), so a token kept in the tab's sessionStorage is out of reach of
 * injected markup; hashed assets are immutable for a year, index.html is revalidated on every
 * load so a new build takes effect at once. When console/dist is missing the console answers
 * 503 CONSOLE_NOT_BUILT with the remedy (an HTML page for a browser).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { CityTrustError } from '../../core/errors.ts';
import { ROLES } from '../../access/roles.ts';
import type { AppContext } from '../context.ts';
import { requireRoles } from '../auth.ts';
import { bearer, errorResponses } from './schemas.ts';

/** console/dist beside src/ (and beside dist/ in the published package: both are three levels up). */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Only Vite's content-hashed output and the files in console/public are served: no directory walking. */
const ASSET = /^assets\/[A-Za-z0-9_-]{1,100}\.(?:js|css|svg|woff2)$/;
const PUBLIC_FILE = /^(?:favicon\.svg)$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface ConsoleOptions {
  /** The built console (default: console/dist of this package). */
  distDir?: string;
}

const NOT_BUILT_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>citytrust console not built</title></head>
<body>
<h1>The citytrust console has not been built</h1>
<p>CONSOLE_NOT_BUILT: this server found no <code>console/dist/index.html</code>.</p>
<p>Remedy: run <code>npm run build:console</code> in the citytrust directory (<code>npm start</code> does it for you), then restart the server.</p>
<p>The API is unaffected: see <a href="/docs">/docs</a>.</p>
</body></html>
`;

function notBuilt(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const accept = req.headers.accept ?? '';
  if (!accept.includes('text/html')) throw new CityTrustError('CONSOLE_NOT_BUILT', 'the web console has not been built on this server');
  return reply.status(503).header('cache-control', 'no-store').header('content-security-policy', "default-src 'none'").type('text/html; charset=utf-8').send(NOT_BUILT_HTML);
}

export async function consoleRoutes(app: FastifyInstance, ctx: AppContext, opts: ConsoleOptions = {}): Promise<void> {
  app.get(
    '/v1/whoami',
    {
      schema: {
        tags: ['console'],
        summary: 'Who the bearer token is: its id, tenant (null = city-wide), roles and expiry. Never the secret.',
        security: bearer,
        response: {
          200: {
            type: 'object',
            properties: {
              tokenId: { type: 'string' },
              tenant: { type: ['string', 'null'] },
              roles: { type: 'array', items: { type: 'string' } },
              label: { type: 'string' },
              expiresAt: { type: ['integer', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const p = await requireRoles(ctx.tokens, req, ROLES);
      const info = (await ctx.tokens.list(p.tenant ?? undefined)).find((t) => t.id === p.tokenId);
      void reply.header('cache-control', 'no-store');
      return { tokenId: p.tokenId, tenant: p.tenant, roles: p.roles, label: info?.label ?? '', expiresAt: info?.expiresAt ?? null };
    },
  );

  const root = opts.distDir ?? CONSOLE_DIST;
  const built = existsSync(join(root, 'index.html'));

  await app.register(async (scope) => {
    if (built) await scope.register(fastifyStatic, { root, serve: false, decorateReply: true });

    // Runs after helmet's onRequest headers, so the console's stricter policy wins here.
    scope.addHook('onSend', async (_req, reply, payload) => {
      if (reply.statusCode < 500 && reply.getHeader('content-type')?.toString().startsWith('text/html')) {
        void reply.header('content-security-policy', CONSOLE_CSP);
      }
      return payload;
    });

    const page = (req: FastifyRequest, reply: FastifyReply, file: string, cacheControl: string): FastifyReply => {
      if (!built) return notBuilt(req, reply);
      void reply.header('cache-control', cacheControl);
      return reply.sendFile(file, root, { cacheControl: false });
    };

    scope.get('/console', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/', 301));
    // no-cache (not no-store): the browser keeps index.html but asks first, with its ETag.
    scope.get('/console/', { schema: { hide: true } }, async (req, reply) => page(req, reply, 'index.html', 'no-cache'));
    scope.get('/console/*', { schema: { hide: true } }, async (req, reply) => {
      const rest = (req.params as { '*': string })['*'];
      if (ASSET.test(rest)) return page(req, reply, rest, IMMUTABLE);
      if (PUBLIC_FILE.test(rest)) return page(req, reply, rest, 'public, max-age=3600');
      throw new CityTrustError('NOT_FOUND', 'no such console file');
    });
  });
}
