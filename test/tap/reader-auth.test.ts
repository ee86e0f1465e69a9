/**
 * The wallet authenticates readers with the PKI's device-side validator (src/pki/validate.ts):
 * a chain to the pinned city root for the reader or gate profile, not revoked, bound to a site.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { memoryLink } from '../../src/tap/index.ts';
import { CityReaderAuthenticator, readerCertificateFacts } from '../../src/wallet/tap/index.ts';
import { crlOf, makeCa, NOW, readerCert, world } from './helpers.ts';

describe('the city reader authenticator (X.509 chain to the city root)', () => {
  it('accepts a reader certificate of the readers CA and reads tenant, reader id, site and profile from it', async () => {
    const w = await world();
    const auth = new CityReaderAuthenticator({ anchors: [w.cityRoot.der] });
    const id = await auth.authenticate(w.readerCert.material.chain, NOW);
    assert.deepEqual({ tenant: id.tenant, readerId: id.readerId, site: id.site, profile: id.profile }, { tenant: 'acme', readerId: 'door-12', site: 'hq', profile: 'reader' });
  });

  it('grants a tap when the wallet validates the reader chain itself', async () => {
    const w = await world();
    const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })], { authenticator: new CityReaderAuthenticator({ anchors: [w.cityRoot.der] }) });
    const out = await w.reader.tap(memoryLink(responder));
    assert.equal(out.reason, 'GRANTED');
    assert.equal(outcomes[0]!.reader?.site, 'hq');
  });

  it('refuses a certificate from another CA (TAP_READER_UNTRUSTED, PKI_CHAIN_NO_PATH)', async () => {
    const w = await world();
    const rogueRoot = await makeCa('rogue root');
    const rogue = await readerCert(await makeCa('rogue readers', rogueRoot), { tenant: 'acme', readerId: 'door-12', site: 'hq' });
    const auth = new CityReaderAuthenticator({ anchors: [w.cityRoot.der] });
    await assert.rejects(Promise.resolve().then(() => auth.authenticate(rogue.material.chain, NOW)), (e: { code: string; details?: { reason?: string } }) => e.code === 'TAP_READER_UNTRUSTED' && e.details?.reason === 'PKI_CHAIN_NO_PATH');
    const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })], { authenticator: auth });
    const out = await w.makeReader({}, rogue.material).tap(memoryLink(responder));
    assert.equal(out.reason, 'TAP_READER_UNTRUSTED');
    assert.equal(outcomes[0]!.presented, undefined);
    assert.equal((await w.reader.tap(memoryLink(responder))).reason, 'GRANTED', 'the same wallet taps the genuine reader at once');
  });

  it('refuses a revoked reader once the wallet holds the CRL (TAP_READER_REVOKED), and the cache does not hide it', async () => {
    const w = await world();
    const auth = new CityReaderAuthenticator({ anchors: [w.cityRoot.der], crls: [await crlOf(w.cityRoot, []), await crlOf(w.ca, [])] });
    const { responder, outcomes } = w.wallet([await w.credential({ resources: ['door:hq/**'] })], { authenticator: auth });
    assert.equal((await w.reader.tap(memoryLink(responder))).reason, 'GRANTED');
    auth.setCrls([await crlOf(w.cityRoot, []), await crlOf(w.ca, [w.readerCert.serial])]);
    const out = await w.reader.tap(memoryLink(responder));
    assert.equal(out.reason, 'TAP_READER_REVOKED');
    assert.equal(outcomes.at(-1)!.presented, undefined);
    const replacement = await readerCert(w.ca, { tenant: 'acme', readerId: 'door-13', site: 'hq' });
    assert.equal((await w.makeReader({ readerId: 'door-13' }, replacement.material).tap(memoryLink(responder))).reason, 'GRANTED', 'a reader in good standing is served at once');
  });

  it('refuses an expired reader certificate and a certificate of another profile (TAP_READER_UNTRUSTED)', async () => {
    const w = await world();
    const auth = new CityReaderAuthenticator({ anchors: [w.cityRoot.der] });
    const old = await readerCert(w.ca, { tenant: 'acme', readerId: 'door-12', site: 'hq', notBefore: NOW - 10 * 86_400_000, notAfter: NOW - 86_400_000 });
    await assert.rejects(Promise.resolve().then(() => auth.authenticate(old.material.chain, NOW)), (e: { code: string; details?: { reason?: string } }) => e.code === 'TAP_READER_UNTRUSTED' && e.details?.reason === 'PKI_CHAIN_EXPIRED');
    // A certificate without the reader/gate policy is not a reader certificate at all.
    const notReader = w.ca.der;
    await assert.rejects(Promise.resolve().then(() => auth.authenticate([notReader], NOW)), { code: 'TAP_READER_UNTRUSTED' });
  });

  it('reads the site only from a site URN of the device tenant', async () => {
    const w = await world();
    const c = await readerCert(w.ca, { tenant: 'acme', readerId: 'gate-7', profile: 'gate' });
    const facts = readerCertificateFacts(c.der);
    assert.equal(facts.site, undefined);
    assert.equal(facts.profile, 'gate');
    // A gate without a certified site asking for a resource is refused by the reveal policy.
    const { responder } = w.wallet([await w.credential({ resources: ['door:hq/**'] })], { authenticator: new CityReaderAuthenticator({ anchors: [w.cityRoot.der] }) });
    const out = await w.makeReader({ readerId: 'gate-7' }, c.material).tap(memoryLink(responder));
    assert.equal(out.reason, 'TAP_READER_SITE_MISMATCH');
  });
});
