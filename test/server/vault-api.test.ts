import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { testApp, auth, type TestApp } from '../helpers/app.ts';
import { openCheckpoint } from '../../src/audit/checkpoint.ts';
import { fromBase64, toBase64 } from '../../src/core/bytes.ts';

describe('the vault API', () => {
  let t: TestApp;
  let metroAdmin: string;
  let busAdmin: string;
  let issuer: string;
  before(async () => {
    t = await testApp({ 'server.rateLimit': 100000 });
    for (const id of ['metro', 'bus']) await t.ctx.tenants.create({ id, name: id }, 'test');
    metroAdmin = (await t.ctx.tokens.create({ tenant: 'metro', roles: ['tenant-admin'] }, undefined)).token;
    busAdmin = (await t.ctx.tokens.create({ tenant: 'bus', roles: ['tenant-admin'] }, undefined)).token;
    issuer = (await t.ctx.tokens.create({ tenant: 'metro', roles: ['issuer'] }, undefined)).token;
  });
  after(() => t.close());

  const post = (url: string, token: string, payload: object) => t.app.inject({ method: 'POST', url, headers: auth(token), payload });

  it('reports the vault unsealed in development mode', async () => {
    const r = await t.app.inject({ url: '/v1/vault/status', headers: auth(issuer) });
    assert.equal(r.json().state, 'unsealed');
    assert.equal(r.json().backend, 'software');
  });

  it('signs audit checkpoints with a vault key', async () => {
    await t.ctx.audit.append({ actor: 'test', tenant: null, action: 'test.event', subject: 'x' });
    const cp = await t.ctx.audit.checkpoint();
    assert.ok(cp);
    const keys = await t.ctx.vault.listKeys({ actor: 'test', tenant: null });
    const cpKey = keys.find((k) => k.label === 'audit checkpoint signing');
    assert.ok(cpKey, 'the checkpoint key lives in the vault');
    const pub = await t.ctx.vault.publicKey({ actor: 'test', tenant: null }, cpKey.id);
    assert.equal(openCheckpoint(cp.note, { name: t.ctx.audit.origin, publicKey: pub.raw }).size, cp.size);
  });

  it('creates, signs with, verifies with and rotates a tenant key; the signature verifies with openssl-compatible SPKI', async () => {
    const c = await post('/v1/vault/keys', metroAdmin, { type: 'ec-p256', label: 'ticket issuer' });
    assert.equal(c.statusCode, 201, c.body);
    const key = c.json();
    assert.equal(key.tenant, 'metro');
    assert.doesNotMatch(c.body, /private|pkcs8|"d"/i);
    const data = toBase64(new TextEncoder().encode('gate 7 opened'));
    const s = await post(`/v1/vault/keys/${key.id}/sign`, issuer, { data, format: 'der' });
    assert.equal(s.statusCode, 200, s.body);
    const pub = (await t.app.inject({ url: `/v1/vault/keys/${key.id}/public`, headers: auth(issuer) })).json();
    const spki = createPublicKey({ key: Buffer.from(pub.spki, 'base64'), format: 'der', type: 'spki' });
    assert.equal(cryptoVerify('sha256', Buffer.from('gate 7 opened'), spki, Buffer.from(s.json().signature, 'base64')), true);
    const v = await post(`/v1/vault/keys/${key.id}/verify`, issuer, { data, signature: s.json().signature, format: 'der' });
    assert.equal(v.json().valid, true);
    const rot = await post(`/v1/vault/keys/${key.id}/rotate`, metroAdmin, {});
    assert.equal(rot.json().currentVersion, 2);
    const old = await post(`/v1/vault/keys/${key.id}/verify`, issuer, { data, signature: s.json().signature, format: 'der', version: 1 });
    assert.equal(old.json().valid, true, 'old versions keep verifying');
  });

  it("answers a key of another tenant like a missing one, and changes nothing", async () => {
    const key = (await post('/v1/vault/keys', metroAdmin, { type: 'ed25519', label: 'metro only' })).json();
    const data = toBase64(new Uint8Array([1, 2, 3]));
    for (const r of [
      await post(`/v1/vault/keys/${key.id}/sign`, busAdmin, { data }),
      await post(`/v1/vault/keys/${key.id}/rotate`, busAdmin, {}),
      await t.app.inject({ method: 'DELETE', url: `/v1/vault/keys/${key.id}`, headers: auth(busAdmin) }),
    ]) {
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().code, 'VAULT_KEY_NOT_FOUND');
    }
    const list = (await t.app.inject({ url: '/v1/vault/keys', headers: auth(busAdmin) })).json();
    assert.equal(list.length, 0);
    const mine = (await t.app.inject({ url: '/v1/vault/keys', headers: auth(metroAdmin) })).json();
    assert.equal(mine.find((k: { id: string }) => k.id === key.id).currentVersion, 1);
    const cross = await t.app.inject({ url: '/v1/vault/keys?tenant=metro', headers: auth(busAdmin) });
    assert.equal(cross.json().code, 'TENANT_FORBIDDEN');
  });

  it('refuses bad input with specific codes', async () => {
    const key = (await post('/v1/vault/keys', metroAdmin, { type: 'aes-256-gcm', label: 'data key' })).json();
    const cases: [string, object, string, string?][] = [
      [`/v1/vault/keys/${key.id}/sign`, { data: 'AAAA' }, 'VAULT_USAGE_DENIED'],
      ['/v1/vault/keys/vk_00000000000000000000000000000000/sign', { data: 'AAAA' }, 'VAULT_KEY_NOT_FOUND'],
      [`/v1/vault/keys/${key.id}/sign`, { data: 'not base64!' }, 'INPUT_INVALID'],
      ['/v1/vault/keys', { type: 'rsa-1024', label: 'weak' }, 'INPUT_INVALID'],
      ['/v1/vault/keys', { type: 'ed25519', label: 'x', usages: ['encrypt'] }, 'VAULT_USAGE_INVALID'],
      ['/v1/vault/unseal', { share: 'cts1-garbage' }, 'AUTH_FORBIDDEN', metroAdmin],
    ];
    for (const [url, body, code, token] of cases) {
      const r = await post(url, token ?? metroAdmin, body);
      assert.equal(r.json().code, code, `${url} ${JSON.stringify(body)} -> ${r.body}`);
    }
  });

  it('keeps tamper, seal, backup and unseal for the city-admin', async () => {
    for (const url of ['/v1/vault/tamper', '/v1/vault/seal', '/v1/vault/backup']) {
      const r = await post(url, metroAdmin, url.endsWith('tamper') ? { reason: 'x' } : url.endsWith('backup') ? { shares: 2, threshold: 2 } : {});
      assert.equal(r.json().code, 'AUTH_FORBIDDEN', url);
    }
    assert.equal((await t.app.inject({ url: '/v1/vault/status', headers: auth(issuer) })).json().state, 'unsealed');
  });

  it('backs up to recovery shares and restores the same key ids into another vault, where old signatures still verify', async () => {
    const key = (await post('/v1/vault/keys', t.adminToken, { type: 'ec-p256', label: 'city root (test)' })).json();
    const data = toBase64(new TextEncoder().encode('root-signed'));
    const sig = (await post(`/v1/vault/keys/${key.id}/sign`, t.adminToken, { data, format: 'p1363' })).json().signature;
    const b = await post('/v1/vault/backup', t.adminToken, { shares: 3, threshold: 2 });
    assert.equal(b.statusCode, 200, b.body);
    assert.equal(b.headers['cache-control'], 'no-store');
    const { archive, shares } = b.json();
    const other = await testApp();
    try {
      const bad = await other.app.inject({ method: 'POST', url: '/v1/vault/restore', headers: auth(other.adminToken), payload: { archive, shares: [shares[0]] } });
      assert.ok(['VAULT_SHARE_MISMATCH', 'VAULT_BACKUP_INVALID', 'INPUT_INVALID'].includes(bad.json().code), bad.body);
      const r = await other.app.inject({ method: 'POST', url: '/v1/vault/restore', headers: auth(other.adminToken), payload: { archive, shares: [shares[0], shares[2]] } });
      assert.equal(r.statusCode, 200, r.body);
      assert.ok(r.json().restored.some((k: { id: string }) => k.id === key.id));
      const v = await other.app.inject({ method: 'POST', url: `/v1/vault/keys/${key.id}/verify`, headers: auth(other.adminToken), payload: { data, signature: sig, format: 'p1363' } });
      assert.equal(v.json().valid, true);
    } finally {
      await other.close();
    }
  });

  it('zeroizes on an API tamper call: every operation then fails with VAULT_ZEROIZED, and the event is audited', async () => {
    const key = (await post('/v1/vault/keys', metroAdmin, { type: 'ed25519', label: 'doomed' })).json();
    const r = await post('/v1/vault/tamper', t.adminToken, { reason: 'enclosure opened (drill)' });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().state, 'tampered');
    const s = await post(`/v1/vault/keys/${key.id}/sign`, metroAdmin, { data: 'AAAA' });
    assert.equal(s.json().code, 'VAULT_ZEROIZED');
    await t.ctx.audit.flush();
    const actions = (await t.ctx.audit.events({ limit: 1000 })).map((e) => e.action);
    assert.ok(actions.some((a) => a.startsWith('vault.tamper')), actions.join(','));
    assert.equal(fromBase64(toBase64(new Uint8Array([1]))).length, 1);
  });
});
