/** Provisioning envelopes: COSE_Encrypt0 with ECDH-ES + HKDF-256 to the wallet key, and every way to break one. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CborTag, decodeCbor, encodeCbor, generateKeyPair, keyObjectAgreement, coseKdfContext, hkdfSha256, ecdhSharedSecret, fromCoseKey, aesGcmOpen } from '../../src/crypto/index.ts';
import { decodeProvisioningMessage, encodeProvisioningMessage, openEnvelope, sealEnvelope } from '../../src/credentials/device.ts';
import { rejectsCode, throwsCode } from './helpers.ts';

const wallet = generateKeyPair('P-256');
const agreement = keyObjectAgreement(wallet.privateKey);
const plaintext = new TextEncoder().encode('a credential');

function parts(b: Uint8Array): unknown[] {
  return (decodeCbor(b, { maxBytes: 4096, maxDepth: 6, maxItems: 64, allowedTags: [16] }) as CborTag).value as unknown[];
}

describe('provisioning envelopes', () => {
  it('open with the wallet key and carry only ciphertext', async () => {
    const env = sealEnvelope({ plaintext, walletId: 'w1', walletKey: wallet.publicKey, walletKid: new Uint8Array(8) });
    assert.deepEqual(await openEnvelope(env, { walletId: 'w1', agreement }), plaintext);
    assert.equal(Buffer.from(env).includes(Buffer.from('a credential')), false);
    const [prot, unprot] = parts(env) as [Uint8Array, Map<number, unknown>];
    assert.deepEqual(prot, Uint8Array.from([0xa1, 0x01, 0x03]));
    assert.ok(unprot.get(-1) instanceof Map);
    assert.equal((unprot.get(5) as Uint8Array).length, 12);
  });

  it('follow RFC 9053: CEK = HKDF(ECDH(wallet, ephemeral), COSE_KDF_Context[3, nil…, [256, protected]])', () => {
    const env = sealEnvelope({ plaintext, walletId: 'w1', walletKey: wallet.publicKey });
    const [prot, unprot, ct] = parts(env) as [Uint8Array, Map<number, unknown>, Uint8Array];
    const eph = fromCoseKey(unprot.get(-1) as Map<unknown, unknown>).publicKey!;
    const cek = hkdfSha256(ecdhSharedSecret(wallet.privateKey, eph), new Uint8Array(0), coseKdfContext({ algorithmId: 3, keyDataLength: 256, protected: prot }), 32);
    const aad = encodeCbor(['Encrypt0', prot, encodeCbor(['citytrust/provisioning/v1', 'w1'])]);
    assert.deepEqual(aesGcmOpen(cek, unprot.get(5) as Uint8Array, ct, aad), plaintext);
  });

  it('use a fresh ephemeral key and IV each time', () => {
    const a = parts(sealEnvelope({ plaintext, walletId: 'w1', walletKey: wallet.publicKey }));
    const b = parts(sealEnvelope({ plaintext, walletId: 'w1', walletKey: wallet.publicKey }));
    assert.notDeepEqual((a[1] as Map<number, unknown>).get(5), (b[1] as Map<number, unknown>).get(5));
    assert.notDeepEqual(a[2], b[2]);
  });

  it('refuse another wallet key, another wallet id, altered bytes, swapped headers and garbage', async () => {
    const env = sealEnvelope({ plaintext, walletId: 'w1', walletKey: wallet.publicKey });
    await rejectsCode(openEnvelope(env, { walletId: 'w1', agreement: keyObjectAgreement(generateKeyPair('P-256').privateKey) }), 'PROVISIONING_ENVELOPE_INVALID');
    await rejectsCode(openEnvelope(env, { walletId: 'w2', agreement }), 'PROVISIONING_ENVELOPE_INVALID');
    const flipped = Uint8Array.from(env);
    flipped[flipped.length - 3] ^= 0x40;
    await rejectsCode(openEnvelope(flipped, { walletId: 'w1', agreement }), 'PROVISIONING_ENVELOPE_INVALID');
    const [prot, unprot, ct] = parts(env) as [Uint8Array, Map<number, unknown>, Uint8Array];
    await rejectsCode(openEnvelope(encodeCbor(new CborTag([encodeCbor(new Map([[1, 1]])), unprot, ct], 16)), { walletId: 'w1', agreement }), 'PROVISIONING_ENVELOPE_INVALID');
    const other = parts(sealEnvelope({ plaintext, walletId: 'w1', walletKey: wallet.publicKey }))[1] as Map<number, unknown>;
    const swapped = new Map(unprot);
    swapped.set(-1, other.get(-1));
    await rejectsCode(openEnvelope(encodeCbor(new CborTag([prot, swapped, ct], 16)), { walletId: 'w1', agreement }), 'PROVISIONING_ENVELOPE_INVALID');
    const noKey = new Map(unprot);
    noKey.delete(-1);
    await rejectsCode(openEnvelope(encodeCbor(new CborTag([prot, noKey, ct], 16)), { walletId: 'w1', agreement }), 'PROVISIONING_ENVELOPE_INVALID');
    await rejectsCode(openEnvelope(env.subarray(0, 20), { walletId: 'w1', agreement }), 'PROVISIONING_ENVELOPE_INVALID');
    await rejectsCode(openEnvelope(new Uint8Array(20000), { walletId: 'w1', agreement }), 'PROVISIONING_ENVELOPE_INVALID');
  });
});

describe('provisioning messages', () => {
  it('round-trip credential and status deliveries', () => {
    const c = { kind: 'credential', deliveryId: '00112233445566778899aabbccddeeff', tenant: 'metro', credential: Uint8Array.from([1, 2]), replaces: '0011223344556677' } as const;
    assert.deepEqual(decodeProvisioningMessage(encodeProvisioningMessage(c)), c);
    const s = { kind: 'status', deliveryId: '00112233445566778899aabbccddeeff', tenant: 'metro', credentialId: '0011223344556677', status: 'suspended' } as const;
    assert.deepEqual(decodeProvisioningMessage(encodeProvisioningMessage(s)), s);
  });

  it('are written as the generic deterministic encoder writes them', () => {
    const generic = (m: Record<number, unknown>) => encodeCbor(new Map(Object.entries(m).map(([k, v]) => [Number(k), v])));
    for (const [tenant, credential, replaces] of [
      ['metro', new Uint8Array(250), undefined],
      ['städtische-werke', new Uint8Array(23), '0011223344556677'],
      ['x'.repeat(300), new Uint8Array(70000), undefined],
      ['p', new Uint8Array(0), '00112233445566778899aabbccddeeff'],
    ] as const) {
      const m = { kind: 'credential', deliveryId: '00112233445566778899aabbccddeeff', tenant, credential, ...(replaces !== undefined && { replaces }) } as const;
      assert.deepEqual(encodeProvisioningMessage(m), generic({ 1: 1, 2: m.deliveryId, 3: tenant, 4: credential, ...(replaces !== undefined && { 5: replaces }) }), tenant);
    }
  });

  it('refuse unknown kinds and missing fields', () => {
    throwsCode(() => decodeProvisioningMessage(encodeCbor(new Map<number, unknown>([[1, 9], [2, '00112233445566778899aabbccddeeff'], [3, 'm']]))), 'PROVISIONING_ENVELOPE_INVALID');
    throwsCode(() => decodeProvisioningMessage(encodeCbor(new Map<number, unknown>([[1, 1], [2, 'x'], [3, 'm']]))), 'PROVISIONING_ENVELOPE_INVALID');
    throwsCode(() => decodeProvisioningMessage(Uint8Array.from([0xff])), 'PROVISIONING_ENVELOPE_INVALID');
  });
});
