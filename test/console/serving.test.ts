/**
 * How the server serves the console (src/server/routes/console.ts): the CSP that allows only
 * 'self', cache headers, path allow-listing, the 503 page when the console is not built, and
 * /v1/whoami. Uses a throw-away dist directory, so it runs without a Vite build.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { CONSOLE_CSP, consoleRoutes } from '../../src/server/routes/console.ts';
import { errorHandler } from '../../src/server/errors.ts';
import { CityTrustError } from '../../src/core/errors.ts';
import { auth, testApp, type TestApp } from '../helpers/app.ts';
import { tempDir } from '../helpers/tmp.ts';

let t: TestApp;
let built: FastifyInstance;
let missing: FastifyInstance;
const tmp = tempDir();

async function serverFor(distDir: string): Promise<FastifyInstance> {
  const app = Fastify();
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => errorHandler(new CityTrustError('NOT_FOUND', 'no route'), req, reply));
  await consoleRoutes(app, t.ctx, { distDir });
  await app.ready();
  return app;
}

before(async () => {
  t = await testApp();
  const dist = join(tmp.dir, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(dist, 'assets', 'index-AbC_12-x.js'), 'export {};');
  writeFileSync(join(dist, 'secret.txt'), 'not for the web');
  built = await serverFor(dist);
  missing = await serverFor(join(tmp.dir, 'nowhere'));
});
after(async () => {
  await built.close();
  await missing.close();
  await t.close();
  tmp.remove();
});

describe('serving the built console', () => {
  it('serves index.html with a CSP that allows only self and revalidation on every load', async () => {
    const r = await built.inject({ method: 'GET', url: '/console/' });
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /^text\/html/);
    assert.equal(r.headers['content-security-policy'], CONSOLE_CSP);
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.ok(!CONSOLE_CSP.includes('unsafe'), 'no unsafe-inline or unsafe-eval');
    assert.match(CONSOLE_CSP, /frame-ancestors 'none'/);
  });

  it('serves hashed assets as immutable for a year', async () => {
    const r = await built.inject({ method: 'GET', url: '/console/assets/index-AbC_12-x.js' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
  });

  it('redirects /console to /console/', async () => {
    const r = await built.inject({ method: 'GET', url: '/console' });
    assert.equal(r.statusCode, 301);
    assert.equal(r.headers.location, '/console/');
  });

  it('serves nothing outside the allow-listed names: other files, traversal, encoded dots', async () => {
    for (const url of ['/console/secret.txt', '/console/../package.json', '/console/assets/..%2fsecret.txt', '/console/assets/%2e%2e/secret.txt', '/console/index.html.map']) {
      const r = await built.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 404, url);
      assert.equal(r.json().code, 'NOT_FOUND', url);
      assert.ok(!r.body.includes('not for the web'), url);
    }
  });
});

describe('when the console was not built', () => {
  it('shows a browser a 503 page that names the code and the remedy', async () => {
    const r = await missing.inject({ method: 'GET', url: '/console/', headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(r.statusCode, 503);
    assert.match(r.body, /CONSOLE_NOT_BUILT/);
    assert.match(r.body, /npm run build:console/);
    assert.equal(r.headers['cache-control'], 'no-store');
  });

  it('answers an API client with the CONSOLE_NOT_BUILT code', async () => {
    const r = await missing.inject({ method: 'GET', url: '/console/assets/index-AbC_12-x.js' });
    assert.equal(r.statusCode, 503);
    assert.equal(r.json().code, 'CONSOLE_NOT_BUILT');
  });
});

describe('GET /v1/whoami', () => {
  it('tells a token who it is, never its secret', async () => {
    await t.ctx.tenants.create({ id: 'metro', name: 'Metro' }, 'test');
    const created = await t.ctx.tokens.create({ tenant: 'metro', roles: ['issuer'], label: 'gate crew', ttlSeconds: 3600 }, undefined);
    const r = await t.app.inject({ method: 'GET', url: '/v1/whoami', headers: auth(created.token) });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { tokenId: created.info.id, tenant: 'metro', roles: ['issuer'], label: 'gate crew', expiresAt: created.info.expiresAt });
    // ct_ ‖ 16 hex ‖ _ ‖ secret: the secret may itself contain "_", so cut by position.
    assert.ok(!r.body.includes(created.token.slice('ct_0123456789abcdef_'.length)));
    assert.equal(r.headers['cache-control'], 'no-store');
  });

  it('refuses a missing, unknown or revoked token with the specific code', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/whoami' })).json().code, 'AUTH_MISSING');
    const unknown = `ct_${'0'.repeat(16)}_${'A'.repeat(43)}`;
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/whoami', headers: auth(unknown) })).json().code, 'AUTH_INVALID_TOKEN');
    const c = await t.ctx.tokens.create({ tenant: null, roles: ['auditor'] }, undefined);
    await t.ctx.tokens.revoke(c.info.id, undefined);
    const r = await t.app.inject({ method: 'GET', url: '/v1/whoami', headers: auth(c.token) });
    assert.equal(r.statusCode, 401);
    assert.equal(r.json().code, 'AUTH_TOKEN_REVOKED');
  });
});
