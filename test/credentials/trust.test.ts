/** The trust chain: city root → issuer certificates → trust list. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { coseVerifierKey, createCoseSign1, encodeCbor, exportSpkiPublicKey, generateKeyPair, keyObjectSigner } from '../../src/crypto/index.ts';
import { createRootCertificate, createTrustList, CredentialTrust, keyIdOf, pinnedRootKey, verifyCredential, verifyIssuerCertificate, verifyRootCertificate, TYP_HEADER } from '../../src/credentials/device.ts';
import { issue, makeChain, makeIssuer, makeRoot, NOW, NOW_S, throwsCode } from './helpers.ts';

describe('issuer certificates', () => {
  it('bind a tenant to one key and one algorithm under the city root', async () => {
    const root = makeRoot();
    const es = await makeIssuer(root, 'metro', 'ES256');
    const ed = await makeIssuer(root, 'campus', 'EdDSA');
    assert.equal(es.trusted.tenant, 'metro');
    assert.equal(es.trusted.verifier.alg, 'ES256');
    assert.equal(ed.trusted.verifier.alg, 'EdDSA');
    assert.deepEqual(es.trusted.kid, es.kid);
  });

  it('are refused when signed by another root, expired, or typed as something else', async () => {
    const root = makeRoot();
    const other = makeRoot();
    const { certificate } = await makeIssuer(root);
    throwsCode(() => verifyIssuerCertificate(certificate, { root: other.verifier, now: NOW_S }), 'CREDENTIAL_TRUST_LIST_INVALID');
    throwsCode(() => verifyIssuerCertificate(certificate, { root: root.verifier, now: NOW_S + 400 * 86400 }), 'CREDENTIAL_TRUST_LIST_INVALID');
    const list = await createTrustList({ certificates: [certificate], iat: NOW_S, exp: NOW_S + 86400 }, root.signer, root.kid);
    throwsCode(() => verifyIssuerCertificate(list, { root: root.verifier, now: NOW_S }), 'CREDENTIAL_TRUST_LIST_INVALID');
  });

  it('are refused when the kid is not the hash of the key', async () => {
    const root = makeRoot();
    const claims = new Map<number, unknown>([
      [1, 'city'], [2, 'metro'], [6, NOW_S], [5, NOW_S - 1], [4, NOW_S + 100],
      [8, new Map([[1, new Map<number, unknown>([[1, 2], [-1, 1], [-2, new Uint8Array(32)], [-3, false], [2, new Uint8Array(8)], [3, -7]])]])],
    ]);
    const cert = await createCoseSign1({ payload: encodeCbor(claims), signer: root.signer, protectedHeaders: new Map([[TYP_HEADER, 'application/ct-issuer+cwt']]) });
    throwsCode(() => verifyIssuerCertificate(cert, { root: root.verifier, now: NOW_S }), 'CREDENTIAL_TRUST_LIST_INVALID');
  });
});

describe('trust lists', () => {
  it('give readers every certified key and let them verify credentials offline', async () => {
    const chain = await makeChain();
    const campus = await makeIssuer(chain.root, 'campus', 'EdDSA');
    const list = await createTrustList({ certificates: [chain.issuer.certificate, campus.certificate], iat: NOW_S, exp: NOW_S + 86400 }, chain.root.signer, chain.root.kid);
    const trust = CredentialTrust.fromTrustList(list, { root: chain.root.verifier, now: NOW_S });
    assert.equal(trust.keys().length, 2);
    assert.equal(trust.expiresAt, NOW_S + 86400);
    assert.equal(verifyCredential(await issue(chain), { trust, now: NOW }).claims.iss, 'metro');
  });

  it('skip a certificate not signed by the root and refuse an expired or foreign list', async () => {
    const chain = await makeChain();
    const rogueRoot = makeRoot();
    const rogue = await makeIssuer(rogueRoot, 'metro');
    const list = await createTrustList({ certificates: [chain.issuer.certificate, rogue.certificate], iat: NOW_S, exp: NOW_S + 86400 }, chain.root.signer, chain.root.kid);
    assert.equal(CredentialTrust.fromTrustList(list, { root: chain.root.verifier, now: NOW_S }).keys().length, 1);
    throwsCode(() => CredentialTrust.fromTrustList(list, { root: chain.root.verifier, now: NOW_S + 86400 }), 'CREDENTIAL_TRUST_LIST_INVALID');
    throwsCode(() => CredentialTrust.fromTrustList(list, { root: rogueRoot.verifier, now: NOW_S }), 'CREDENTIAL_TRUST_LIST_INVALID');
    throwsCode(() => CredentialTrust.fromTrustList(chain.issuer.certificate, { root: chain.root.verifier, now: NOW_S }), 'CREDENTIAL_TRUST_LIST_INVALID');
    const forged = await createTrustList({ certificates: [chain.issuer.certificate], iat: NOW_S, exp: NOW_S + 86400 }, keyObjectSigner('ES256', generateKeyPair('P-256').privateKey), chain.root.kid);
    throwsCode(() => CredentialTrust.fromTrustList(forged, { root: chain.root.verifier, now: NOW_S }), 'CREDENTIAL_TRUST_LIST_INVALID');
  });
});

describe('one city root: the city PKI root certifies the credential root', () => {
  /** A city root of the PKI's default key type (P-384) and a credential root it certifies. */
  async function cityChain(opts: { exp?: number } = {}) {
    const city = generateKeyPair('P-384');
    const cityPin = pinnedRootKey(exportSpkiPublicKey(city.publicKey));
    const chain = await makeChain();
    const rootCertificate = await createRootCertificate(
      { publicKey: chain.root.verifier.key, iat: NOW_S, nbf: NOW_S - 60, exp: opts.exp ?? NOW_S + 10 * 365 * 86400 },
      keyObjectSigner('ES384', city.privateKey),
      keyIdOf(city.publicKey),
    );
    const list = await createTrustList({ certificates: [chain.issuer.certificate], iat: NOW_S, exp: NOW_S + 86400, rootCertificate }, chain.root.signer, chain.root.kid);
    return { city, cityPin, chain, rootCertificate, list };
  }

  it('a reader that pins only the city root verifies the trust list and the credentials under it', async () => {
    const { cityPin, chain, rootCertificate, list } = await cityChain();
    assert.equal(cityPin.alg, 'ES384');
    assert.deepEqual(verifyRootCertificate(rootCertificate, { cityRoot: cityPin, now: NOW_S }).kid, chain.root.kid);
    const trust = CredentialTrust.fromTrustList(list, { root: cityPin, now: NOW_S });
    assert.equal(verifyCredential(await issue(chain), { trust, now: NOW }).claims.iss, 'metro');
    // A reader that pinned the credential root itself verifies the same bytes.
    assert.equal(CredentialTrust.fromTrustList(list, { root: chain.root.verifier, now: NOW_S }).keys().length, 1);
  });

  it('refuses a root certificate from another city root, an expired one, one for another key, and a list that carries none', async () => {
    const { chain, list, city } = await cityChain();
    const other = pinnedRootKey(exportSpkiPublicKey(generateKeyPair('P-384').publicKey));
    throwsCode(() => CredentialTrust.fromTrustList(list, { root: other, now: NOW_S }), 'CREDENTIAL_TRUST_LIST_INVALID');
    const short = await cityChain({ exp: NOW_S + 100 });
    throwsCode(() => CredentialTrust.fromTrustList(short.list, { root: short.cityPin, now: NOW_S + 100 }), 'CREDENTIAL_TRUST_LIST_INVALID');
    // The city root certified some other key, and the list is signed by the credential root.
    const cityPin = pinnedRootKey(exportSpkiPublicKey(city.publicKey));
    const wrongCert = await createRootCertificate({ publicKey: generateKeyPair('P-256').publicKey, iat: NOW_S, nbf: NOW_S - 60, exp: NOW_S + 86400 }, keyObjectSigner('ES384', city.privateKey), keyIdOf(city.publicKey));
    const wrong = await createTrustList({ certificates: [chain.issuer.certificate], iat: NOW_S, exp: NOW_S + 86400, rootCertificate: wrongCert }, chain.root.signer, chain.root.kid);
    throwsCode(() => CredentialTrust.fromTrustList(wrong, { root: cityPin, now: NOW_S }), 'CREDENTIAL_TRUST_LIST_INVALID');
    const bare = await createTrustList({ certificates: [chain.issuer.certificate], iat: NOW_S, exp: NOW_S + 86400 }, chain.root.signer, chain.root.kid);
    throwsCode(() => CredentialTrust.fromTrustList(bare, { root: cityPin, now: NOW_S }), 'CREDENTIAL_TRUST_LIST_INVALID');
    // An issuer certificate is not a root certificate (typ), even when the city root signed it.
    const typed = await makeIssuer({ signer: keyObjectSigner('ES384', city.privateKey), verifier: cityPin, kid: keyIdOf(city.publicKey) });
    throwsCode(() => verifyRootCertificate(typed.certificate, { cityRoot: cityPin, now: NOW_S }), 'CREDENTIAL_TRUST_LIST_INVALID');
  });

  it('skips an issuer certificate signed by the city root directly: only the credential root certifies issuers', async () => {
    const { chain, city, cityPin, rootCertificate } = await cityChain();
    const direct = await makeIssuer({ signer: keyObjectSigner('ES384', city.privateKey), verifier: cityPin, kid: keyIdOf(city.publicKey) }, 'rogue');
    const list = await createTrustList({ certificates: [chain.issuer.certificate, direct.certificate], iat: NOW_S, exp: NOW_S + 86400, rootCertificate }, chain.root.signer, chain.root.kid);
    assert.deepEqual(CredentialTrust.fromTrustList(list, { root: cityPin, now: NOW_S }).keys().map((k) => k.tenant), ['metro']);
  });

  it('works the same with a P-256 city root pinned as a bare ES256 key (a reader state directory)', async () => {
    const city = generateKeyPair('P-256');
    const chain = await makeChain();
    const rootCertificate = await createRootCertificate({ publicKey: chain.root.verifier.key, iat: NOW_S, nbf: NOW_S - 60, exp: NOW_S + 86400 }, keyObjectSigner('ES256', city.privateKey), keyIdOf(city.publicKey));
    const list = await createTrustList({ certificates: [chain.issuer.certificate], iat: NOW_S, exp: NOW_S + 3600, rootCertificate }, chain.root.signer, chain.root.kid);
    const bare = coseVerifierKey('ES256', city.publicKey);
    assert.equal(CredentialTrust.fromTrustList(list, { root: bare, now: NOW_S }).keys().length, 1);
  });

  it('pins P-256, P-384 and Ed25519 roots and refuses other keys', () => {
    assert.equal(pinnedRootKey(exportSpkiPublicKey(generateKeyPair('P-256').publicKey)).alg, 'ES256');
    assert.equal(pinnedRootKey(exportSpkiPublicKey(generateKeyPair('Ed25519').publicKey)).alg, 'EdDSA');
    throwsCode(() => pinnedRootKey(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])), 'CREDENTIAL_TRUST_LIST_INVALID');
  });
});
