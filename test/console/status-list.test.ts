/**
 * The console's status list reader (console/src/lib/status-list.ts, cbor.ts): the draft's
 * examples, and a real server's Status List Token before and after a revocation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, exportRawPublicKey, createSignature } from '../../src/crypto/index.ts';
import { fromBase64Url, toBase64Url } from '../../src/core/bytes.ts';
import { registrationToBeSigned } from '../../src/credentials/wallets.ts';
import { decodeCbor, Tagged, CborError } from '../../console/src/lib/cbor.ts';
import { inflate, readStatusListToken, statusAt } from '../../console/src/lib/status-list.ts';
import { auth, testApp, type TestApp } from '../helpers/app.ts';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));
let t: TestApp;

before(async () => {
  t = await testApp();
  await t.ctx.tenants.create({ id: 'metro', name: 'Metro' }, 'test');
});
after(() => t.close());

describe('reading status lists in the browser', () => {
  it('inflates the draft examples and reads 2-bit entries least significant bits first', async () => {
    // draft-ietf-oauth-status-list §4.1: 1-bit example; its first entries are 1,0,0,1,1,1,0,1.
    const one = await inflate(hex('78dadbb918000217015d'));
    assert.deepEqual([...one], [0xb9, 0xa3]);
    const v = { uri: undefined, issuedAt: undefined, bits: 1, list: one };
    assert.deepEqual([0, 1, 2, 3].map((i) => statusAt(v, i)), ['revoked', 'valid', 'valid', 'revoked']);
    const two = await inflate(hex('78da3be9f2130003df0207'));
    assert.deepEqual([...two], [0xc9, 0x44, 0xf9]);
    const v2 = { uri: undefined, issuedAt: undefined, bits: 2, list: two };
    // 0xc9 = 11 00 10 01: entries 0..3 are 1, 2, 0, 3.
    assert.deepEqual([0, 1, 2, 3].map((i) => statusAt(v2, i)), ['revoked', 'suspended', 'valid', 'status 3']);
    assert.throws(() => statusAt(v2, 12), /outside the list/);
  });

  it('decodes CBOR strictly', () => {
    const v = decodeCbor(hex('d28443a10126a104420102f64401020304'));
    assert.ok(v instanceof Tagged && v.tag === 18);
    assert.throws(() => decodeCbor(hex('9f01ff')), CborError, 'indefinite lengths refused');
    assert.throws(() => decodeCbor(hex('0102')), CborError, 'trailing bytes refused');
    assert.throws(() => decodeCbor(hex('5803')), CborError, 'truncated refused');
  });

  it("reads a real server's token: the credential's slot turns from valid to revoked", async () => {
    const h = auth(t.adminToken);
    const tpl = await t.app.inject({ method: 'POST', url: '/v1/credentials/templates', headers: h, payload: { tenant: 'metro', id: 'day', name: 'Day', validitySeconds: 86400, grants: { zones: ['A'] } } });
    assert.equal(tpl.statusCode, 201, tpl.body);
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/credentials/issuer-keys', headers: h, payload: { tenant: 'metro' } })).statusCode, 201);
    const key = generateKeyPair('P-256');
    const ch = (await t.app.inject({ method: 'POST', url: '/v1/wallets/challenges', headers: h, payload: { tenant: 'metro' } })).json<{ challengeId: string; challenge: string }>();
    const point = exportRawPublicKey(key.publicKey);
    const signature = toBase64Url(createSignature('ES256', key.privateKey, registrationToBeSigned('metro', fromBase64Url(ch.challenge), point), 'raw'));
    const w = await t.app.inject({ method: 'POST', url: '/v1/wallets', headers: h, payload: { tenant: 'metro', challengeId: ch.challengeId, publicKey: toBase64Url(point), signature, attestation: { format: 'none' } } });
    assert.equal(w.statusCode, 201, w.body);
    const res = await t.app.inject({ method: 'POST', url: '/v1/credentials', headers: h, payload: { tenant: 'metro', walletId: w.json<{ id: string }>().id, template: 'day' } });
    assert.equal(res.statusCode, 201, res.body);
    const issued = res.json<{ id: string; statusList: string; statusIndex: number }>();
    const read = async () => readStatusListToken(new Uint8Array((await t.app.inject({ method: 'GET', url: `/v1/status/${issued.statusList}` })).rawPayload));
    const before = await read();
    assert.equal(before.uri, `ct:${issued.statusList}`);
    assert.equal(statusAt(before, issued.statusIndex), 'valid');
    assert.equal((await t.app.inject({ method: 'POST', url: `/v1/credentials/${issued.id}/revoke`, headers: h, payload: { reason: 'lost' } })).statusCode, 200);
    assert.equal(statusAt(await read(), issued.statusIndex), 'revoked');
  });
});
