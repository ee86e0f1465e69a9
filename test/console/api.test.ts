/**
 * The console's API client (console/src/api.ts) with a stubbed fetch: every refusal carries the
 * API's code, and the four authentication codes end the session (expired, revoked, unknown,
 * missing token) while others do not.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, createApi, q, AUTH_ENDING_CODES } from '../../console/src/api.ts';

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

function answer(status: number, body: unknown, seen: RequestInit[] = []): void {
  globalThis.fetch = (async (_url: string | URL | Request, init?: RequestInit) => {
    seen.push(init ?? {});
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
}

describe('the console API client', () => {
  for (const code of ['AUTH_TOKEN_EXPIRED', 'AUTH_TOKEN_REVOKED', 'AUTH_INVALID_TOKEN', 'AUTH_MISSING']) {
    it(`ends the session on ${code} and still rejects with that code`, async () => {
      answer(401, { code, message: 'no' });
      const ended: string[] = [];
      const api = createApi('ct_x', (e) => ended.push(e.code));
      await assert.rejects(api.get('/v1/tenants'), (e: unknown) => e instanceof ApiError && e.code === code && e.status === 401);
      assert.deepEqual(ended, [code]);
    });
  }

  it('keeps the session on refusals that are not about the token', async () => {
    for (const code of ['TENANT_FORBIDDEN', 'AUTH_FORBIDDEN', 'INPUT_INVALID']) {
      answer(403, { code, message: 'no' });
      const ended: string[] = [];
      await assert.rejects(createApi('ct_x', (e) => ended.push(e.code)).get('/v1/x'), (e: unknown) => e instanceof ApiError && e.code === code);
      assert.deepEqual(ended, []);
    }
    assert.equal(AUTH_ENDING_CODES.size, 4);
  });

  it('turns a body without {code, message} into a code of its own, never the body', async () => {
    answer(502, '<html>proxy error with internals</html>');
    await assert.rejects(createApi('ct_x', () => undefined).get('/v1/x'), (e: unknown) => e instanceof ApiError && e.code === 'HTTP_ERROR' && !e.message.includes('internals'));
    globalThis.fetch = (async () => {
      throw new TypeError('connection refused');
    }) as typeof fetch;
    await assert.rejects(createApi('ct_x', () => undefined).get('/v1/x'), (e: unknown) => e instanceof ApiError && e.code === 'NETWORK');
  });

  it('sends the token as a bearer, no cookies, no caching, and JSON bodies', async () => {
    const seen: RequestInit[] = [];
    answer(201, { ok: true }, seen);
    await createApi('ct_secret', () => undefined).post('/v1/tenants', { id: 'a' });
    const init = seen[0]!;
    assert.equal((init.headers as Record<string, string>)['authorization'], 'Bearer ct_secret');
    assert.equal(init.credentials, 'omit');
    assert.equal(init.cache, 'no-store');
    assert.equal(init.body, '{"id":"a"}');
  });

  it('encodes query values so a typed id cannot reshape the request', () => {
    assert.equal(q({ tenant: 'a&admin=1', after: 5, skip: undefined, empty: '' }), '?tenant=a%26admin%3D1&after=5');
    assert.equal(q({}), '');
  });
});
