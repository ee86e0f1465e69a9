/** IETF Token Status List: the draft's byte arrays and example tokens, our tokens, and bad lists. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import type { CborTag} from '../../src/crypto/index.ts';
import { coseVerifierKey, importRawPublicKey, keyObjectSigner, generateKeyPair, decodeCbor, encodeCbor } from '../../src/crypto/index.ts';
import {
  createStatusListToken,
  credentialStatus,
  CredentialTrust,
  keyIdOf,
  StatusList,
  verifyCredential,
  verifyStatusListToken,
  type TrustedIssuerKey,
} from '../../src/credentials/device.ts';
import { issue, makeChain, makeIssuer, NOW, NOW_S, throwsCode } from './helpers.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('the status list byte array (draft-ietf-oauth-status-list §4.1)', () => {
  it('decodes the draft 1-bit example 78dadbb918000217015d to its 16 statuses', () => {
    const l = StatusList.decompress(1, hex('78dadbb918000217015d'));
    assert.deepEqual(Array.from({ length: 16 }, (_, i) => l.get(i)), [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]);
  });

  it('decodes the draft 2-bit example 78da3be9f2130003df0207 and rebuilds its bytes', () => {
    const l = StatusList.decompress(2, hex('78da3be9f2130003df0207'));
    const want = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
    assert.deepEqual(Array.from({ length: 12 }, (_, i) => l.get(i)), want);
    const ours = StatusList.empty(12, 2);
    want.forEach((v, i) => ours.set(i, v));
    assert.deepEqual(ours.bytes, Uint8Array.from([0xc9, 0x44, 0xf9]));
    assert.deepEqual(ours.compress(), hex('78da3be9f2130003df0207'));
  });

  it('holds 131,072 two-bit entries in 32 KiB and compresses an almost empty list to a few dozen bytes', () => {
    const l = StatusList.empty(131072, 2);
    assert.equal(l.bytes.length, 32768);
    l.set(131071, 1);
    l.set(7, 2);
    assert.ok(l.compress().length < 100);
    const back = StatusList.decompress(2, l.compress());
    assert.equal(back.get(131071), 1);
    assert.equal(back.get(7), 2);
    assert.equal(back.get(8), 0);
  });

  it('refuses indices out of range, values that do not fit and ZLIB bombs', () => {
    const l = StatusList.empty(16, 1);
    throwsCode(() => l.get(16), 'STATUS_LIST_INDEX_OUT_OF_RANGE');
    throwsCode(() => l.get(-1), 'STATUS_LIST_INDEX_OUT_OF_RANGE');
    throwsCode(() => l.set(0, 2), 'STATUS_LIST_INVALID');
    throwsCode(() => StatusList.decompress(1, deflateSync(new Uint8Array(4 << 20))), 'STATUS_LIST_INVALID');
    throwsCode(() => StatusList.decompress(1, Uint8Array.from([1, 2, 3])), 'STATUS_LIST_INVALID');
    throwsCode(() => StatusList.empty(3, 1), 'STATUS_LIST_INVALID');
  });
});

describe('the draft example Status List Token (CWT)', () => {
  // Public half of the draft's example key (kid "12"); the private half is not needed to verify.
  const key = importRawPublicKey('P-256', Buffer.concat([Buffer.from([4]), Buffer.from('I3HWm_0Ds1dPMI-IWmf4mBmH-YaeAVbPVu7vB27CxXo', 'base64url'), Buffer.from('6N_d5Elj9bs1htgV3okJKIdbHEpkgTmAluYKJemzn1M', 'base64url')]));
  const token = hex(`d2845820a2012610781a6170706c69636174696f6e2f7374617475736c6973742b63
7774a1044231325850a502782168747470733a2f2f6578616d706c652e636f6d2f73
74617475736c697374732f31061a648c5bea041a8898dfea19fffe19a8c019fffda2
646269747301636c73744a78dadbb918000217015d584093fa4d01032b18c35e2fe1
101b77fd6cc9440022caa4694450c4e4e9feab4e99d1fa6d9772ce2bf3a12e0323de
d7c982c5e101a5e67f0cbc1e2b6f57ce99c279`);
  const trusted: TrustedIssuerKey = { tenant: 'example', kid: new TextEncoder().encode('12'), verifier: coseVerifierKey('ES256', key), nbf: 0, exp: 2 ** 40, signUntil: undefined };
  const trust = CredentialTrust.of([trusted]);

  it('verifies and gives the example statuses', () => {
    const v = verifyStatusListToken(token, { trust, uri: 'https://example.com/statuslists/1', issuer: 'example', now: Date.UTC(2024, 0, 1) });
    assert.equal(v.ttl, 43200);
    assert.equal(v.list.bits, 1);
    assert.equal(v.list.get(0), 1);
    assert.equal(v.list.get(1), 0);
  });

  it('is refused for another uri, another issuer, after exp, when stale, or altered', () => {
    const base = { trust, uri: 'https://example.com/statuslists/1', issuer: 'example', now: Date.UTC(2024, 0, 1) };
    throwsCode(() => verifyStatusListToken(token, { ...base, uri: 'https://example.com/statuslists/2' }), 'STATUS_LIST_INVALID');
    throwsCode(() => verifyStatusListToken(token, { ...base, issuer: 'other' }), 'STATUS_LIST_INVALID');
    throwsCode(() => verifyStatusListToken(token, { ...base, now: Date.UTC(2043, 0, 1) }), 'STATUS_LIST_INVALID');
    throwsCode(() => verifyStatusListToken(token, { ...base, maxAgeSeconds: 60 }), 'STATUS_LIST_STALE');
    const altered = Uint8Array.from(token);
    altered[altered.length - 70] ^= 1;
    throwsCode(() => verifyStatusListToken(altered, base), 'STATUS_LIST_INVALID');
  });
});

describe('our Status List Tokens', () => {
  it('carry revocation and suspension to a reader that checks a verified credential', async () => {
    const chain = await makeChain();
    const cred = verifyCredential(await issue(chain), { trust: chain.trust, now: NOW });
    const list = StatusList.empty(131072, 2);
    const make = async () => createStatusListToken({ uri: 'ct:k3v9q2xa', list, iat: NOW_S, exp: NOW_S + 3600, ttl: 300 }, chain.issuer.signer, chain.issuer.kid);
    const opts = { trust: chain.trust, uri: 'ct:k3v9q2xa', issuer: 'metro', now: NOW };
    assert.equal(credentialStatus(cred, verifyStatusListToken(await make(), opts)), 'valid');
    list.set(131071, 2);
    assert.equal(credentialStatus(cred, verifyStatusListToken(await make(), opts)), 'suspended');
    list.set(131071, 1);
    assert.equal(credentialStatus(cred, verifyStatusListToken(await make(), opts)), 'revoked');
  });

  it('are refused when signed by another tenant, without the statuslist typ, or for another list', async () => {
    const chain = await makeChain();
    const other = await makeIssuer(chain.root, 'parking');
    const trust = CredentialTrust.of([chain.issuer.trusted, other.trusted]);
    const list = StatusList.empty(16, 2);
    const foreign = await createStatusListToken({ uri: 'ct:k3v9q2xa', list, iat: NOW_S, exp: NOW_S + 60, ttl: 60 }, other.signer, other.kid);
    throwsCode(() => verifyStatusListToken(foreign, { trust, uri: 'ct:k3v9q2xa', issuer: 'metro', now: NOW }), 'STATUS_LIST_INVALID');
    // A credential signed by the issuer is not a status list, even though the same key signed it.
    const credential = await issue(chain);
    throwsCode(() => verifyStatusListToken(credential, { trust, uri: 'ct:k3v9q2xa', issuer: 'metro', now: NOW }), 'STATUS_LIST_INVALID');
    const cred = verifyCredential(credential, { trust, now: NOW });
    const small = verifyStatusListToken(await createStatusListToken({ uri: 'ct:k3v9q2xa', list, iat: NOW_S, exp: NOW_S + 60, ttl: 60 }, chain.issuer.signer, chain.issuer.kid), { trust, uri: 'ct:k3v9q2xa', issuer: 'metro', now: NOW });
    throwsCode(() => credentialStatus(cred, small), 'STATUS_LIST_INDEX_OUT_OF_RANGE');
  });

  it('are refused when signed by an untrusted key', async () => {
    const chain = await makeChain();
    const rogue = generateKeyPair('P-256');
    const token = await createStatusListToken({ uri: 'ct:k3v9q2xa', list: StatusList.empty(16, 2), iat: NOW_S, exp: NOW_S + 60, ttl: 60 }, keyObjectSigner('ES256', rogue.privateKey), chain.issuer.kid);
    throwsCode(() => verifyStatusListToken(token, { trust: chain.trust, uri: 'ct:k3v9q2xa', issuer: 'metro', now: NOW }), 'STATUS_LIST_INVALID');
    const unknown = await createStatusListToken({ uri: 'ct:k3v9q2xa', list: StatusList.empty(16, 2), iat: NOW_S, exp: NOW_S + 60, ttl: 60 }, keyObjectSigner('ES256', rogue.privateKey), keyIdOf(rogue.publicKey));
    throwsCode(() => verifyStatusListToken(unknown, { trust: chain.trust, uri: 'ct:k3v9q2xa', issuer: 'metro', now: NOW }), 'STATUS_LIST_INVALID');
    const t = decodeCbor(unknown, { maxBytes: 4096, maxDepth: 8, maxItems: 64, allowedTags: [18] }) as CborTag;
    assert.ok(encodeCbor(t).length > 0);
  });
});
