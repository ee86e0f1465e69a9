/** The HTTP API of credentials, wallets and status lists, end to end with a software wallet. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { parseCertificate } from '../../src/pki/validate-cert.ts';
import { TrustCache } from '../../src/reader/trust-cache.ts';
import { auth, testApp, type TestApp } from '../helpers/app.ts';
import { fromBase64Url, toBase64Url } from '../../src/core/bytes.ts';
import { coseVerifierKey, createSignature, exportRawPublicKey, exportSpkiPublicKey as exportSpki, generateKeyPair, importSpkiPublicKey, keyObjectAgreement } from '../../src/crypto/index.ts';
import {
  CredentialTrust,
  credentialStatus,
  pinnedRootKey,
  decodeProvisioningMessage,
  openEnvelope,
  registrationToBeSigned,
  syncToBeSigned,
  verifyCredential,
  verifyStatusListToken,
} from '../../src/credentials/index.ts';

async function setup(t: { after: (fn: () => Promise<void>) => void }): Promise<TestApp & { issuer: string; other: string }> {
  const ta = await testApp();
  t.after(() => ta.close());
  const admin = auth(ta.adminToken);
  for (const id of ['metro', 'parking']) {
    assert.equal((await ta.app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id, name: id } })).statusCode, 201);
    assert.equal((await ta.app.inject({ method: 'POST', url: '/v1/credentials/issuer-keys', headers: admin, payload: { tenant: id } })).statusCode, 201);
  }
  const tok = async (tenant: string) => (await ta.app.inject({ method: 'POST', url: '/v1/tokens', headers: admin, payload: { tenant, roles: ['issuer'] } })).json<{ token: string }>().token;
  return { ...ta, issuer: await tok('metro'), other: await tok('parking') };
}

async function register(ta: TestApp, token: string, tenant: string) {
  const key = generateKeyPair('P-256');
  const ch = (await ta.app.inject({ method: 'POST', url: '/v1/wallets/challenges', headers: auth(token), payload: { tenant } })).json<{ challengeId: string; challenge: string }>();
  const point = exportRawPublicKey(key.publicKey);
  const signature = toBase64Url(createSignature('ES256', key.privateKey, registrationToBeSigned(tenant, fromBase64Url(ch.challenge), point), 'raw'));
  const res = await ta.app.inject({ method: 'POST', url: '/v1/wallets', headers: auth(token), payload: { tenant, challengeId: ch.challengeId, publicKey: toBase64Url(point), signature, attestation: { format: 'none' } } });
  assert.equal(res.statusCode, 201, res.body);
  return { key, id: res.json<{ id: string }>().id };
}

async function signedSync(ta: TestApp, w: { key: ReturnType<typeof generateKeyPair>; id: string }, ack: number) {
  const { nonce } = (await ta.app.inject({ method: 'POST', url: `/v1/wallets/${w.id}/nonce` })).json<{ nonce: string }>();
  return { nonce, ack, signature: toBase64Url(createSignature('ES256', w.key.privateKey, syncToBeSigned(w.id, fromBase64Url(nonce), ack), 'raw')) };
}

describe('the credentials API', () => {
  it('issues to a registered wallet, syncs end-to-end encrypted, and publishes revocation in the next status list', async (t) => {
    const ta = await setup(t);
    const h = auth(ta.issuer);
    assert.equal((await ta.app.inject({ method: 'POST', url: '/v1/credentials/templates', headers: h, payload: { tenant: 'metro', id: 'day-ab', name: 'Day ticket A–B', validitySeconds: 86400, grants: { zones: ['A', 'B'], class: 2 } } })).statusCode, 201);
    const w = await register(ta, ta.issuer, 'metro');
    const issued = await ta.app.inject({ method: 'POST', url: '/v1/credentials', headers: h, payload: { tenant: 'metro', walletId: w.id, template: 'day-ab', holder: { email: 'rider@example.org' } } });
    assert.equal(issued.statusCode, 201, issued.body);
    const info = issued.json<{ id: string; statusList: string; size: number }>();
    assert.ok(info.size <= 255);

    const sync = await ta.app.inject({ method: 'POST', url: `/v1/wallets/${w.id}/sync`, payload: await signedSync(ta, w, 0) });
    assert.equal(sync.statusCode, 200, sync.body);
    const body = sync.json<{ deliveries: { seq: number; envelope: string }[] }>();
    assert.equal(body.deliveries.length, 1);
    const msg = decodeProvisioningMessage(await openEnvelope(fromBase64Url(body.deliveries[0]!.envelope), { walletId: w.id, agreement: keyObjectAgreement(w.key.privateKey) }));
    assert.equal(msg.kind, 'credential');

    const root = (await ta.app.inject({ method: 'GET', url: '/v1/credentials/root' })).json<{ spki: string }>();
    const trustRes = await ta.app.inject({ method: 'GET', url: '/v1/credentials/trust' });
    assert.equal(trustRes.headers['content-type'], 'application/ct-trust+cwt');
    const now = ta.clock.now();
    const trust = CredentialTrust.fromTrustList(new Uint8Array(trustRes.rawPayload), { root: coseVerifierKey('ES256', importSpkiPublicKey('P-256', fromBase64Url(root.spki))), now: Math.floor(now / 1000) });
    const cred = verifyCredential((msg as { credential: Uint8Array }).credential, { trust, now });

    const status = async () => {
      const r = await ta.app.inject({ method: 'GET', url: `/v1/status/${info.statusList}` });
      assert.equal(r.headers['content-type'], 'application/statuslist+cwt');
      return credentialStatus(cred, verifyStatusListToken(new Uint8Array(r.rawPayload), { trust, uri: `ct:${info.statusList}`, issuer: 'metro', now }));
    };
    assert.equal(await status(), 'valid');
    assert.equal((await ta.app.inject({ method: 'POST', url: `/v1/credentials/${info.id}/revoke`, headers: h, payload: { reason: 'refund' } })).statusCode, 200);
    assert.equal(await status(), 'revoked');

    const list = await ta.app.inject({ method: 'GET', url: '/v1/credentials?holderEmail=rider%40example.org&status=revoked', headers: h });
    assert.deepEqual(list.json<{ id: string }[]>().map((c) => c.id), [info.id]);
  });

  it('lets a reader pin only the city PKI root: the trust list carries the root certificate for the credential root', async (t) => {
    const ta = await setup(t);
    const admin = auth(ta.adminToken);
    const before = (await ta.app.inject({ method: 'GET', url: '/v1/credentials/root' })).json<{ certificate: string | null; cityRoot: unknown }>();
    assert.equal(before.certificate, null);
    assert.equal(before.cityRoot, null);
    assert.equal((await ta.app.inject({ method: 'POST', url: '/v1/pki/init', headers: admin })).statusCode, 201);
    const w = await register(ta, ta.issuer, 'metro');
    const issued = await ta.app.inject({ method: 'POST', url: '/v1/credentials', headers: auth(ta.issuer), payload: { tenant: 'metro', walletId: w.id, grants: { zones: ['A'] }, validUntil: Math.floor(ta.clock.now() / 1000) + 3600 } });
    assert.equal(issued.statusCode, 201, issued.body);

    // The reader's one pin: the city root CA certificate (the same one that anchors every device certificate).
    const rootCa = new Uint8Array((await ta.app.inject({ method: 'GET', url: '/pki/ca/root-1.crt' })).rawPayload);
    const pinned = pinnedRootKey(parseCertificate(rootCa).spkiDer);
    assert.equal(pinned.alg, 'ES384'); // the PKI root's default key type (pki.rootKeyType)
    const root = (await ta.app.inject({ method: 'GET', url: '/v1/credentials/root' })).json<{ spki: string; certificate: string; cityRoot: { alg: string; certificate: string } }>();
    assert.equal(root.cityRoot.alg, 'ES384');
    assert.deepEqual(fromBase64Url(root.cityRoot.certificate), rootCa);

    ta.clock.advance(120_000); // past the trust list's cache
    const now = ta.clock.now();
    const list = new Uint8Array((await ta.app.inject({ method: 'GET', url: '/v1/credentials/trust' })).rawPayload);
    const trust = CredentialTrust.fromTrustList(list, { root: pinned, now: Math.floor(now / 1000) });
    assert.deepEqual(trust.keys().map((k) => k.tenant).sort(), ['metro', 'parking']);
    const credential = fromBase64Url(issued.json<{ credential: string }>().credential);
    assert.equal(verifyCredential(credential, { trust, now }).claims.iss, 'metro');
    // The reader SDK's offline trust cache takes the same one pin, with a status list under it.
    const statusList = (issued.json<{ statusList: string }>()).statusList;
    const cache = new TrustCache({ root: pinned });
    const applied = cache.update({ trustList: list, statusLists: [new Uint8Array((await ta.app.inject({ method: 'GET', url: `/v1/status/${statusList}` })).rawPayload)] }, now);
    assert.deepEqual(applied, { trustList: 'updated', statusLists: { updated: 1, olderIgnored: 0 } });
    // A device that pinned the credential root itself (before the PKI existed) still verifies the same list.
    const legacy = CredentialTrust.fromTrustList(list, { root: coseVerifierKey('ES256', importSpkiPublicKey('P-256', fromBase64Url(root.spki))), now: Math.floor(now / 1000) });
    assert.equal(legacy.keys().length, 2);
    // Another city's root verifies nothing.
    const foreign = pinnedRootKey(exportSpki(generateKeyPair('P-256').publicKey));
    assert.throws(() => CredentialTrust.fromTrustList(list, { root: foreign, now: Math.floor(now / 1000) }), (e: Error & { code?: string }) => e.code === 'CREDENTIAL_TRUST_LIST_INVALID');
  });

  it('refuses a replayed sync signature, a forged one and an ack beyond what was sent, changing nothing', async (t) => {
    const ta = await setup(t);
    const w = await register(ta, ta.issuer, 'metro');
    const req = await signedSync(ta, w, 0);
    assert.equal((await ta.app.inject({ method: 'POST', url: `/v1/wallets/${w.id}/sync`, payload: req })).statusCode, 200);
    const replay = await ta.app.inject({ method: 'POST', url: `/v1/wallets/${w.id}/sync`, payload: req });
    assert.equal(replay.statusCode, 409);
    assert.equal(replay.json<{ code: string }>().code, 'WALLET_SYNC_REPLAYED');
    const forged = { ...(await signedSync(ta, w, 0)) };
    forged.signature = toBase64Url(createSignature('ES256', generateKeyPair('P-256').privateKey, syncToBeSigned(w.id, fromBase64Url(forged.nonce), 0), 'raw'));
    assert.equal((await ta.app.inject({ method: 'POST', url: `/v1/wallets/${w.id}/sync`, payload: forged })).json<{ code: string }>().code, 'WALLET_PROOF_INVALID');
    const tooFar = await ta.app.inject({ method: 'POST', url: `/v1/wallets/${w.id}/sync`, payload: await signedSync(ta, w, 5) });
    assert.equal(tooFar.json<{ code: string }>().code, 'WALLET_ACK_INVALID');
    const unknown = await ta.app.inject({ method: 'POST', url: `/v1/wallets/${w.id}/sync`, payload: { nonce: toBase64Url(new Uint8Array(32)), ack: 0, signature: 'AA' } });
    assert.equal(unknown.json<{ code: string }>().code, 'WALLET_NONCE_INVALID');
    const wallet = await ta.app.inject({ method: 'GET', url: `/v1/wallets/${w.id}`, headers: auth(ta.issuer) });
    assert.equal(wallet.json<{ ackedSeq: number }>().ackedSeq, 0);
  });

  it('keeps tenants apart: another tenant’s wallet and credential answer as missing', async (t) => {
    const ta = await setup(t);
    const w = await register(ta, ta.other, 'parking');
    const r = await ta.app.inject({ method: 'POST', url: '/v1/credentials', headers: auth(ta.issuer), payload: { tenant: 'metro', walletId: w.id, grants: { zones: ['A'] }, validUntil: Math.floor(ta.clock.now() / 1000) + 3600 } });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json<{ code: string }>().code, 'WALLET_NOT_FOUND');
    const forTenant = await ta.app.inject({ method: 'POST', url: '/v1/credentials', headers: auth(ta.issuer), payload: { tenant: 'parking', walletId: w.id, grants: { zones: ['A'] }, validUntil: Math.floor(ta.clock.now() / 1000) + 3600 } });
    assert.equal(forTenant.json<{ code: string }>().code, 'TENANT_FORBIDDEN');
    const own = await ta.app.inject({ method: 'POST', url: '/v1/credentials', headers: auth(ta.other), payload: { tenant: 'parking', walletId: w.id, grants: { zones: ['A'] }, validUntil: Math.floor(ta.clock.now() / 1000) + 3600 } });
    const id = own.json<{ id: string }>().id;
    assert.equal((await ta.app.inject({ method: 'POST', url: `/v1/credentials/${id}/revoke`, headers: auth(ta.issuer), payload: {} })).json<{ code: string }>().code, 'CREDENTIAL_NOT_FOUND');
    assert.equal((await ta.app.inject({ method: 'GET', url: `/v1/credentials/${id}`, headers: auth(ta.other) })).json<{ status: string }>().status, 'active');
  });

  it('registers a wallet only with a proof of possession of its SE key over a fresh challenge of its tenant, and records the attestation format', async (t) => {
    const ta = await setup(t);
    const h = auth(ta.issuer);
    const challenge = async (token = ta.issuer, tenant = 'metro') =>
      (await ta.app.inject({ method: 'POST', url: '/v1/wallets/challenges', headers: auth(token), payload: { tenant } })).json<{ challengeId: string; challenge: string }>();
    const key = generateKeyPair('P-256');
    const point = exportRawPublicKey(key.publicKey);
    const body = (ch: { challengeId: string; challenge: string }, o: { signer?: ReturnType<typeof generateKeyPair>; tenant?: string; attestation?: unknown } = {}) => ({
      tenant: 'metro',
      challengeId: ch.challengeId,
      publicKey: toBase64Url(point),
      signature: toBase64Url(createSignature('ES256', (o.signer ?? key).privateKey, registrationToBeSigned(o.tenant ?? 'metro', fromBase64Url(ch.challenge), point), 'raw')),
      ...(o.attestation !== undefined && { attestation: o.attestation }),
    });
    const post = async (payload: object) => (await ta.app.inject({ method: 'POST', url: '/v1/wallets', headers: h, payload })).json<{ code?: string; id?: string; attestationFormat?: string }>();
    const count = async () => (await ta.app.inject({ method: 'GET', url: '/v1/wallets?tenant=metro', headers: h })).json<unknown[]>().length;

    const ch = await challenge();
    // Signed by another key (wrong holder key), or for another tenant: no proof of this key for this tenant.
    assert.equal((await post(body(ch, { signer: generateKeyPair('P-256') }))).code, 'WALLET_PROOF_INVALID');
    assert.equal((await post(body(ch, { tenant: 'parking' }))).code, 'WALLET_PROOF_INVALID');
    assert.equal((await post({ ...body(ch), signature: toBase64Url(new Uint8Array(64)) })).code, 'WALLET_PROOF_INVALID');
    assert.equal((await post(body(ch, { attestation: { format: 'tpm', data: 'AAAA' } }))).code, 'WALLET_ATTESTATION_INVALID');
    assert.equal((await post(body(ch, { attestation: { format: 'none', data: 'AAAA' } }))).code, 'WALLET_ATTESTATION_INVALID');
    // Another tenant's challenge is unknown here.
    assert.equal((await post(body(await challenge(ta.other, 'parking')))).code, 'WALLET_CHALLENGE_INVALID');
    assert.equal(await count(), 0);

    const ok = await post(body(ch, { attestation: { format: 'android-key', data: toBase64Url(new Uint8Array([0x30, 0x00])) } }));
    assert.ok(ok.id, JSON.stringify(ok));
    assert.equal(ok.attestationFormat, 'android-key');
    // The challenge is single-use, and an old one expires.
    assert.equal((await post(body(ch))).code, 'WALLET_CHALLENGE_INVALID');
    const stale = await challenge();
    ta.clock.advance(301_000);
    assert.equal((await post(body(stale))).code, 'WALLET_CHALLENGE_INVALID');
    assert.equal(await count(), 1);
  });

  it('refuses malformed bodies with specific codes', async (t) => {
    const ta = await setup(t);
    const h = auth(ta.issuer);
    const bad = [
      { url: '/v1/credentials', payload: { tenant: 'metro', walletId: 'w_000000000000000000000000', grants: { zones: ['A'] }, extra: 1 }, code: 'INPUT_INVALID' },
      { url: '/v1/credentials', payload: { tenant: 'metro', walletId: 'w_000000000000000000000000', grants: { zones: ['A'] }, validUntil: Math.floor(ta.clock.now() / 1000) + 60 }, code: 'WALLET_NOT_FOUND' },
      { url: '/v1/credentials/templates', payload: { tenant: 'metro', id: 'x', name: 'x', validitySeconds: 600, grants: { resources: ['door:a/b*'] } }, code: 'CREDENTIAL_GRANTS_INVALID' },
      { url: '/v1/wallets', payload: { tenant: 'metro', challengeId: 'wc_000000000000000000000000', publicKey: 'AAAA', signature: 'AAAA' }, code: 'WALLET_KEY_INVALID' },
    ];
    for (const b of bad) {
      const r = await ta.app.inject({ method: 'POST', url: b.url, headers: h, payload: b.payload });
      assert.equal(r.json<{ code: string }>().code, b.code, `${b.url}: ${r.body}`);
    }
    assert.equal((await ta.app.inject({ method: 'GET', url: '/v1/status/nosuchlist' })).json<{ code: string }>().code, 'STATUS_LIST_NOT_FOUND');
    assert.equal((await ta.app.inject({ method: 'POST', url: '/v1/wallets/w_000000000000000000000000/nonce' })).json<{ code: string }>().code, 'WALLET_NOT_FOUND');
  });

  it('announces new status list versions to online readers over server-sent events', async (t) => {
    const ta = await setup(t);
    const w = await register(ta, ta.issuer, 'metro');
    const issued = (await ta.app.inject({ method: 'POST', url: '/v1/credentials', headers: auth(ta.issuer), payload: { tenant: 'metro', walletId: w.id, grants: { zones: ['A'] }, validUntil: Math.floor(ta.clock.now() / 1000) + 3600 } })).json<{ id: string; statusList: string }>();
    const url = await ta.app.listen({ port: 0, host: '127.0.0.1' });
    const event = new Promise<string>((resolve, reject) => {
      const req = get(`${url}/v1/status/events`, (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream');
        let buf = '';
        res.on('data', (d: Buffer) => {
          buf += d.toString();
          const m = /event: status\ndata: (.*)\n\n/.exec(buf);
          if (m) {
            req.destroy();
            resolve(m[1]!);
          }
        });
        // Revoke once the stream is open.
        void ta.app.inject({ method: 'POST', url: `/v1/credentials/${issued.id}/revoke`, headers: auth(ta.issuer), payload: {} });
      });
      req.on('error', reject);
    });
    assert.deepEqual(JSON.parse(await event), { list: issued.statusList, version: 1 });
  });
});
