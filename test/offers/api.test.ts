/** The offers HTTP API: rules, attributes, holder-signed consent, eligibility; auth, tenancy and bad input. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { auth, testApp, type TestApp } from '../helpers/app.ts';
import { fromBase64Url, toBase64Url } from '../../src/core/bytes.ts';
import { createSignature, exportRawPublicKey, generateKeyPair } from '../../src/crypto/index.ts';
import { registrationToBeSigned } from '../../src/credentials/index.ts';
import { consentToBeSigned } from '../../src/offers/index.ts';

type Setup = TestApp & { admin: Record<string, string>; cafe: Record<string, string>; bank: Record<string, string>; auditor: Record<string, string> };

const rule = {
  offer: { title: 'Hot chocolate −50 % for students when it rains', code: 'CHOC50' },
  when: [{ attribute: 'student', eq: true }, { context: 'weather', eq: 'rain' }, { place: { lat: 52.52, lon: 13.405, radiusMeters: 500 } }],
};
const context = { place: { lat: 52.521, lon: 13.406 }, feed: { weather: 'rain', temperatureC: 11 } };

async function setup(t: { after: (fn: () => Promise<void>) => void }): Promise<Setup> {
  const ta = await testApp();
  t.after(() => ta.close());
  const admin = auth(ta.adminToken);
  for (const id of ['cafe', 'bank']) assert.equal((await ta.app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id, name: id } })).statusCode, 201);
  const tok = async (tenant: string, roles: string[]) => auth((await ta.app.inject({ method: 'POST', url: '/v1/tokens', headers: admin, payload: { tenant, roles } })).json<{ token: string }>().token);
  return { ...ta, admin, cafe: await tok('cafe', ['issuer']), bank: await tok('bank', ['issuer']), auditor: await tok('cafe', ['auditor']) };
}

async function wallet(s: Setup, tenant = 'cafe', h = s.cafe) {
  const key = generateKeyPair('P-256');
  const ch = (await s.app.inject({ method: 'POST', url: '/v1/wallets/challenges', headers: h, payload: { tenant } })).json<{ challengeId: string; challenge: string }>();
  const point = exportRawPublicKey(key.publicKey);
  const signature = toBase64Url(createSignature('ES256', key.privateKey, registrationToBeSigned(tenant, fromBase64Url(ch.challenge), point), 'raw'));
  const res = await s.app.inject({ method: 'POST', url: '/v1/wallets', headers: h, payload: { tenant, challengeId: ch.challengeId, publicKey: toBase64Url(point), signature } });
  assert.equal(res.statusCode, 201, res.body);
  return { key, id: res.json<{ id: string }>().id, tenant };
}

/** What the phone sends to consent: attribute names, a fresh nonce, its SE signature over both. */
async function consentBody(s: Setup, w: Awaited<ReturnType<typeof wallet>>, attributes: string[]) {
  const { nonce } = (await s.app.inject({ method: 'POST', url: `/v1/wallets/${w.id}/nonce` })).json<{ nonce: string }>();
  const signature = toBase64Url(createSignature('ES256', w.key.privateKey, consentToBeSigned(w.tenant, w.id, attributes, fromBase64Url(nonce)), 'raw'));
  return { attributes, nonce, signature };
}

describe('the offers API', () => {
  it('defines rules, evaluates over the holder-signed consent only, and stops at revocation', async (t) => {
    const s = await setup(t);
    const put = await s.app.inject({ method: 'POST', url: '/v1/offers/rules', headers: s.cafe, payload: { id: 'rainy-students', ...rule } });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual((await s.app.inject({ method: 'GET', url: '/v1/offers/rules', headers: s.auditor })).json<{ id: string }[]>().map((r) => r.id), ['rainy-students']);
    const w = await wallet(s);
    assert.equal((await s.app.inject({ method: 'POST', url: `/v1/offers/wallets/${w.id}/attributes`, headers: s.cafe, payload: { attributes: { student: true, district: 'north' } } })).statusCode, 204);

    const none = await s.app.inject({ method: 'POST', url: `/v1/offers/wallets/${w.id}/eligible`, headers: s.cafe, payload: context });
    assert.equal(none.json<{ code: string }>().code, 'OFFER_CONSENT_NOT_FOUND');
    // Consent to the district only: the student attribute never reaches the rule.
    assert.equal((await s.app.inject({ method: 'POST', url: `/v1/offers/wallets/${w.id}/consents`, headers: s.cafe, payload: await consentBody(s, w, ['district']) })).statusCode, 201);
    assert.deepEqual((await s.app.inject({ method: 'POST', url: `/v1/offers/wallets/${w.id}/eligible`, headers: s.cafe, payload: context })).json(), []);
    const granted = await s.app.inject({ method: 'POST', url: `/v1/offers/wallets/${w.id}/consents`, headers: s.cafe, payload: await consentBody(s, w, ['student']) });
    assert.equal(granted.statusCode, 201, granted.body);
    assert.deepEqual((await s.app.inject({ method: 'POST', url: `/v1/offers/wallets/${w.id}/eligible`, headers: s.cafe, payload: context })).json(), [rule.offer]);
    assert.deepEqual((await s.app.inject({ method: 'POST', url: `/v1/offers/wallets/${w.id}/eligible`, headers: s.cafe, payload: { ...context, feed: { weather: 'sun' } } })).json(), []);

    const revoked = await s.app.inject({ method: 'POST', url: `/v1/offers/consents/${granted.json<{ id: string }>().id}/revoke`, headers: s.cafe, payload: {} });
    assert.equal(revoked.statusCode, 200, revoked.body);
    assert.notEqual(revoked.json<{ revokedAt: number | null }>().revokedAt, null);
    assert.deepEqual((await s.app.inject({ method: 'POST', url: `/v1/offers/wallets/${w.id}/eligible`, headers: s.cafe, payload: context })).json(), []);
    const consents = (await s.app.inject({ method: 'GET', url: `/v1/offers/wallets/${w.id}/consents`, headers: s.auditor })).json<{ attributes: string[]; revokedAt: number | null }[]>();
    assert.deepEqual(consents.map((c) => [c.attributes, c.revokedAt === null]).sort(), [[['district'], true], [['student'], false]]);

    assert.equal((await s.app.inject({ method: 'DELETE', url: '/v1/offers/rules/rainy-students', headers: s.cafe })).statusCode, 204);
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/offers/rules/rainy-students', headers: s.cafe })).json<{ code: string }>().code, 'OFFER_RULE_NOT_FOUND');
  });

  it('asks for a token with the right role and tenant', async (t) => {
    const s = await setup(t);
    const noToken = await s.app.inject({ method: 'POST', url: '/v1/offers/rules', payload: { id: 'r1', ...rule } });
    assert.equal(noToken.statusCode, 401);
    assert.equal(noToken.json<{ code: string }>().code, 'AUTH_MISSING');
    const auditor = await s.app.inject({ method: 'POST', url: '/v1/offers/rules', headers: s.auditor, payload: { id: 'r1', ...rule } });
    assert.equal(auditor.json<{ code: string }>().code, 'AUTH_FORBIDDEN');
    const otherTenant = await s.app.inject({ method: 'POST', url: '/v1/offers/rules', headers: s.bank, payload: { id: 'r1', ...rule, tenant: 'cafe' } });
    assert.equal(otherTenant.json<{ code: string }>().code, 'TENANT_FORBIDDEN');
    const cityWide = await s.app.inject({ method: 'GET', url: '/v1/offers/rules', headers: s.admin });
    assert.equal(cityWide.json<{ code: string }>().code, 'INPUT_INVALID', 'a city-wide token names the tenant');
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/offers/rules?tenant=cafe', headers: s.admin })).statusCode, 200);
    assert.deepEqual((await s.app.inject({ method: 'GET', url: '/v1/offers/rules', headers: s.cafe })).json(), []);
  });

  it('keeps tenants apart: another tenant\'s wallet, rule and consent answer like missing ones', async (t) => {
    const s = await setup(t);
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/offers/rules', headers: s.cafe, payload: { id: 'cafe-rule', ...rule } })).statusCode, 200);
    const w = await wallet(s);
    const consent = await s.app.inject({ method: 'POST', url: `/v1/offers/wallets/${w.id}/consents`, headers: s.cafe, payload: await consentBody(s, w, ['student']) });
    const cases: [string, string, string, unknown][] = [
      ['GET', '/v1/offers/rules/cafe-rule', 'OFFER_RULE_NOT_FOUND', undefined],
      ['DELETE', '/v1/offers/rules/cafe-rule', 'OFFER_RULE_NOT_FOUND', undefined],
      ['POST', `/v1/offers/wallets/${w.id}/attributes`, 'WALLET_NOT_FOUND', { attributes: { student: false } }],
      ['POST', `/v1/offers/wallets/${w.id}/consents`, 'WALLET_NOT_FOUND', await consentBody(s, w, ['student'])],
      ['GET', `/v1/offers/wallets/${w.id}/consents`, 'WALLET_NOT_FOUND', undefined],
      ['POST', `/v1/offers/wallets/${w.id}/eligible`, 'WALLET_NOT_FOUND', context],
      ['POST', `/v1/offers/consents/${consent.json<{ id: string }>().id}/revoke`, 'OFFER_CONSENT_NOT_FOUND', {}],
    ];
    for (const [method, url, code, payload] of cases) {
      const res = await s.app.inject({ method: method as 'GET', url, headers: s.bank, ...(payload !== undefined && { payload: payload as object }) });
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.equal(res.json<{ code: string }>().code, code, `${method} ${url}`);
    }
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/offers/rules/cafe-rule', headers: s.cafe })).statusCode, 200);
    assert.equal((await s.app.inject({ method: 'GET', url: `/v1/offers/wallets/${w.id}/consents`, headers: s.cafe })).json<{ revokedAt: unknown }[]>()[0]!.revokedAt, null);
  });

  it('refuses bad input with a specific code and changes nothing', async (t) => {
    const s = await setup(t);
    const w = await wallet(s);
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/offers/rules', headers: s.cafe, payload: { id: 'good', ...rule } })).statusCode, 200);
    const bad: [string, string, unknown, string][] = [
      ['POST', '/v1/offers/rules', { id: 'good', ...rule, when: [{ attribute: 'student' }] }, 'OFFER_RULE_INVALID'],
      ['POST', '/v1/offers/rules', { id: 'good', ...rule, when: [{ time: { timeZone: 'Mars/Olympus', windows: [[1, 0, 60]] } }] }, 'OFFER_RULE_INVALID'],
      ['POST', '/v1/offers/rules', { id: 'good', ...rule, when: [] }, 'OFFER_RULE_INVALID'],
      ['POST', '/v1/offers/rules', { id: 'good', ...rule, colour: 'red' }, 'INPUT_INVALID'],
      ['POST', '/v1/offers/rules', { id: 'Bad_Id', ...rule }, 'INPUT_INVALID'],
      ['POST', `/v1/offers/wallets/${w.id}/attributes`, { attributes: { 'not a name': 1 } }, 'INPUT_INVALID'],
      ['POST', `/v1/offers/wallets/${w.id}/attributes`, { attributes: { student: { nested: true } } }, 'INPUT_INVALID'],
      ['POST', '/v1/offers/wallets/w_nothex/attributes', { attributes: { student: true } }, 'INPUT_INVALID'],
      ['POST', `/v1/offers/wallets/${w.id}/consents`, { attributes: [], nonce: 'AA', signature: 'AA' }, 'INPUT_INVALID'],
      ['POST', `/v1/offers/wallets/${w.id}/consents`, { ...(await consentBody(s, w, ['student'])), attributes: ['student', 'district'] }, 'WALLET_PROOF_INVALID'],
      ['POST', `/v1/offers/wallets/${w.id}/consents`, { attributes: ['student'], nonce: toBase64Url(new Uint8Array(32)), signature: toBase64Url(new Uint8Array(64)) }, 'WALLET_NONCE_INVALID'],
      ['POST', `/v1/offers/wallets/${w.id}/eligible`, { place: { lat: 100, lon: 0 } }, 'INPUT_INVALID'],
      ['POST', `/v1/offers/wallets/${w.id}/eligible`, { feed: { weather: ['rain'] } }, 'INPUT_INVALID'],
      ['POST', '/v1/offers/consents/oc_123/revoke', {}, 'INPUT_INVALID'],
    ];
    for (const [method, url, payload, code] of bad) {
      const res = await s.app.inject({ method: method as 'POST', url, headers: s.cafe, payload: payload as object });
      assert.equal(res.json<{ code: string }>().code, code, `${method} ${url} ${JSON.stringify(payload)}`);
    }
    const replay = await consentBody(s, w, ['student']);
    assert.equal((await s.app.inject({ method: 'POST', url: `/v1/offers/wallets/${w.id}/consents`, headers: s.cafe, payload: replay })).statusCode, 201);
    assert.equal((await s.app.inject({ method: 'POST', url: `/v1/offers/wallets/${w.id}/consents`, headers: s.cafe, payload: replay })).json<{ code: string }>().code, 'WALLET_SYNC_REPLAYED');
    assert.deepEqual((await s.app.inject({ method: 'GET', url: '/v1/offers/rules/good', headers: s.cafe })).json(), { id: 'good', ...rule });
    assert.equal((await s.app.inject({ method: 'GET', url: `/v1/offers/wallets/${w.id}/consents`, headers: s.cafe })).json<unknown[]>().length, 1);
    assert.equal(await s.ctx.store.db.selectFrom('holder_attributes').select('wallet_id').executeTakeFirst(), undefined);
  });
});
