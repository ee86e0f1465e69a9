/**
 * The reader against the real server: enrolment through the PKI, signed event upload into the
 * audit log and the dashboard counters, trust-cache refresh, and every refusal with its code.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { generateKeyPair, keyObjectSigner } from '../../src/crypto/index.ts';
import { randomBytes } from 'node:crypto';
import { createCsr, enroll, EventQueue, Reader, ReaderOnline, TrustCache, validateReaderConfig, signEventBatch, type ReaderEvent } from '../../src/reader/index.ts';
import { ApduCard, ApduReaderLink } from '../../src/tap/index.ts';
import { Wallet, MemoryStorage, type SyncTransport } from '../../src/wallet/index.ts';
import { CityReaderAuthenticator, WalletTapResponder, walletCredentialSource } from '../../src/wallet/tap/index.ts';
import type { ReaderKeyMaterial } from '../../src/tap/index.ts';
import { auth, testApp, type TestApp } from '../helpers/app.ts';
import { ReaderIngest } from '../../src/server/routes/reader-ingest.ts';
import { tempDir } from '../helpers/tmp.ts';

/** fetch over app.inject: the reader SDK's HTTP client talks to the server without a socket. */
function injectFetch(app: FastifyInstance): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const res = await app.inject({ method: (init?.method ?? 'GET') as 'GET', url: url.pathname + url.search, headers: (init?.headers ?? {}) as Record<string, string>, ...(init?.body !== undefined && { payload: init.body as string }) });
    return new Response(new Uint8Array(res.rawPayload), { status: res.statusCode, headers: res.headers as Record<string, string> });
  }) as typeof fetch;
}

interface Enrolled {
  identity: ReaderKeyMaterial;
  serial: string;
}

async function enrolReader(t: TestApp, id: string, site = 'hq'): Promise<Enrolled> {
  await t.ctx.devices.register({ tenant: 'acme', id, type: 'reader', site }, 'test');
  const { token } = await t.ctx.bootstrap.create(null, 'acme', id, 'test');
  const key = generateKeyPair('P-256');
  const signer = keyObjectSigner('ES256', key.privateKey);
  const e = await enroll({ serverUrl: 'http://server', csr: await createCsr(signer, key.publicKey, id), token, fetch: injectFetch(t.app) });
  return { identity: { chain: e.chain, signer }, serial: e.serial };
}

const grant = (at: number): Omit<ReaderEvent, 'seq'> => ({ at, site: 'hq', allow: true, reason: 'GRANTED', by: 'reader', resource: 'door:hq/floor3/d12', credentialId: '00112233aabbccdd', issuer: 'acme', session: '0011223344556677' });
const forged = (at: number): Omit<ReaderEvent, 'seq'> => ({ at, site: 'hq', allow: false, reason: 'HOLDER_PROOF_INVALID', code: 'CREDENTIAL_HOLDER_MISMATCH', by: 'reader', credentialId: '00112233aabbccdd', issuer: 'acme' });

describe('readers and the server', () => {
  let t: TestApp;
  let reader: Enrolled;
  let operator: string;
  const dirs: (() => void)[] = [];

  before(async () => {
    t = await testApp();
    await t.ctx.tenants.create({ id: 'acme', name: 'Acme' }, 'test');
    await t.ctx.tenants.create({ id: 'other', name: 'Other' }, 'test');
    await t.ctx.pki.init('test');
    await t.ctx.credentials.rotateIssuerKey('acme', 'ES256', 'test');
    reader = await enrolReader(t, 'door-12');
    operator = (await t.ctx.tokens.create({ tenant: 'acme', roles: ['operator'], label: 'op' }, undefined)).token;
  });
  after(async () => {
    for (const d of dirs) d();
    await t.close();
  });

  function online(identity: ReaderKeyMaterial, readerId = 'door-12'): { online: ReaderOnline; queue: EventQueue; trust: TrustCache; root: Promise<void> } {
    const tmp = tempDir();
    dirs.push(tmp.remove);
    const queue = EventQueue.open(tmp.dir);
    const trustHolder: { trust?: TrustCache } = {};
    const root = t.ctx.credentials.root.get().then((r) => {
      trustHolder.trust = new TrustCache({ root: r.verifier, dir: tmp.dir });
    });
    const config = validateReaderConfig({ readerId, tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'], serverUrl: 'http://server' });
    const o = { get trust() { return trustHolder.trust as TrustCache; } };
    return {
      queue,
      root,
      get trust() {
        return o.trust;
      },
      get online() {
        return new ReaderOnline({ config, identity, trust: o.trust, queue, clock: t.clock, fetch: injectFetch(t.app) });
      },
    };
  }

  it('enrols a reader through the PKI: a reader-profile chain for the device', () => {
    assert.equal(reader.identity.chain.length, 2, 'leaf and issuing CA; the root stays pinned');
  });

  it('uploads queued events signed by the reader, counts them once, and puts the batch and each alert into the audit log', async () => {
    const r = online(reader.identity);
    await r.root;
    r.queue.append(grant(t.clock.now() - 60_000));
    r.queue.append(forged(t.clock.now() - 30_000));
    r.queue.append(grant(t.clock.now()));
    const before = (await t.ctx.audit.latestCheckpoint())?.size ?? 0;
    assert.deepEqual(await r.online.upload(), { uploaded: 3, batches: 1 });
    assert.equal(r.queue.size, 0, 'acknowledged events leave the queue');
    const list = await t.app.inject({ method: 'GET', url: '/v1/readers', headers: auth(operator) });
    assert.equal(list.statusCode, 200);
    const row = (list.json() as { id: string; events: number; granted: number; denied: number; alerts: number; site: string }[])[0]!;
    assert.deepEqual({ id: row.id, site: row.site, events: row.events, granted: row.granted, denied: row.denied, alerts: row.alerts }, { id: 'door-12', site: 'hq', events: 3, granted: 2, denied: 1, alerts: 1 });
    const events = await t.app.inject({ method: 'GET', url: '/v1/readers/door-12/events', headers: auth(operator) });
    assert.deepEqual((events.json() as { seq: number; reason: string; alert: boolean }[]).map((e) => [e.seq, e.reason, e.alert]), [[1, 'GRANTED', false], [2, 'HOLDER_PROOF_INVALID', true], [3, 'GRANTED', false]]);
    const stats = await t.app.inject({ method: 'GET', url: '/v1/readers/stats', headers: auth(operator) });
    assert.deepEqual((stats.json() as { byReason: Record<string, number> }).byReason, { HOLDER_PROOF_INVALID: 1 });
    await t.ctx.audit.checkpoint();
    const rows = await t.ctx.store.db.selectFrom('audit_events').select(['action', 'details']).where('seq', '>=', before).where('action', 'like', 'reader.%').execute();
    assert.deepEqual(rows.map((x) => x.action).sort(), ['reader.events.upload', 'reader.tap.alert']);
  });

  it('keeps the dashboard refusal counters on ingest, seeded once from the table, equal to a GROUP BY over the events for every scope', async () => {
    const reference = async (tenant?: string): Promise<Record<string, number>> => {
      let q = t.ctx.store.db.selectFrom('reader_events').select(['reason', (eb) => eb.fn.countAll<number>().as('n')]).where('allow', '=', 0);
      if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
      return Object.fromEntries((await q.groupBy('reason').execute()).map((r) => [r.reason, Number(r.n)]));
    };
    const admin = auth(t.adminToken);
    const scopes = async () => {
      const byOperator = (await t.app.inject({ method: 'GET', url: '/v1/readers/stats', headers: auth(operator) })).json<{ byReason: Record<string, number> }>().byReason;
      const cityWide = (await t.app.inject({ method: 'GET', url: '/v1/readers/stats', headers: admin })).json<{ byReason: Record<string, number> }>().byReason;
      const other = (await t.app.inject({ method: 'GET', url: '/v1/readers/stats?tenant=other', headers: admin })).json<{ byReason: Record<string, number> }>().byReason;
      assert.deepEqual(byOperator, await reference('acme'));
      assert.deepEqual(cityWide, await reference());
      assert.deepEqual(other, await reference('other'));
      return byOperator;
    };
    // Another tenant's refusals, already in the table before the counters are seeded.
    await t.ctx.store.db
      .insertInto('reader_events')
      .values({ tenant_id: 'other', reader_id: 'gate-1', instance: 'ffeeddccbbaa9988', seq: 1, at: t.clock.now(), received_at: t.clock.now(), site: 'x', allow: 0, reason: 'CREDENTIAL_REVOKED', code: null, by_party: 'reader', resource: null, zones: null, credential_id: null, issuer: null, status_stale: 0, session: null, batch_hash: new Uint8Array(32) })
      .execute();
    const fresh = new ReaderIngest({ store: t.ctx.store, audit: t.ctx.audit, clock: t.clock, pki: t.ctx.pki, credentials: t.ctx.credentials });
    assert.deepEqual((await fresh.stats(undefined)).byReason, await reference());
    assert.deepEqual((await fresh.stats('other')).byReason, { CREDENTIAL_REVOKED: 1 });
    assert.deepEqual((await fresh.stats('acme', 'other')).byReason, {}, 'a tenant scope never sees another tenant');
    // The server's own counters were seeded earlier in this suite: rows written around ingest are not theirs to see.
    await t.ctx.store.db.deleteFrom('reader_events').where('tenant_id', '=', 'other').execute();
    await scopes();
    // Uploads after seeding are counted as they are stored; duplicates are not.
    const r = online(reader.identity);
    await r.root;
    r.queue.append(forged(t.clock.now()));
    r.queue.append({ at: t.clock.now(), site: 'hq', allow: false, reason: 'CREDENTIAL_EXPIRED', by: 'reader' });
    await r.online.upload();
    const after = await scopes();
    assert.ok((after.CREDENTIAL_EXPIRED ?? 0) >= 1);
  });

  it('takes a re-upload after a lost acknowledgement as duplicates, not new events', async () => {
    const r = online(reader.identity);
    await r.root;
    const events = [r.queue.append(grant(t.clock.now()))];
    const signed = await signEventBatch({ identity: reader.identity, readerId: 'door-12', tenant: 'acme', iat: Math.floor(t.clock.now() / 1000) }, r.queue.instance, events);
    const body = { sign1: Buffer.from(signed).toString('base64') };
    const first = await t.app.inject({ method: 'POST', url: '/v1/readers/door-12/events', payload: body });
    const again = await t.app.inject({ method: 'POST', url: '/v1/readers/door-12/events', payload: body });
    assert.equal(first.json<{ accepted: number }>().accepted, 1);
    assert.deepEqual(again.json(), { accepted: 0, duplicates: 1, lastSeq: events[0]!.seq });
  });

  it('refuses uploads it cannot attribute to the reader, each with its code, and stores nothing', async () => {
    const r = online(reader.identity);
    await r.root;
    const e = [r.queue.append(grant(t.clock.now()))];
    const iat = Math.floor(t.clock.now() / 1000);
    const post = async (id: string, bytes: Uint8Array) => t.app.inject({ method: 'POST', url: `/v1/readers/${id}/events`, payload: { sign1: Buffer.from(bytes).toString('base64') } });
    const count = async () => (await t.ctx.store.db.selectFrom('reader_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    const n0 = Number(await count());
    // Another key with the genuine certificate: the signature does not verify.
    const thief = { chain: reader.identity.chain, signer: keyObjectSigner('ES256', generateKeyPair('P-256').privateKey) };
    assert.equal((await post('door-12', await signEventBatch({ identity: thief, readerId: 'door-12', tenant: 'acme', iat }, r.queue.instance, e))).json<{ code: string }>().code, 'READER_UPLOAD_UNAUTHENTICATED');
    // The genuine reader uploading under another reader's id.
    assert.equal((await post('door-13', await signEventBatch({ identity: reader.identity, readerId: 'door-13', tenant: 'acme', iat }, r.queue.instance, e))).json<{ code: string }>().code, 'READER_UPLOAD_UNAUTHENTICATED');
    // Signed an hour ago (or an hour ahead).
    assert.equal((await post('door-12', await signEventBatch({ identity: reader.identity, readerId: 'door-12', tenant: 'acme', iat: iat - 3600 }, r.queue.instance, e))).json<{ code: string }>().code, 'READER_UPLOAD_STALE');
    // Not COSE at all, or not base64.
    assert.equal((await post('door-12', new Uint8Array([1, 2, 3, 4, 5, 6]))).json<{ code: string }>().code, 'READER_UPLOAD_INVALID');
    const bad = await t.app.inject({ method: 'POST', url: '/v1/readers/door-12/events', payload: { sign1: '***' } });
    assert.equal(bad.statusCode, 400);
    assert.equal(Number(await count()), n0, 'nothing stored');
  });

  it('refuses a reader whose certificate was revoked (READER_UPLOAD_UNAUTHENTICATED, PKI_CLIENT_CERT_REVOKED)', async () => {
    const second = await enrolReader(t, 'door-14');
    await t.ctx.pki.revoke(null, second.serial, 'keyCompromise', 'test');
    const r = online(second.identity, 'door-14');
    await r.root;
    r.queue.append(grant(t.clock.now()));
    await assert.rejects(r.online.upload(), (e: { code: string; details?: { reason?: string } }) => e.code === 'READER_UPLOAD_FAILED' && e.details?.reason === 'READER_UPLOAD_UNAUTHENTICATED');
    assert.equal(r.queue.size, 1, 'the event stays queued');
  });

  it('refreshes the trust cache with the trust list and the tenant status lists, verified against the pinned root', async () => {
    const r = online(reader.identity);
    await r.root;
    const u = await r.online.refresh();
    assert.equal(u.trustList, 'updated');
    assert.ok(r.trust.trust!.keys().some((k) => k.tenant === 'acme'));
  });

  it('pushes a trust-list change: an issuer key rotation reaches a watching reader at once, which fetches and verifies the signed list', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const tmp = tempDir();
    dirs.push(tmp.remove);
    const trust = new TrustCache({ root: (await t.ctx.credentials.root.get()).verifier });
    const config = validateReaderConfig({ readerId: 'door-12', tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'], serverUrl: address });
    const o = new ReaderOnline({ config, identity: reader.identity, trust, queue: EventQueue.open(tmp.dir), clock: t.clock });
    await o.refresh();
    const kids = () => new Set(trust.trust!.keys().map((k) => Buffer.from(k.kid).toString('hex')));
    const before = kids();
    const ac = new AbortController();
    const updates: unknown[] = [];
    let heard!: () => void;
    const pushed = new Promise<void>((resolve) => (heard = resolve));
    const watching = o.watch(ac.signal, (u) => {
      updates.push(u);
      heard();
    });
    // Let the stream open and the server take its baseline (one poll tick) before the change.
    await new Promise((r) => setTimeout(r, 600));
    const rotated = await t.ctx.credentials.rotateIssuerKey('acme', 'ES256', 'test');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([pushed.then(() => 'pushed'), new Promise<string>((r) => (timer = setTimeout(() => r('no push within 5 s'), 5000)))]);
    clearTimeout(timer);
    ac.abort();
    await watching;
    assert.equal(outcome, 'pushed');
    assert.equal((updates[0] as { trustList?: string }).trustList, 'updated');
    assert.ok(kids().has(rotated.kid), 'the new issuer key is trusted');
    for (const k of before) assert.ok(kids().has(k), 'the retired key stays trusted for what it signed');
  });

  it('answers another tenant asking for a reader like a missing one (READER_NOT_FOUND)', async () => {
    const other = (await t.ctx.tokens.create({ tenant: 'other', roles: ['operator'], label: 'x' }, undefined)).token;
    const res = await t.app.inject({ method: 'GET', url: '/v1/readers/door-12/events', headers: auth(other) });
    assert.equal(res.json<{ code: string }>().code, 'READER_NOT_FOUND');
    const list = await t.app.inject({ method: 'GET', url: '/v1/readers', headers: auth(other) });
    assert.deepEqual(list.json(), []);
  });
  it('closes the loop: a reader enrolled through the PKI authenticates to a wallet that pins only the PKI root, grants the synced credential offline, and its upload reaches the events listing and the audit log', async () => {
    const door = await enrolReader(t, 'door-20');
    const [pkiRoot] = await t.ctx.pki.trustBundle();
    // The holder: a wallet registered with the tenant, holding a credential for the hq doors.
    const wallet = await Wallet.open({ storage: new MemoryStorage(), storageKey: randomBytes(32), clock: t.clock, verifyUser: async () => true });
    const ch = await t.ctx.credentials.wallets.createChallenge('acme', 'app');
    const proof = await wallet.registrationProof('acme', ch.challenge);
    const reg = await t.ctx.credentials.wallets.register('acme', { challengeId: ch.challengeId, publicKey: proof.publicKey, signature: proof.signature }, 'app');
    await wallet.completeRegistration('acme', reg.id, proof.keyAlias);
    const issued = await t.ctx.credentials.issuer.issue('acme', { walletId: reg.id, grants: { resources: ['door:hq/**'] }, validUntil: Math.floor(t.clock.now() / 1000) + 3600 }, 'test');
    const sync: SyncTransport = { nonce: (id) => t.ctx.credentials.wallets.nonce(id), sync: (id, body) => t.ctx.credentials.wallets.sync(id, body) };
    assert.deepEqual(await wallet.sync(reg.id, sync), [issued.id]);
    // The reader: trust data fetched from the server, events in its persisted queue.
    const r = online(door.identity, 'door-20');
    await r.root;
    await r.online.refresh();
    const tapReader = new Reader({
      config: validateReaderConfig({ readerId: 'door-20', tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'] }),
      identity: door.identity,
      trust: r.trust,
      events: r.queue,
      clock: t.clock,
    });
    const card = new ApduCard(new WalletTapResponder({ authenticator: new CityReaderAuthenticator({ anchors: [pkiRoot!] }), credentials: walletCredentialSource(wallet), clock: t.clock }));
    const out = await tapReader.tap(await ApduReaderLink.open((c) => card.process(c)));
    assert.equal(out.reason, 'GRANTED', 'the wallet validated the PKI-issued reader chain, site URN included');
    assert.equal(out.event.credentialId, issued.id);
    assert.equal(r.queue.size, 1, 'the decision is queued on the reader');
    assert.deepEqual(await r.online.upload(), { uploaded: 1, batches: 1 });
    const events = await t.app.inject({ method: 'GET', url: '/v1/readers/door-20/events', headers: auth(operator) });
    assert.deepEqual((events.json() as { reason: string; credentialId: string }[]).map((e) => [e.reason, e.credentialId]), [['GRANTED', issued.id]]);
    await t.ctx.audit.checkpoint();
    const audited = await t.ctx.store.db.selectFrom('audit_events').select(['action', 'subject']).where('action', '=', 'reader.events.upload').execute();
    assert.ok(audited.some((a) => String(a.subject).includes('door-20')), 'the upload is in the audit log');
  });
});
