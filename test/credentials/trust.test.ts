/** The trust chain: city root → issuer certificates → trust list. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCoseSign1, encodeCbor, generateKeyPair, keyObjectSigner } from '../../src/crypto/index.ts';
import { createTrustList, CredentialTrust, verifyCredential, verifyIssuerCertificate, TYP_HEADER } from '../../src/credentials/device.ts';
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
