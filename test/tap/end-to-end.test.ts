/**
 * The whole path with the real pieces: the issuer service issues to a wallet (the wallet SDK with its
 * software secure element, synced through the service), the reader's trust cache takes the
 * service's trust list and status list, the tap runs over ISO 7816-4 APDUs, and a revocation made
 * at the service reaches the reader's decision.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FixedClock } from '../../src/core/clock.ts';
import { ApduCard, ApduReaderLink, AirLog } from '../../src/tap/index.ts';
import { MemoryEventSink, Reader, TrustCache, validateReaderConfig } from '../../src/reader/index.ts';
import { Wallet, MemoryStorage, type SyncTransport } from '../../src/wallet/index.ts';
import { CityReaderAuthenticator, WalletTapResponder, walletCredentialSource } from '../../src/wallet/tap/index.ts';
import { openEnv } from '../credentials/service-helpers.ts';
import { makeCa, readerCert } from './helpers.ts';

describe('issuer service → wallet SDK → reader, over NFC APDUs', () => {
  it('grants the synced credential offline, and refuses it once the revocation reached the reader', async (t) => {
    const env = await openEnv(t, ['acme']);
    const clock = env.clock as FixedClock;
    // The holder's phone: registration with the tenant, then a sync that brings the credential.
    const wallet = await Wallet.open({ storage: new MemoryStorage(), storageKey: randomBytes(32), clock, verifyUser: async () => true });
    const ch = await env.svc.wallets.createChallenge('acme', 'app');
    const proof = await wallet.registrationProof('acme', ch.challenge);
    const reg = await env.svc.wallets.register('acme', { challengeId: ch.challengeId, publicKey: proof.publicKey, signature: proof.signature }, 'app');
    await wallet.completeRegistration('acme', reg.id, proof.keyAlias);
    const issued = await env.svc.issuer.issue('acme', { walletId: reg.id, grants: { resources: ['door:hq/**'] }, validUntil: Math.floor(clock.now() / 1000) + 3600 }, 'test');
    const direct: SyncTransport = { nonce: (id) => env.svc.wallets.nonce(id), sync: (id, body) => env.svc.wallets.sync(id, body) };
    assert.deepEqual(await wallet.sync(reg.id, direct), [issued.id]);

    // The reader: certified by the city readers CA for site hq, trust data from the service.
    const cityRoot = await makeCa('city root');
    const readersCa = await makeCa('readers CA', cityRoot);
    const rc = await readerCert(readersCa, { tenant: 'acme', readerId: 'door-12', site: 'hq' });
    const root = await env.svc.root.get();
    const trust = new TrustCache({ root: root.verifier });
    const listId = (await env.store.db.selectFrom('credentials').select('status_list_id').where('id', '=', issued.id).executeTakeFirstOrThrow()).status_list_id as string;
    const refresh = async () => trust.update({ trustList: (await env.svc.trustLists.current()).token, statusLists: [(await env.svc.statusLists.publish(listId)).token] }, clock.now());
    await refresh();
    const sink = new MemoryEventSink();
    const reader = new Reader({
      config: validateReaderConfig({ readerId: 'door-12', tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'], trustedTenants: ['acme'] }),
      identity: rc.material,
      trust,
      events: sink,
      clock,
    });

    const card = new ApduCard(new WalletTapResponder({ authenticator: new CityReaderAuthenticator({ anchors: [cityRoot.der] }), credentials: walletCredentialSource(wallet), clock }));
    const air = new AirLog();
    const granted = await reader.tap(await ApduReaderLink.open((c) => card.process(c), { log: air }));
    assert.equal(granted.reason, 'GRANTED');
    assert.equal(granted.event.credentialId, issued.id);
    assert.ok(air.frames.length >= 8, 'SELECT, chained ENVELOPEs and GET RESPONSE went over the air');

    await env.svc.issuer.revoke('acme', issued.id, 'test');
    clock.advance(1000);
    await refresh();
    const refused = await reader.tap(await ApduReaderLink.open((c) => card.process(c)));
    assert.equal(refused.reason, 'REVOKED');
  });
});
