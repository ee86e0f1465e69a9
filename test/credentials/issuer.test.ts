/** The issuer service end to end on SQLite and a software vault: issue, sync, verify offline, update, suspend, resume, revoke. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromBase64Url } from '../../src/core/bytes.ts';
import { CredentialTrust, credentialStatus, evaluate, verifyCredential, verifyStatusListToken } from '../../src/credentials/index.ts';
import { openEnv, TestWallet, type Env } from './service-helpers.ts';
import { rejectsCode } from './helpers.ts';

async function trustOf(env: Env): Promise<CredentialTrust> {
  const root = await env.svc.root.get();
  return CredentialTrust.fromTrustList((await env.svc.trustLists.current()).token, { root: root.verifier, now: Math.floor(env.clock.now() / 1000) });
}

const dayTicket = { id: 'day-1st-ab', name: 'Day ticket, first class, zones A–B', validitySeconds: 86400, grants: { zones: ['A', 'B'], class: 1 } };

describe('issuing a credential to a wallet', () => {
  it('signs it under a certified key, seals it to the wallet, and the wallet verifies it offline', async (t) => {
    const env = await openEnv(t);
    await env.svc.templates.create('metro', dayTicket, 'test');
    const w = await new TestWallet(env, 'metro').register();
    const info = await env.svc.issuer.issue('metro', { walletId: w.id, template: 'day-1st-ab', holder: { name: 'Ada Lovelace', email: 'Ada@Example.org' } }, 'test');
    assert.equal(info.status, 'active');
    assert.ok(info.size <= 255, `size ${info.size}`);
    const [m] = await w.sync();
    assert.equal(m?.kind, 'credential');
    const trust = await trustOf(env);
    const v = verifyCredential((m as { credential: Uint8Array }).credential, { trust, now: env.clock.now() });
    assert.equal(v.id, info.id);
    assert.equal(v.claims.grants.product, 'day-1st-ab');
    assert.equal(evaluate(v, { now: env.clock.now(), zones: ['A'] }).reason, 'GRANTED');
    assert.deepEqual(env.audit.actions().filter((a) => a.startsWith('credentials.credential')), ['credentials.credential.issue']);
  });

  it('stores personal data only as ciphertext and finds it by keyed hash', async (t) => {
    const env = await openEnv(t);
    const w = await new TestWallet(env, 'metro').register();
    const info = await env.svc.issuer.issue('metro', { walletId: w.id, grants: { zones: ['A'] }, validUntil: Math.floor(env.clock.now() / 1000) + 3600, holder: { name: 'Ada Lovelace', email: 'ada@example.org' } }, 'test');
    const row = await env.store.db.selectFrom('credentials').selectAll().where('id', '=', info.id).executeTakeFirstOrThrow();
    const raw = Buffer.concat([Buffer.from(row.holder_data!), Buffer.from(row.holder_index!), Buffer.from(row.credential)]);
    for (const s of ['Ada', 'Lovelace', 'ada@example.org']) assert.equal(raw.includes(Buffer.from(s)), false, s);
    assert.equal(JSON.stringify(env.audit.events).includes('ada@'), false);
    assert.deepEqual((await env.svc.issuer.list('metro', { holderEmail: ' ADA@example.org ' })).map((c) => c.id), [info.id]);
    assert.deepEqual(await env.svc.issuer.list('metro', { holderEmail: 'bob@example.org' }), []);
    assert.deepEqual((await env.svc.issuer.get('metro', info.id, { withHolder: true, actor: 'test' })).holder, { name: 'Ada Lovelace', email: 'ada@example.org' });
  });

  it('refuses another tenant’s wallet, an unknown template and bad grants, and changes nothing', async (t) => {
    const env = await openEnv(t);
    const w = await new TestWallet(env, 'parking').register();
    const before = await env.store.db.selectFrom('credentials').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    const soon = Math.floor(env.clock.now() / 1000) + 3600;
    await rejectsCode(env.svc.issuer.issue('metro', { walletId: w.id, grants: { zones: ['A'] }, validUntil: soon }, 'test'), 'WALLET_NOT_FOUND');
    await rejectsCode(env.svc.issuer.issue('parking', { walletId: w.id, template: 'nope' }, 'test'), 'CREDENTIAL_TEMPLATE_NOT_FOUND');
    await rejectsCode(env.svc.issuer.issue('parking', { walletId: w.id, grants: { zones: [] }, validUntil: soon }, 'test'), 'CREDENTIAL_GRANTS_INVALID');
    await rejectsCode(env.svc.issuer.issue('parking', { walletId: w.id, grants: { zones: ['A'] }, validUntil: 1 }, 'test'), 'INPUT_INVALID');
    await rejectsCode(env.svc.issuer.issue('parking', { walletId: w.id, grants: { zones: ['A'] }, validUntil: soon + 10 * 365 * 86400 }, 'test'), 'INPUT_INVALID');
    await rejectsCode(env.svc.issuer.issue('parking', { walletId: w.id, grants: { zones: ['A'] }, validUntil: soon, holder: { email: 'nope' } }, 'test'), 'INPUT_INVALID');
    const after = await env.store.db.selectFrom('credentials').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    assert.deepEqual(after, before);
    assert.equal((await env.svc.wallets.get('parking', w.id)).pendingDeliveries, 0);
  });

  it('gives each credential a distinct random slot, and many concurrent issuances share transactions', async (t) => {
    const env = await openEnv(t);
    const w = await new TestWallet(env, 'metro').register();
    const exp = Math.floor(env.clock.now() / 1000) + 3600;
    const all = await Promise.all(Array.from({ length: 60 }, () => env.svc.issuer.issue('metro', { walletId: w.id, grants: { zones: ['A'] }, validUntil: exp }, 'test')));
    assert.equal(new Set(all.map((c) => `${c.statusList}/${c.statusIndex}`)).size, 60);
    const sorted = all.map((c) => c.statusIndex).sort((a, b) => a - b);
    assert.notDeepEqual(sorted, Array.from({ length: 60 }, (_, i) => i), 'indices are not sequential');
    const got = [];
    while (got.length < 60) {
      const fresh = await w.sync();
      if (fresh.length === 0) break;
      got.push(...fresh);
    }
    assert.equal(got.length, 60);
  });
});

describe('status changes', () => {
  it('show up in the next status list version and reach the wallet', async (t) => {
    const env = await openEnv(t);
    const w = await new TestWallet(env, 'metro').register();
    const info = await env.svc.issuer.issue('metro', { walletId: w.id, grants: { zones: ['A'] }, validUntil: Math.floor(env.clock.now() / 1000) + 3600 }, 'test');
    await w.sync();
    const trust = await trustOf(env);
    const cred = verifyCredential(fromBase64Url((await env.svc.issuer.get('metro', info.id)).credential!), { trust, now: env.clock.now() });
    const statusNow = async () => {
      const p = await env.svc.statusLists.publish(info.statusList);
      return credentialStatus(cred, verifyStatusListToken(p.token, { trust, uri: `ct:${info.statusList}`, issuer: 'metro', now: env.clock.now() }));
    };
    const changes: number[] = [];
    const unsubscribe = env.svc.statusLists.subscribe((c) => changes.push(c.version));
    t.after(unsubscribe);
    assert.equal(await statusNow(), 'valid');
    await env.svc.issuer.suspend('metro', info.id, 'test', 'lost phone');
    assert.equal(await statusNow(), 'suspended');
    await env.svc.issuer.resume('metro', info.id, 'test');
    assert.equal(await statusNow(), 'valid');
    await env.svc.issuer.revoke('metro', info.id, 'test');
    assert.equal(await statusNow(), 'revoked');
    assert.deepEqual(changes, [1, 2, 3]);
    const notices = await w.sync();
    assert.deepEqual(notices.map((n) => (n.kind === 'status' ? n.status : n.kind)), ['suspended', 'valid', 'revoked']);
  });

  it('refuses transitions that are not allowed, and foreign or unknown ids, without changing state', async (t) => {
    const env = await openEnv(t);
    const w = await new TestWallet(env, 'metro').register();
    const info = await env.svc.issuer.issue('metro', { walletId: w.id, grants: { zones: ['A'] }, validUntil: Math.floor(env.clock.now() / 1000) + 3600 }, 'test');
    await rejectsCode(env.svc.issuer.resume('metro', info.id, 'test'), 'CREDENTIAL_STATE_INVALID');
    await rejectsCode(env.svc.issuer.revoke('parking', info.id, 'test'), 'CREDENTIAL_NOT_FOUND');
    await rejectsCode(env.svc.issuer.revoke('metro', 'not-an-id', 'test'), 'CREDENTIAL_NOT_FOUND');
    await rejectsCode(env.svc.issuer.revoke('metro', info.id, 'test', '<script>'), 'INPUT_INVALID');
    assert.equal((await env.svc.issuer.get('metro', info.id)).status, 'active');
    await env.svc.issuer.revoke('metro', info.id, 'test');
    await rejectsCode(env.svc.issuer.suspend('metro', info.id, 'test'), 'CREDENTIAL_STATE_INVALID');
    await rejectsCode(env.svc.issuer.update('metro', info.id, { grants: { zones: ['B'] } }, 'test'), 'CREDENTIAL_STATE_INVALID');
  });

  it('update re-issues with the new grants and revokes the old credential in one step', async (t) => {
    const env = await openEnv(t);
    const w = await new TestWallet(env, 'metro').register();
    const old = await env.svc.issuer.issue('metro', { walletId: w.id, grants: { zones: ['A'] }, validUntil: Math.floor(env.clock.now() / 1000) + 3600, holder: { email: 'a@b.c' } }, 'test');
    const next = await env.svc.issuer.update('metro', old.id, { grants: { zones: ['A', 'B'] } }, 'test');
    assert.equal(next.replaces, old.id);
    const o = await env.svc.issuer.get('metro', old.id);
    assert.equal(o.status, 'revoked');
    assert.equal(o.replacedBy, next.id);
    assert.deepEqual((await env.svc.issuer.list('metro', { holderEmail: 'a@b.c', status: 'active' })).map((c) => c.id), [next.id]);
    const msgs = await w.sync();
    assert.equal(msgs.at(-1)?.kind, 'credential');
    assert.equal((msgs.at(-1) as { replaces?: string }).replaces, old.id);
  });
});

describe('issuer key rotation', () => {
  it('keeps credentials of the old key verifiable and signs new ones with the new key', async (t) => {
    const env = await openEnv(t);
    const w = await new TestWallet(env, 'metro').register();
    const exp = Math.floor(env.clock.now() / 1000) + 7200;
    const before = await env.svc.issuer.issue('metro', { walletId: w.id, grants: { zones: ['A'] }, validUntil: exp }, 'test');
    await env.svc.rotateIssuerKey('metro', 'EdDSA', 'test');
    const after = await env.svc.issuer.issue('metro', { walletId: w.id, grants: { zones: ['A'] }, validUntil: exp }, 'test');
    assert.notEqual(before.issuerKid, after.issuerKid);
    const trust = await trustOf(env);
    assert.equal(verifyCredential(fromBase64Url((await env.svc.issuer.get('metro', before.id)).credential!), { trust, now: env.clock.now() }).alg, 'ES256');
    assert.equal(verifyCredential(fromBase64Url((await env.svc.issuer.get('metro', after.id)).credential!), { trust, now: env.clock.now() }).alg, 'EdDSA');
    const keys = await env.svc.issuerKeys.list('metro');
    assert.deepEqual(keys.map((k) => k.state), ['active', 'retired']);
    // Once the last credential of the old key has expired, the trust list drops it.
    env.clock.advance(3 * 3600 * 1000);
    env.svc.trustLists.invalidate();
    const later = await trustOf(env);
    assert.equal(later.keys().filter((k) => k.tenant === 'metro').length, 1);
  });
});
