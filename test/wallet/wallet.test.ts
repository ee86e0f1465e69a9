/** The wallet SDK against the real issuer service: multi-application store, sync with lost acks and crashes, UV gate, sealed storage. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Wallet, MemoryStorage, SealedRecords, SoftwareSecureElement, type SyncTransport } from '../../src/wallet/index.ts';
import { KeyObject } from 'node:crypto';
import { FixedClock } from '../../src/core/clock.ts';
import { CredentialTrust, createCredential, encodeProvisioningMessage, sealEnvelope, verifyHolderSignature, type ProvisioningMessage } from '../../src/credentials/index.ts';
import { fromBase64Url, toBase64Url } from '../../src/core/bytes.ts';
import { generateKeyPair, keyObjectSigner, verifySignature } from '../../src/crypto/index.ts';
import { openEnv, type Env } from '../credentials/service-helpers.ts';
import { rejectsCode } from '../credentials/helpers.ts';

function direct(env: Env): SyncTransport {
  return { nonce: (id) => env.svc.wallets.nonce(id), sync: (id, body) => env.svc.wallets.sync(id, body) };
}

async function registered(env: Env, wallet: Wallet, tenant: string): Promise<string> {
  const ch = await env.svc.wallets.createChallenge(tenant, 'app');
  const proof = await wallet.registrationProof(tenant, ch.challenge);
  const w = await env.svc.wallets.register(tenant, { challengeId: ch.challengeId, publicKey: proof.publicKey, signature: proof.signature }, 'app');
  await wallet.completeRegistration(tenant, w.id, proof.keyAlias);
  return w.id;
}

async function issue(env: Env, tenant: string, walletId: string, grants: Record<string, unknown> = { zones: ['A'] }) {
  return env.svc.issuer.issue(tenant, { walletId, grants, validUntil: Math.floor(env.clock.now() / 1000) + 3600 }, 'test');
}

describe('the wallet SDK', () => {
  it('holds credentials of several tenants at once, each under its own registration key', async (t) => {
    const env = await openEnv(t);
    const wallet = await Wallet.open({ storage: new MemoryStorage(), storageKey: randomBytes(32), clock: env.clock, verifyUser: async () => true });
    const metro = await registered(env, wallet, 'metro');
    const parking = await registered(env, wallet, 'parking');
    const a = await issue(env, 'metro', metro);
    const b = await issue(env, 'parking', parking, { resources: ['car:fleet/42'] });
    assert.deepEqual(await wallet.sync(metro, direct(env)), [a.id]);
    assert.deepEqual(await wallet.sync(parking, direct(env)), [b.id]);
    assert.deepEqual(wallet.credentials().map((c) => c.tenant).sort(), ['metro', 'parking']);
    const root = await env.svc.root.get();
    const trust = CredentialTrust.fromTrustList((await env.svc.trustLists.current()).token, { root: root.verifier, now: Math.floor(env.clock.now() / 1000) });
    assert.equal(wallet.verify(b.id, trust).claims.iss, 'parking');
    assert.notDeepEqual(wallet.se.publicPoint(wallet.registrations()[0]!.keyAlias), wallet.se.publicPoint(wallet.registrations()[1]!.keyAlias));
  });

  it('loses and duplicates nothing when a sync answer is lost', async (t) => {
    const env = await openEnv(t);
    const wallet = await Wallet.open({ storage: new MemoryStorage(), storageKey: randomBytes(32), clock: env.clock, verifyUser: async () => true });
    const id = await registered(env, wallet, 'metro');
    const issued = [await issue(env, 'metro', id), await issue(env, 'metro', id)];
    let drop = true;
    const lossy: SyncTransport = {
      nonce: (w) => env.svc.wallets.nonce(w),
      sync: async (w, body) => {
        const res = await env.svc.wallets.sync(w, body);
        if (drop) {
          drop = false;
          throw new Error('connection reset');
        }
        return res;
      },
    };
    await assert.rejects(wallet.sync(id, lossy));
    assert.equal(wallet.credentials().length, 0);
    assert.deepEqual((await wallet.sync(id, lossy)).sort(), issued.map((c) => c.id).sort());
    assert.deepEqual(await wallet.sync(id, lossy), []);
    assert.equal(wallet.credentials().length, 2);
    assert.equal((await env.svc.wallets.get('metro', id)).pendingDeliveries, 0);
  });

  it('survives a crash between receiving and storing: the reopened wallet gets everything once', async (t) => {
    const env = await openEnv(t);
    const storage = new MemoryStorage();
    const key = randomBytes(32);
    const wallet = await Wallet.open({ storage, storageKey: key, clock: env.clock, verifyUser: async () => true });
    const id = await registered(env, wallet, 'metro');
    const c = await issue(env, 'metro', id);
    const put = storage.put.bind(storage);
    storage.put = async (name, value) => {
      if (name === 'wallet-state') throw new Error('disk full');
      return put(name, value);
    };
    await assert.rejects(wallet.sync(id, direct(env)));
    storage.put = put;
    const again = await Wallet.open({ storage, storageKey: key, clock: env.clock, verifyUser: async () => true });
    assert.deepEqual(await again.sync(id, direct(env)), [c.id]);
    assert.deepEqual(again.credentials().map((x) => x.id), [c.id]);
  });

  it('lets a relay touch nothing outside its own application: foreign tenants, other holder keys and garbage are refused with their codes and change nothing', async (t) => {
    const env = await openEnv(t);
    const storage = new MemoryStorage();
    const wallet = await Wallet.open({ storage, storageKey: randomBytes(32), clock: env.clock, verifyUser: async () => true });
    const metro = await registered(env, wallet, 'metro');
    const parking = await registered(env, wallet, 'parking');
    const car = await issue(env, 'parking', parking);
    await wallet.sync(parking, direct(env));
    await issue(env, 'metro', metro);
    const reg = wallet.registrations().find((r) => r.walletId === metro)!;
    const metroKey = wallet.se.publicKey(reg.keyAlias);
    // The metro app relays the metro sync and slips in envelopes sealed to the metro registration key.
    const seal = (m: ProvisioningMessage) => toBase64Url(sealEnvelope({ plaintext: encodeProvisioningMessage(m), walletId: metro, walletKey: metroKey }));
    const forged = async (o: { iss?: string; holder?: ReturnType<typeof generateKeyPair>['publicKey'] }) => {
      const k = generateKeyPair('P-256');
      const now = Math.floor(env.clock.now() / 1000);
      return createCredential({ claims: { iss: o.iss ?? 'metro', exp: now + 60, nbf: now, iat: now, cti: new Uint8Array(randomBytes(8)), holderKey: o.holder ?? metroKey, grants: { zones: ['A'] } }, signer: keyObjectSigner('ES256', k.privateKey), kid: new Uint8Array(8) });
    };
    const did = () => randomBytes(16).toString('hex');
    const injections: [string, string][] = [
      [seal({ kind: 'status', deliveryId: did(), tenant: 'parking', credentialId: car.id, status: 'revoked' }), 'CREDENTIAL_ISSUER_MISMATCH'],
      [seal({ kind: 'credential', deliveryId: did(), tenant: 'parking', credential: await forged({ iss: 'parking' }), replaces: car.id }), 'CREDENTIAL_ISSUER_MISMATCH'],
      [seal({ kind: 'credential', deliveryId: did(), tenant: 'metro', credential: await forged({ iss: 'parking' }) }), 'CREDENTIAL_ISSUER_MISMATCH'],
      [seal({ kind: 'credential', deliveryId: did(), tenant: 'metro', credential: await forged({ holder: generateKeyPair('P-256').publicKey }) }), 'CREDENTIAL_HOLDER_MISMATCH'],
      [toBase64Url(sealEnvelope({ plaintext: Uint8Array.of(0xa0), walletId: metro, walletKey: metroKey })), 'PROVISIONING_ENVELOPE_INVALID'],
      [toBase64Url(fromBase64Url(seal({ kind: 'status', deliveryId: did(), tenant: 'metro', credentialId: car.id, status: 'revoked' })).subarray(0, 40)), 'PROVISIONING_ENVELOPE_INVALID'],
    ];
    const before = JSON.stringify([wallet.credentials(), wallet.registrations()]);
    const stored = Buffer.concat([...storage.records.values()]);
    for (const [envelope, code] of injections) {
      const relay: SyncTransport = {
        nonce: (w) => env.svc.wallets.nonce(w),
        sync: async (w, body) => {
          const res = await env.svc.wallets.sync(w, body);
          return { ...res, deliveries: [...res.deliveries, { seq: 99, envelope }] };
        },
      };
      await rejectsCode(wallet.sync(metro, relay), code as Parameters<typeof rejectsCode>[1]);
      assert.equal(JSON.stringify([wallet.credentials(), wallet.registrations()]), before, code);
      assert.deepEqual(Buffer.concat([...storage.records.values()]), stored, code);
    }
    // The honest sync then brings the metro credential, and the car key is untouched.
    assert.equal((await wallet.sync(metro, direct(env))).length, 1);
    assert.deepEqual(wallet.credentials('parking').map((c) => [c.id, c.status]), [[car.id, 'valid']]);
  });

  it('applies a status notice or a replacement only to credentials of the registration that received it', async (t) => {
    const env = await openEnv(t);
    const wallet = await Wallet.open({ storage: new MemoryStorage(), storageKey: randomBytes(32), clock: env.clock, verifyUser: async () => true });
    const metro = await registered(env, wallet, 'metro');
    const parking = await registered(env, wallet, 'parking');
    const car = await issue(env, 'parking', parking);
    await wallet.sync(parking, direct(env));
    const reg = wallet.registrations().find((r) => r.walletId === metro)!;
    const metroKey = wallet.se.publicKey(reg.keyAlias);
    const seal = (m: ProvisioningMessage) => toBase64Url(sealEnvelope({ plaintext: encodeProvisioningMessage(m), walletId: metro, walletKey: metroKey }));
    // A well-formed metro notice that names the parking credential: ignored, like one for a credential not held.
    const relay: SyncTransport = {
      nonce: (w) => env.svc.wallets.nonce(w),
      sync: async (w, body) => {
        const res = await env.svc.wallets.sync(w, body);
        if (body.ack !== 0) return res;
        return {
          ...res,
          deliveries: [
            { seq: 1, envelope: seal({ kind: 'status', deliveryId: randomBytes(16).toString('hex'), tenant: 'metro', credentialId: car.id, status: 'revoked' }) },
            { seq: 2, envelope: seal({ kind: 'credential', deliveryId: randomBytes(16).toString('hex'), tenant: 'metro', credential: metroCredential, replaces: car.id }) },
          ],
        };
      },
    };
    const now = Math.floor(env.clock.now() / 1000);
    const metroCredential = await createCredential({ claims: { iss: 'metro', exp: now + 60, nbf: now, iat: now, cti: new Uint8Array(randomBytes(8)), holderKey: metroKey, grants: { zones: ['A'] } }, signer: keyObjectSigner('ES256', generateKeyPair('P-256').privateKey), kid: new Uint8Array(8) });
    // The server never sent seq 2, so the next round's ack is refused; what was filed stays within metro.
    await assert.rejects(wallet.sync(metro, relay), (e: Error & { code?: string }) => e.code === 'WALLET_ACK_INVALID');
    assert.deepEqual(wallet.credentials('parking').map((c) => [c.id, c.status]), [[car.id, 'valid']]);
    assert.equal(wallet.credentials('metro').length, 1);
  });

  it('applies updates, suspensions and revocations pushed by the issuer', async (t) => {
    const env = await openEnv(t);
    const wallet = await Wallet.open({ storage: new MemoryStorage(), storageKey: randomBytes(32), clock: env.clock, verifyUser: async () => true });
    const id = await registered(env, wallet, 'metro');
    const c = await issue(env, 'metro', id);
    await wallet.sync(id, direct(env));
    const next = await env.svc.issuer.update('metro', c.id, { grants: { zones: ['A', 'B'] } }, 'test');
    await wallet.sync(id, direct(env));
    assert.deepEqual(wallet.credentials().map((x) => x.id), [next.id]);
    await env.svc.issuer.suspend('metro', next.id, 'test');
    await wallet.sync(id, direct(env));
    assert.equal(wallet.credentials()[0]!.status, 'suspended');
    await rejectsCode(wallet.present(next.id, new Uint8Array(8)), 'CREDENTIAL_STATE_INVALID');
  });

  it('asks for user verification as the credential policy says, and refuses when the holder declines', async (t) => {
    const env = await openEnv(t);
    let prompts = 0;
    let answer = true;
    const wallet = await Wallet.open({ storage: new MemoryStorage(), storageKey: randomBytes(32), clock: env.clock, verifyUser: async () => (prompts++, answer) });
    const id = await registered(env, wallet, 'metro');
    const c = await issue(env, 'metro', id, { resources: ['car:fleet/7'], userVerificationSeconds: 30 });
    await wallet.sync(id, direct(env));
    const challenge = new Uint8Array(randomBytes(16));
    const p = await wallet.present(c.id, challenge);
    assert.equal(prompts, 1);
    const root = await env.svc.root.get();
    const trust = CredentialTrust.fromTrustList((await env.svc.trustLists.current()).token, { root: root.verifier, now: Math.floor(env.clock.now() / 1000) });
    verifyHolderSignature(wallet.verify(c.id, trust), challenge, p.signature);
    env.clock.advance(20_000);
    await wallet.present(c.id, challenge);
    assert.equal(prompts, 1, 'verified within the last 30 s');
    env.clock.advance(11_000);
    answer = false;
    await rejectsCode(wallet.present(c.id, challenge), 'WALLET_USER_VERIFICATION_REQUIRED');
    assert.equal(prompts, 2);
  });

  it('keeps secure-element keys inside it: nothing it exposes or returns is a private key', async () => {
    const storage = new MemoryStorage();
    const se = await SoftwareSecureElement.open({ records: new SealedRecords(storage, randomBytes(32)), clock: new FixedClock(), verifyUser: async () => true });
    const point = await se.createKey('reg-metro');
    assert.equal(point.length, 65);
    assert.equal(se.publicKey('reg-metro').type, 'public');
    assert.deepEqual(Object.keys(se), []);
    assert.equal(JSON.stringify(se), '{}');
    const agreement = se.agreement('reg-metro') as unknown as Record<string, unknown>;
    for (const v of Object.values(agreement)) assert.ok(!(v instanceof KeyObject), 'no key object leaves through the agreement');
    // What it signs verifies with the public key; the private key itself is reachable by no method.
    const sig = await se.sign('reg-metro', Uint8Array.of(1, 2, 3));
    assert.equal(verifySignature('ES256', se.publicKey('reg-metro'), Uint8Array.of(1, 2, 3), sig, 'raw'), true);
    const methods = Object.getOwnPropertyNames(SoftwareSecureElement.prototype).filter((m) => m !== 'constructor');
    assert.deepEqual(methods.sort(), ['agreement', 'aliases', 'createKey', 'publicKey', 'publicPoint', 'sign', 'verifyUser']);
    await rejectsCode(se.sign('nope', Uint8Array.of(1)), 'WALLET_KEY_NOT_FOUND');
    // Persisted sealed: no PKCS#8 header or key bytes in clear.
    const all = Buffer.concat([...storage.records.values()]);
    assert.equal(all.includes(Buffer.from('reg-metro')), false);
    assert.equal(all.includes(Buffer.from(point.subarray(1, 33))), false);
  });

  it('persists only ciphertext and refuses storage sealed under another key', async (t) => {
    const env = await openEnv(t);
    const storage = new MemoryStorage();
    const key = randomBytes(32);
    const wallet = await Wallet.open({ storage, storageKey: key, clock: env.clock, verifyUser: async () => true });
    const id = await registered(env, wallet, 'metro');
    await issue(env, 'metro', id);
    await wallet.sync(id, direct(env));
    const all = Buffer.concat([...storage.records.values()]);
    for (const s of ['metro', id, 'reg-metro', 'credential']) assert.equal(all.includes(Buffer.from(s)), false, s);
    await rejectsCode(Wallet.open({ storage, storageKey: randomBytes(32), clock: env.clock, verifyUser: async () => true }), 'WALLET_STORAGE_CORRUPT');
    const reopened = await Wallet.open({ storage, storageKey: key, clock: env.clock, verifyUser: async () => true });
    assert.equal(reopened.credentials().length, 1);
  });
});
