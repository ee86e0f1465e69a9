import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, auth, type TestApp } from '../helpers/app.ts';
import { verifyInclusion, verifyConsistency } from '../../src/audit/merkle.ts';
import { openCheckpoint } from '../../src/audit/checkpoint.ts';
import { fromBase64 } from '../../src/core/bytes.ts';

describe('the HTTP API', () => {
  let t: TestApp;
  let metroAdmin: string;
  let busAdmin: string;
  let auditor: string;
  let metroAuditor: string;
  before(async () => {
    t = await testApp({ 'server.rateLimit': 100000 });
    for (const [id, name] of [['metro', 'Metro'], ['bus', 'Bus Co']]) {
      const r = await t.app.inject({ method: 'POST', url: '/v1/tenants', headers: auth(t.adminToken), payload: { id, name } });
      assert.equal(r.statusCode, 201, r.body);
    }
    const mk = async (token: string, body: object) => {
      const r = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: auth(token), payload: body });
      assert.equal(r.statusCode, 201, r.body);
      return r.json().token as string;
    };
    metroAdmin = await mk(t.adminToken, { tenant: 'metro', roles: ['tenant-admin'] });
    busAdmin = await mk(t.adminToken, { tenant: 'bus', roles: ['tenant-admin'] });
    auditor = await mk(t.adminToken, { tenant: null, roles: ['auditor'] });
    metroAuditor = await mk(metroAdmin, { tenant: 'metro', roles: ['auditor'] });
  });
  after(() => t.close());

  describe('operations endpoints', () => {
    it('answers /healthz and /readyz without a token', async () => {
      assert.equal((await t.app.inject('/healthz')).json().status, 'ok');
      const ready = await t.app.inject('/readyz');
      assert.equal(ready.statusCode, 200);
      assert.equal(ready.json().store, t.ctx.store.dialect);
    });
    it('serves Prometheus metrics including the audit log size', async () => {
      const r = await t.app.inject('/metrics');
      assert.match(r.body, /citytrust_audit_log_size \d+/);
      assert.match(r.body, /citytrust_http_requests_total/);
    });
    it('serves an OpenAPI 3.1 description that lists the routes and the bearer scheme', async () => {
      const doc = (await t.app.inject('/openapi.json')).json();
      assert.equal(doc.openapi, '3.1.0');
      assert.ok(doc.paths['/v1/tenants']);
      assert.ok(doc.paths['/v1/audit/proof/inclusion']);
      assert.equal(doc.components.securitySchemes.bearerAuth.scheme, 'bearer');
    });
    it('serves the docs page', async () => {
      const r = await t.app.inject('/docs/');
      assert.equal(r.statusCode, 200);
      assert.match(r.headers['content-type'] as string, /html/);
    });
    it('sets security headers and echoes a plain request id', async () => {
      const r = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
      assert.equal(r.headers['x-request-id'], 'abc-123');
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.ok(r.headers['content-security-policy']);
      const odd = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id with spaces\u0001' } });
      assert.notEqual(odd.headers['x-request-id'], 'bad id with spaces\u0001');
    });
  });

  describe('when the input is bad', () => {
    const countTenants = async () => (await t.ctx.tenants.list()).length;
    it('answers an unknown route with NOT_FOUND', async () => {
      const r = await t.app.inject('/v1/nothing-here');
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().code, 'NOT_FOUND');
    });
    it('answers malformed JSON with INPUT_MALFORMED_JSON and creates nothing', async () => {
      const before = await countTenants();
      const r = await t.app.inject({ method: 'POST', url: '/v1/tenants', headers: { ...auth(t.adminToken), 'content-type': 'application/json' }, payload: '{"id": "x",' });
      assert.equal(r.statusCode, 400);
      assert.deepEqual(Object.keys(r.json()).sort(), ['code', 'message']);
      assert.equal(r.json().code, 'INPUT_MALFORMED_JSON');
      assert.equal(await countTenants(), before);
    });
    it('answers an oversized body with INPUT_TOO_LARGE', async () => {
      const r = await t.app.inject({ method: 'POST', url: '/v1/tenants', headers: auth(t.adminToken), payload: { id: 'big', name: 'x'.repeat(2_000_000) } });
      assert.equal(r.statusCode, 413);
      assert.equal(r.json().code, 'INPUT_TOO_LARGE');
    });
    it('answers unknown fields and wrong types with INPUT_INVALID', async () => {
      for (const payload of [{ id: 'okid', name: 'n', extra: 1 }, { id: 5, name: 'n' }, { id: 'UPPER', name: 'n' }, { name: 'n' }]) {
        const r = await t.app.inject({ method: 'POST', url: '/v1/tenants', headers: auth(t.adminToken), payload });
        assert.equal(r.statusCode, 400, JSON.stringify(payload));
        assert.equal(r.json().code, 'INPUT_INVALID');
      }
    });
    it('answers a non-JSON content type with INPUT_UNSUPPORTED_MEDIA', async () => {
      const r = await t.app.inject({ method: 'POST', url: '/v1/tenants', headers: { ...auth(t.adminToken), 'content-type': 'text/plain' }, payload: 'id=x' });
      assert.equal(r.statusCode, 415);
      assert.equal(r.json().code, 'INPUT_UNSUPPORTED_MEDIA');
    });
    it('never answers with a stack trace', async () => {
      const r = await t.app.inject({ method: 'GET', url: '/v1/audit/proof/inclusion?index=5&size=2', headers: auth(auditor) });
      assert.equal(r.json().code, 'AUDIT_RANGE_INVALID');
      assert.doesNotMatch(r.body, /at .*\.ts:\d+/);
    });
  });

  describe('authentication and tenancy', () => {
    it('refuses a missing token with AUTH_MISSING', async () => {
      const r = await t.app.inject('/v1/tenants');
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().code, 'AUTH_MISSING');
    });
    it('refuses a wrong token with AUTH_INVALID_TOKEN', async () => {
      const wrong = t.adminToken.slice(0, -4) + (t.adminToken.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      for (const tok of [wrong, 'ct_0000000000000000_' + 'A'.repeat(43), 'garbage']) {
        const r = await t.app.inject({ url: '/v1/tenants', headers: auth(tok) });
        assert.equal(r.statusCode, 401);
        assert.equal(r.json().code, 'AUTH_INVALID_TOKEN');
      }
    });
    it('refuses a revoked token with AUTH_TOKEN_REVOKED', async () => {
      const c = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: auth(metroAdmin), payload: { tenant: 'metro', roles: ['operator'] } });
      const { token, info } = c.json();
      assert.equal((await t.app.inject({ url: '/v1/tenants', headers: auth(token) })).statusCode, 200);
      const del = await t.app.inject({ method: 'DELETE', url: `/v1/tokens/${info.id}`, headers: auth(metroAdmin) });
      assert.equal(del.statusCode, 200);
      const r = await t.app.inject({ url: '/v1/tenants', headers: auth(token) });
      assert.equal(r.json().code, 'AUTH_TOKEN_REVOKED');
    });
    it('refuses an expired token with AUTH_TOKEN_EXPIRED', async () => {
      const c = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: auth(metroAdmin), payload: { tenant: 'metro', roles: ['operator'], ttlSeconds: 60 } });
      t.clock.advance(61_000);
      const r = await t.app.inject({ url: '/v1/tenants', headers: auth(c.json().token) });
      assert.equal(r.json().code, 'AUTH_TOKEN_EXPIRED');
    });
    it('never returns a token secret in listings', async () => {
      const r = await t.app.inject({ url: '/v1/tokens', headers: auth(t.adminToken) });
      assert.doesNotMatch(r.body, /ct_[0-9a-f]{16}_/);
      assert.doesNotMatch(r.body, /secret/i);
    });
    it('shows a tenant only itself', async () => {
      const r = await t.app.inject({ url: '/v1/tenants', headers: auth(metroAdmin) });
      assert.deepEqual(r.json().map((x: { id: string }) => x.id), ['metro']);
    });
    it("refuses a token of one tenant acting on another tenant's objects", async () => {
      const c = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: auth(metroAdmin), payload: { tenant: 'bus', roles: ['operator'] } });
      assert.equal(c.statusCode, 403);
      assert.equal(c.json().code, 'TENANT_FORBIDDEN');
      const busList = await t.app.inject({ url: '/v1/tokens', headers: auth(busAdmin) });
      const busTokenId = busList.json()[0].id;
      const del = await t.app.inject({ method: 'DELETE', url: `/v1/tokens/${busTokenId}`, headers: auth(metroAdmin) });
      assert.equal(del.statusCode, 404, 'a foreign token looks like a missing one');
      const still = await t.app.inject({ url: '/v1/tenants', headers: auth(busAdmin) });
      assert.equal(still.statusCode, 200);
    });
    it('refuses a role the token does not hold with AUTH_FORBIDDEN', async () => {
      const r = await t.app.inject({ method: 'POST', url: '/v1/tenants', headers: auth(metroAdmin), payload: { id: 'sneaky', name: 'x' } });
      assert.equal(r.statusCode, 403);
      assert.equal(r.json().code, 'AUTH_FORBIDDEN');
      assert.equal(await t.ctx.tenants.list().then((l) => l.some((x) => x.id === 'sneaky')), false);
    });
    it('does not let a tenant-admin mint a city-admin', async () => {
      const r = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: auth(metroAdmin), payload: { tenant: null, roles: ['city-admin'] } });
      assert.equal(r.json().code, 'AUTH_FORBIDDEN');
    });
  });

  describe('the audit routes', () => {
    it('serve proofs that verify against the signed checkpoint', async () => {
      await t.app.inject({ method: 'POST', url: '/v1/audit/annotations', headers: auth(t.adminToken), payload: { subject: 'drill', text: 'quarterly key ceremony' } });
      await t.ctx.audit.checkpoint();
      const cp = (await t.app.inject({ url: '/v1/audit/checkpoint', headers: auth(auditor) })).json();
      const opened = openCheckpoint(cp.note, { name: cp.keyName, publicKey: fromBase64(cp.publicKey) });
      assert.equal(opened.size, cp.size);
      const p = (await t.app.inject({ url: `/v1/audit/proof/inclusion?index=1&size=${cp.size}`, headers: auth(auditor) })).json();
      verifyInclusion(fromBase64(p.leafHash), 1, cp.size, p.proof.map(fromBase64), opened.rootHash);
      const c = (await t.app.inject({ url: `/v1/audit/proof/consistency?from=2&to=${cp.size}`, headers: auth(auditor) })).json();
      verifyConsistency(2, cp.size, c.proof.map(fromBase64), fromBase64((await t.app.inject({ url: `/v1/audit/proof/inclusion?index=0&size=2`, headers: auth(auditor) })).json().root), opened.rootHash);
    });
    it("show a tenant auditor only its tenant's events", async () => {
      const mine = (await t.app.inject({ url: '/v1/audit/events?limit=1000', headers: auth(metroAuditor) })).json();
      assert.ok(mine.length > 0);
      assert.ok(mine.every((e: { tenant: string }) => e.tenant === 'metro'));
      const all = (await t.app.inject({ url: '/v1/audit/events?limit=1000', headers: auth(auditor) })).json();
      assert.ok(all.some((e: { tenant: string | null }) => e.tenant === 'bus'));
    });
    it('refuse a non-numeric proof query with INPUT_INVALID', async () => {
      const r = await t.app.inject({ url: '/v1/audit/proof/inclusion?index=-1&size=abc', headers: auth(auditor) });
      assert.equal(r.json().code, 'INPUT_INVALID');
    });
    it('record every tenant and token action in the log', async () => {
      const actions = (await t.ctx.audit.events({ limit: 1000 })).map((e) => e.action);
      assert.ok(actions.includes('tenant.create'));
      assert.ok(actions.includes('token.create'));
      assert.ok(actions.includes('token.revoke'));
    });
  });
});

describe('the rate limit', () => {
  it('answers RATE_LIMITED with Retry-After once a client exceeds it', async () => {
    const t = await testApp({ 'server.rateLimit': 5 });
    try {
      let last;
      for (let i = 0; i < 7; i++) last = await t.app.inject({ url: '/v1/tenants', headers: auth(t.adminToken) });
      assert.equal(last!.statusCode, 429);
      assert.equal(last!.json().code, 'RATE_LIMITED');
      assert.ok(last!.headers['retry-after']);
    } finally {
      await t.close();
    }
  });
});
