/** The COSE layer's contract beyond the WG vectors: algorithm binding, headers, keys, recipients. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import {
  coseContentKey,
  coseMacKey,
  coseVerifierKey,
  createCoseEncrypt0,
  createCoseEncryptEcdhEs,
  createCoseMac0,
  createCoseSign1,
  createSignature,
  decodeCbor,
  decryptCoseEncrypt,
  decryptCoseEncrypt0,
  encodeCbor,
  exportRawPublicKey,
  fromCoseKey,
  generateKeyPair,
  hmacSha256,
  keyObjectAgreement,
  keyObjectSigner,
  randomBytes,
  toCoseKey,
  verifyCoseMac0,
  verifyCoseSign1,
  CBOR_DEFAULT_LIMITS,
  CborTag,
  type CoseSignAlgorithm,
  type HeaderMap,
} from '../../src/crypto/index.ts';
import { macStructure, sigStructure1 } from '../../src/crypto/cose/structures.ts';
import { isCityTrustError, type ErrorCode } from '../../src/core/errors.ts';
import { bytesEqual } from '../../src/core/bytes.ts';

async function codeOf(f: () => unknown): Promise<ErrorCode> {
  try {
    await f();
  } catch (e) {
    if (isCityTrustError(e)) return e.code;
    throw e;
  }
  assert.fail('expected a CityTrustError');
}

const PAYLOAD = new TextEncoder().encode('ticket: zones A-B');
const ALL: readonly CoseSignAlgorithm[] = ['ES256', 'ES384', 'EdDSA'];
const KIND = { ES256: 'P-256', ES384: 'P-384', EdDSA: 'Ed25519' } as const;
const ALG_ID = { ES256: -7, ES384: -35, EdDSA: -8 } as const;

/** A COSE_Sign1 with arbitrary header buckets but a valid signature, to reach the header checks. */
function rawSign1(alg: CoseSignAlgorithm, privateKey: KeyObject, prot: Uint8Array, unprot: Map<unknown, unknown>, payload = PAYLOAD): Uint8Array {
  const sig = createSignature(alg, privateKey, sigStructure1(prot, new Uint8Array(0), payload));
  return encodeCbor(new CborTag([prot, unprot, payload, sig], 18));
}

describe('COSE_Sign1', () => {
  for (const alg of ALL) {
    it(`${alg}: creates and verifies, returning payload, alg and kid`, async () => {
      const { privateKey, publicKey } = generateKeyPair(KIND[alg]);
      const kid = Uint8Array.of(1, 2, 3);
      const msg = await createCoseSign1({ payload: PAYLOAD, signer: keyObjectSigner(alg, privateKey), unprotectedHeaders: new Map([[4, kid]]) });
      assert.equal(msg[0], 0xd2);
      const r = verifyCoseSign1(msg, { key: coseVerifierKey(alg, publicKey), algorithms: [alg] });
      assert.deepEqual(r.payload, PAYLOAD);
      assert.equal(r.alg, alg);
      assert.deepEqual(r.kid, kid);
      assert.equal(r.protectedHeaders.get(1), ALG_ID[alg]);
    });
  }

  it('signs through an asynchronous signer (a vault) and refuses a signer that returns DER', async () => {
    const { privateKey, publicKey } = generateKeyPair('P-256');
    const inner = keyObjectSigner('ES256', privateKey);
    const vault = { alg: 'ES256' as const, sign: async (tbs: Uint8Array) => inner.sign(tbs) };
    const msg = await createCoseSign1({ payload: PAYLOAD, signer: vault });
    assert.deepEqual(verifyCoseSign1(msg, { key: coseVerifierKey('ES256', publicKey), algorithms: ['ES256'] }).payload, PAYLOAD);
    const der = { alg: 'ES256' as const, sign: (tbs: Uint8Array) => createSignature('ES256', privateKey, tbs, 'der') };
    assert.equal(await codeOf(() => createCoseSign1({ payload: PAYLOAD, signer: der })), 'CRYPTO_SIGNATURE_ENCODING');
  });

  it('refuses an EdDSA message under an ES256 key and the reverse (COSE_ALG_KEY_MISMATCH)', async () => {
    const ed = generateKeyPair('Ed25519');
    const ec = generateKeyPair('P-256');
    const edMsg = await createCoseSign1({ payload: PAYLOAD, signer: keyObjectSigner('EdDSA', ed.privateKey) });
    const ecMsg = await createCoseSign1({ payload: PAYLOAD, signer: keyObjectSigner('ES256', ec.privateKey) });
    assert.equal(await codeOf(() => verifyCoseSign1(edMsg, { key: coseVerifierKey('ES256', ec.publicKey), algorithms: ALL })), 'COSE_ALG_KEY_MISMATCH');
    assert.equal(await codeOf(() => verifyCoseSign1(ecMsg, { key: coseVerifierKey('EdDSA', ed.publicKey), algorithms: ALL })), 'COSE_ALG_KEY_MISMATCH');
    // A key can only be bound to the algorithm its type fits.
    assert.equal(await codeOf(() => coseVerifierKey('ES256', ed.publicKey)), 'CRYPTO_KEY_INVALID');
    assert.equal(await codeOf(() => coseVerifierKey('ES384', ec.publicKey)), 'CRYPTO_KEY_INVALID');
  });

  it('refuses a missing alg, "none", unknown identifiers and algorithms the verifier does not list', async () => {
    const { privateKey, publicKey } = generateKeyPair('P-256');
    const key = coseVerifierKey('ES256', publicKey);
    const cases: [Uint8Array, ErrorCode][] = [
      [new Uint8Array(0), 'COSE_ALG_MISSING'],
      [encodeCbor(new Map([[3, 0]])), 'COSE_ALG_MISSING'],
      [encodeCbor(new Map([[1, 'none']])), 'COSE_ALG_NOT_ALLOWED'],
      [encodeCbor(new Map([[1, 'ES256']])), 'COSE_ALG_NOT_ALLOWED'], // the name is not the identifier
      [encodeCbor(new Map([[1, 0]])), 'COSE_ALG_NOT_ALLOWED'],
      [encodeCbor(new Map([[1, -36]])), 'COSE_ALG_NOT_ALLOWED'], // ES512
      [encodeCbor(new Map([[1, 5]])), 'COSE_ALG_NOT_ALLOWED'], // HS256 in a Sign1
      [encodeCbor(new Map([[1, new Uint8Array(1)]])), 'COSE_HEADER_INVALID'],
    ];
    for (const [prot, code] of cases) {
      assert.equal(await codeOf(() => verifyCoseSign1(rawSign1('ES256', privateKey, prot, new Map()), { key, algorithms: ALL })), code);
    }
    const good = await createCoseSign1({ payload: PAYLOAD, signer: keyObjectSigner('ES256', privateKey) });
    assert.equal(await codeOf(() => verifyCoseSign1(good, { key, algorithms: ['EdDSA'] })), 'COSE_ALG_NOT_ALLOWED');
    assert.equal(await codeOf(() => verifyCoseSign1(good, { key, algorithms: [] })), 'COSE_ALG_NOT_ALLOWED');
    assert.equal(await codeOf(() => verifyCoseSign1(good, { key, algorithms: ['HS256' as never] })), 'COSE_ALG_NOT_ALLOWED');
  });

  it('takes alg from the unprotected bucket only when allowed, and the key binding still applies', async () => {
    const { privateKey, publicKey } = generateKeyPair('P-256');
    const msg = rawSign1('ES256', privateKey, new Uint8Array(0), new Map([[1, -7]]));
    assert.equal(await codeOf(() => verifyCoseSign1(msg, { key: coseVerifierKey('ES256', publicKey), algorithms: ALL })), 'COSE_ALG_UNPROTECTED');
    assert.deepEqual(verifyCoseSign1(msg, { key: coseVerifierKey('ES256', publicKey), algorithms: ALL, allowUnprotectedAlg: true }).payload, PAYLOAD);
    const relabelled = rawSign1('ES256', privateKey, new Uint8Array(0), new Map([[1, -8]]));
    const ed = generateKeyPair('Ed25519');
    assert.equal(
      await codeOf(() => verifyCoseSign1(relabelled, { key: coseVerifierKey('ES256', publicKey), algorithms: ALL, allowUnprotectedAlg: true })),
      'COSE_ALG_KEY_MISMATCH',
    );
    assert.equal(
      await codeOf(() => verifyCoseSign1(relabelled, { key: coseVerifierKey('EdDSA', ed.publicKey), algorithms: ALL, allowUnprotectedAlg: true })),
      'COSE_SIGNATURE_INVALID',
    );
  });

  it('refuses critical headers it does not understand, unless the caller declares them', async () => {
    const { privateKey, publicKey } = generateKeyPair('P-256');
    const key = coseVerifierKey('ES256', publicKey);
    const prot = encodeCbor(new Map<unknown, unknown>([[1, -7], [2, [-65537]], [-65537, 1]]));
    const msg = rawSign1('ES256', privateKey, prot, new Map());
    assert.equal(await codeOf(() => verifyCoseSign1(msg, { key, algorithms: ALL })), 'COSE_CRIT_UNSUPPORTED');
    assert.deepEqual(verifyCoseSign1(msg, { key, algorithms: ALL, criticalHeaders: [-65537] }).payload, PAYLOAD);
    const counterSig = encodeCbor(new Map<unknown, unknown>([[1, -7], [2, [7]]]));
    assert.equal(await codeOf(() => verifyCoseSign1(rawSign1('ES256', privateKey, counterSig, new Map()), { key, algorithms: ALL })), 'COSE_CRIT_UNSUPPORTED');
    const emptyCrit = encodeCbor(new Map<unknown, unknown>([[1, -7], [2, []]]));
    assert.equal(await codeOf(() => verifyCoseSign1(rawSign1('ES256', privateKey, emptyCrit, new Map()), { key, algorithms: ALL })), 'COSE_HEADER_INVALID');
    const unprotectedCrit = rawSign1('ES256', privateKey, encodeCbor(new Map([[1, -7]])), new Map([[2, [4]]]));
    assert.equal(await codeOf(() => verifyCoseSign1(unprotectedCrit, { key, algorithms: ALL })), 'COSE_HEADER_INVALID');
  });

  it('ignores an unverified counter signature (label 7) that is not critical', async () => {
    const { privateKey, publicKey } = generateKeyPair('P-256');
    const msg = rawSign1('ES256', privateKey, encodeCbor(new Map([[1, -7]])), new Map([[7, [new Uint8Array(0), new Map(), new Uint8Array(64)]]]));
    assert.deepEqual(verifyCoseSign1(msg, { key: coseVerifierKey('ES256', publicKey), algorithms: ALL }).payload, PAYLOAD);
  });

  it('refuses malformed header buckets with COSE_HEADER_INVALID', async () => {
    const { privateKey, publicKey } = generateKeyPair('P-256');
    const key = coseVerifierKey('ES256', publicKey);
    const prot = encodeCbor(new Map([[1, -7]]));
    const cases: [Uint8Array, Map<unknown, unknown>][] = [
      [prot, new Map([[1, -7]])], // alg in both buckets
      [prot, new Map([[4, 'kid-as-text']])],
      [prot, new Map([[5, new Uint8Array(12)], [6, new Uint8Array(2)]])],
      [prot, new Map([[3, -1]])],
      [prot, new Map([[new Uint8Array(1), 1]])],
      [encodeCbor([1, -7]), new Map()],
    ];
    for (const [p, u] of cases) assert.equal(await codeOf(() => verifyCoseSign1(rawSign1('ES256', privateKey, p, u), { key, algorithms: ALL })), 'COSE_HEADER_INVALID');
  });

  it('refuses structural damage with specific codes', async () => {
    const { privateKey, publicKey } = generateKeyPair('P-256');
    const key = coseVerifierKey('ES256', publicKey);
    const good = await createCoseSign1({ payload: PAYLOAD, signer: keyObjectSigner('ES256', privateKey) });
    const body = (decodeCbor(good, { ...CBOR_DEFAULT_LIMITS, allowedTags: [18] }) as CborTag).value as unknown[];
    const v = (x: Uint8Array) => verifyCoseSign1(x, { key, algorithms: ALL });
    assert.equal(await codeOf(() => v(encodeCbor(new CborTag(body.slice(0, 3), 18)))), 'COSE_MALFORMED');
    assert.equal(await codeOf(() => v(encodeCbor(new CborTag([body[0], body[1], body[2], 'sig'], 18)))), 'COSE_MALFORMED');
    assert.equal(await codeOf(() => v(encodeCbor(new CborTag([body[0], [], body[2], body[3]], 18)))), 'COSE_MALFORMED');
    assert.equal(await codeOf(() => v(Uint8Array.of(...good, 0))), 'CBOR_TRAILING_BYTES');
    assert.equal(await codeOf(() => v(good.subarray(0, good.length - 1))), 'CBOR_TRUNCATED');
    assert.equal(await codeOf(() => v(Uint8Array.of(0xd8, 0x12, ...good.subarray(1)))), 'CBOR_NON_SHORTEST');
    const mac = createCoseMac0({ payload: PAYLOAD, key: coseMacKey('HS256', randomBytes(32)) });
    assert.equal(await codeOf(() => v(mac)), 'COSE_TAG_MISMATCH');
    assert.equal(await codeOf(() => v(encodeCbor(new CborTag(new CborTag(body, 18), 61)))), 'COSE_TAG_MISMATCH');
  });

  it('supports detached payloads (RFC 9052 §2) and binds external AAD', async () => {
    const { privateKey, publicKey } = generateKeyPair('Ed25519');
    const key = coseVerifierKey('EdDSA', publicKey);
    const aad = Uint8Array.of(9, 9);
    const msg = await createCoseSign1({ payload: PAYLOAD, signer: keyObjectSigner('EdDSA', privateKey), detached: true, externalAad: aad });
    assert.equal(await codeOf(() => verifyCoseSign1(msg, { key, algorithms: ALL, externalAad: aad })), 'COSE_PAYLOAD_MISSING');
    assert.deepEqual(verifyCoseSign1(msg, { key, algorithms: ALL, externalAad: aad, detachedPayload: PAYLOAD }).payload, PAYLOAD);
    assert.equal(await codeOf(() => verifyCoseSign1(msg, { key, algorithms: ALL, detachedPayload: PAYLOAD })), 'COSE_SIGNATURE_INVALID');
    const attached = await createCoseSign1({ payload: PAYLOAD, signer: keyObjectSigner('EdDSA', privateKey) });
    assert.equal(await codeOf(() => verifyCoseSign1(attached, { key, algorithms: ALL, detachedPayload: PAYLOAD })), 'COSE_MALFORMED');
  });

  it('resolves keys by kid and reports unknown ones as COSE_KEY_NOT_FOUND', async () => {
    const a = generateKeyPair('P-256');
    const b = generateKeyPair('P-256');
    const trusted = new Map([['a', coseVerifierKey('ES256', a.publicKey)]]);
    const resolver = ({ kid }: { kid: Uint8Array | undefined }) => (kid ? trusted.get(new TextDecoder().decode(kid)) : undefined);
    const signed = (kp: typeof a, kid: string) =>
      createCoseSign1({ payload: PAYLOAD, signer: keyObjectSigner('ES256', kp.privateKey), unprotectedHeaders: new Map([[4, new TextEncoder().encode(kid)]]) });
    assert.deepEqual(verifyCoseSign1(await signed(a, 'a'), { key: resolver, algorithms: ALL }).payload, PAYLOAD);
    assert.equal(await codeOf(async () => verifyCoseSign1(await signed(b, 'b'), { key: resolver, algorithms: ALL })), 'COSE_KEY_NOT_FOUND');
    // A forger who claims someone else's kid still needs their key.
    assert.equal(await codeOf(async () => verifyCoseSign1(await signed(b, 'a'), { key: resolver, algorithms: ALL })), 'COSE_SIGNATURE_INVALID');
  });

  it('refuses conflicting sender headers', async () => {
    const { privateKey } = generateKeyPair('P-256');
    const signer = keyObjectSigner('ES256', privateKey);
    assert.equal(await codeOf(() => createCoseSign1({ payload: PAYLOAD, signer, protectedHeaders: new Map([[1, -8]]) })), 'COSE_HEADER_INVALID');
    assert.equal(await codeOf(() => createCoseSign1({ payload: PAYLOAD, signer, unprotectedHeaders: new Map([[1, -7]]) })), 'COSE_HEADER_INVALID');
    const both: [HeaderMap, HeaderMap] = [new Map([[3, 0]]), new Map([[3, 0]])];
    assert.equal(await codeOf(() => createCoseSign1({ payload: PAYLOAD, signer, protectedHeaders: both[0], unprotectedHeaders: both[1] })), 'COSE_HEADER_INVALID');
  });
});

describe('COSE_Mac0', () => {
  for (const alg of ['HS256', 'HS256/64'] as const) {
    it(`${alg}: creates and verifies with a ${alg === 'HS256' ? 32 : 8}-byte tag`, () => {
      const key = coseMacKey(alg, randomBytes(32));
      const msg = createCoseMac0({ payload: PAYLOAD, key });
      const tag = ((decodeCbor(msg, { ...CBOR_DEFAULT_LIMITS, allowedTags: [17] }) as CborTag).value as Uint8Array[])[3] as Uint8Array;
      assert.equal(tag.length, alg === 'HS256' ? 32 : 8);
      assert.deepEqual(verifyCoseMac0(msg, { key, algorithms: [alg] }).payload, PAYLOAD);
    });
  }

  it('cannot be downgraded from HS256 to HS256/64 by relabelling and truncating', async () => {
    const bytes = randomBytes(32);
    const key = coseMacKey('HS256', bytes);
    const prot = encodeCbor(new Map([[1, 4]]));
    const forged = encodeCbor(new CborTag([prot, new Map(), PAYLOAD, hmacSha256(bytes, macStructure('MAC0', prot, new Uint8Array(0), PAYLOAD)).slice(0, 8)], 17));
    assert.equal(await codeOf(() => verifyCoseMac0(forged, { key, algorithms: ['HS256', 'HS256/64'] })), 'COSE_ALG_KEY_MISMATCH');
  });

  it('refuses short keys, wrong-length tags and altered messages', async () => {
    assert.equal(await codeOf(() => coseMacKey('HS256', randomBytes(16))), 'CRYPTO_KEY_SIZE_UNSUPPORTED');
    const key = coseMacKey('HS256', randomBytes(32));
    const msg = createCoseMac0({ payload: PAYLOAD, key });
    const parts = (decodeCbor(msg, { ...CBOR_DEFAULT_LIMITS, allowedTags: [17] }) as CborTag).value as unknown[];
    const cut = encodeCbor(new CborTag([parts[0], parts[1], parts[2], (parts[3] as Uint8Array).slice(0, 8)], 17));
    assert.equal(await codeOf(() => verifyCoseMac0(cut, { key, algorithms: ['HS256'] })), 'COSE_MAC_INVALID');
    const altered = encodeCbor(new CborTag([parts[0], parts[1], Uint8Array.of(1), parts[3]], 17));
    assert.equal(await codeOf(() => verifyCoseMac0(altered, { key, algorithms: ['HS256'] })), 'COSE_MAC_INVALID');
  });
});

describe('COSE_Encrypt0', () => {
  for (const alg of ['A128GCM', 'A256GCM'] as const) {
    it(`${alg}: encrypts with a fresh random IV each time and decrypts`, () => {
      const key = coseContentKey(alg, randomBytes(alg === 'A128GCM' ? 16 : 32));
      const a = createCoseEncrypt0({ plaintext: PAYLOAD, key, externalAad: Uint8Array.of(1) });
      const b = createCoseEncrypt0({ plaintext: PAYLOAD, key, externalAad: Uint8Array.of(1) });
      assert.ok(!bytesEqual(a, b));
      assert.deepEqual(decryptCoseEncrypt0(a, { key, algorithms: [alg], externalAad: Uint8Array.of(1) }).plaintext, PAYLOAD);
    });
  }

  it('builds the IV from a Partial IV and the Base IV (a frame counter)', async () => {
    const baseIv = randomBytes(12);
    const key = coseContentKey('A256GCM', randomBytes(32), { baseIv });
    const msg = createCoseEncrypt0({ plaintext: PAYLOAD, key, partialIv: Uint8Array.of(0, 42) });
    const r = decryptCoseEncrypt0(msg, { key, algorithms: ['A256GCM'] });
    assert.deepEqual(r.plaintext, PAYLOAD);
    assert.deepEqual(r.unprotectedHeaders.get(6), Uint8Array.of(0, 42));
    const otherBase = coseContentKey('A256GCM', key.key, { baseIv: randomBytes(12) });
    assert.equal(await codeOf(() => decryptCoseEncrypt0(msg, { key: otherBase, algorithms: ['A256GCM'] })), 'COSE_DECRYPT_FAILED');
    const noBase = coseContentKey('A256GCM', key.key);
    assert.equal(await codeOf(() => decryptCoseEncrypt0(msg, { key: noBase, algorithms: ['A256GCM'] })), 'COSE_HEADER_INVALID');
  });

  it('refuses wrong IV lengths, tampering, other keys and the CCM algorithm unless listed', async () => {
    const key = coseContentKey('A128GCM', randomBytes(16));
    assert.equal(await codeOf(() => createCoseEncrypt0({ plaintext: PAYLOAD, key, iv: randomBytes(16) })), 'CRYPTO_IV_LENGTH');
    const msg = createCoseEncrypt0({ plaintext: PAYLOAD, key });
    const parts = (decodeCbor(msg, { ...CBOR_DEFAULT_LIMITS, allowedTags: [16] }) as CborTag).value as unknown[];
    const badIv = encodeCbor(new CborTag([parts[0], new Map([[5, randomBytes(16)]]), parts[2]], 16));
    assert.equal(await codeOf(() => decryptCoseEncrypt0(badIv, { key, algorithms: ['A128GCM'] })), 'COSE_HEADER_INVALID');
    const noIv = encodeCbor(new CborTag([parts[0], new Map(), parts[2]], 16));
    assert.equal(await codeOf(() => decryptCoseEncrypt0(noIv, { key, algorithms: ['A128GCM'] })), 'COSE_HEADER_INVALID');
    const tampered = Uint8Array.from(msg);
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] as number) ^ 1;
    assert.equal(await codeOf(() => decryptCoseEncrypt0(tampered, { key, algorithms: ['A128GCM'] })), 'COSE_DECRYPT_FAILED');
    assert.equal(await codeOf(() => decryptCoseEncrypt0(msg, { key: coseContentKey('A128GCM', randomBytes(16)), algorithms: ['A128GCM'] })), 'COSE_DECRYPT_FAILED');
    const ccmKey = coseContentKey('AES-CCM-16-64-128', randomBytes(16));
    const ccm = createCoseEncrypt0({ plaintext: PAYLOAD, key: ccmKey });
    assert.equal(await codeOf(() => decryptCoseEncrypt0(ccm, { key: ccmKey, algorithms: ['A128GCM', 'A256GCM'] })), 'COSE_ALG_NOT_ALLOWED');
    assert.deepEqual(decryptCoseEncrypt0(ccm, { key: ccmKey, algorithms: ['AES-CCM-16-64-128'] }).plaintext, PAYLOAD);
    assert.equal(await codeOf(() => coseContentKey('A256GCM', randomBytes(16))), 'CRYPTO_KEY_SIZE_UNSUPPORTED');
  });
});

describe('COSE_Encrypt with ECDH-ES + HKDF-256 (provisioning envelopes)', () => {
  it('seals to a wallet key that only its holder can open, with either ephemeral point form', async () => {
    const wallet = generateKeyPair('P-256');
    const agreement = keyObjectAgreement(wallet.privateKey);
    for (const compressEphemeralKey of [false, true]) {
      const msg = createCoseEncryptEcdhEs({ plaintext: PAYLOAD, recipientKey: wallet.publicKey, recipientKid: Uint8Array.of(7), alg: 'A256GCM', compressEphemeralKey });
      const r = await decryptCoseEncrypt(msg, { recipient: { mode: 'ECDH-ES+HKDF-256', agreement }, algorithms: ['A256GCM'] });
      assert.deepEqual(r.plaintext, PAYLOAD);
      assert.deepEqual(r.kid, Uint8Array.of(7));
      const other = keyObjectAgreement(generateKeyPair('P-256').privateKey);
      assert.equal(await codeOf(() => decryptCoseEncrypt(msg, { recipient: { mode: 'ECDH-ES+HKDF-256', agreement: other }, algorithms: ['A256GCM'] })), 'COSE_DECRYPT_FAILED');
    }
  });

  it('binds PartyU/PartyV identities into the key and lets a secure element do the agreement asynchronously', async () => {
    const wallet = generateKeyPair('P-256');
    const inner = keyObjectAgreement(wallet.privateKey);
    const se = { curve: 'P-256' as const, deriveSecret: async (peer: KeyObject) => inner.deriveSecret(peer) };
    const msg = createCoseEncryptEcdhEs({
      plaintext: PAYLOAD,
      recipientKey: wallet.publicKey,
      alg: 'A128GCM',
      partyUIdentity: new TextEncoder().encode('issuer'),
      partyVIdentity: new TextEncoder().encode('wallet-42'),
    });
    assert.deepEqual((await decryptCoseEncrypt(msg, { recipient: { mode: 'ECDH-ES+HKDF-256', agreement: se }, algorithms: ['A128GCM'] })).plaintext, PAYLOAD);
  });

  it('refuses other recipient shapes, modes and ephemeral keys with specific codes', async () => {
    const wallet = generateKeyPair('P-256');
    const agreement = keyObjectAgreement(wallet.privateKey);
    const open = (m: Uint8Array) => decryptCoseEncrypt(m, { recipient: { mode: 'ECDH-ES+HKDF-256', agreement }, algorithms: ['A128GCM', 'A256GCM'] });
    const msg = createCoseEncryptEcdhEs({ plaintext: PAYLOAD, recipientKey: wallet.publicKey, alg: 'A128GCM' });
    const parts = (decodeCbor(msg, { ...CBOR_DEFAULT_LIMITS, allowedTags: [96] }) as CborTag).value as unknown[];
    const recipient = (parts[3] as unknown[][])[0] as unknown[];
    const withRecipients = (rs: unknown[]) => encodeCbor(new CborTag([parts[0], parts[1], parts[2], rs], 96));
    const withEphemeral = (k: unknown) => withRecipients([[recipient[0], new Map([[-1, k]]), recipient[2]]]);

    assert.equal(await codeOf(() => open(withRecipients([recipient, recipient]))), 'COSE_RECIPIENT_UNSUPPORTED');
    assert.equal(await codeOf(() => open(withRecipients([[...recipient, []]]))), 'COSE_RECIPIENT_UNSUPPORTED');
    assert.equal(await codeOf(() => open(withRecipients([[recipient[0], recipient[1], randomBytes(16)]]))), 'COSE_RECIPIENT_UNSUPPORTED');
    assert.equal(await codeOf(() => open(withRecipients([]))), 'COSE_MALFORMED');
    assert.equal(
      await codeOf(() => decryptCoseEncrypt(msg, { recipient: { mode: 'direct', key: coseContentKey('A128GCM', randomBytes(16)) }, algorithms: ['A128GCM'] })),
      'COSE_ALG_NOT_ALLOWED',
    );
    const eph = generateKeyPair('P-256');
    const withD = toCoseKey(eph.publicKey);
    withD.set(-4, randomBytes(32));
    assert.equal(await codeOf(() => open(withEphemeral(withD))), 'COSE_KEY_INVALID');
    assert.equal(await codeOf(() => open(withEphemeral(toCoseKey(generateKeyPair('P-384').publicKey)))), 'COSE_KEY_UNSUPPORTED');
    const offCurve = toCoseKey(eph.publicKey);
    const y = Uint8Array.from(offCurve.get(-3) as Uint8Array);
    y[31] = (y[31] as number) ^ 1;
    offCurve.set(-3, y);
    assert.equal(await codeOf(() => open(withEphemeral(offCurve))), 'CRYPTO_POINT_INVALID');
    assert.equal(await codeOf(() => open(withRecipients([[recipient[0], new Map(), recipient[2]]]))), 'COSE_HEADER_INVALID');
    assert.equal(await codeOf(() => createCoseEncryptEcdhEs({ plaintext: PAYLOAD, recipientKey: generateKeyPair('P-384').publicKey, alg: 'A128GCM' })), 'CRYPTO_KEY_INVALID');
  });
});

describe('COSE_Key', () => {
  it('round-trips EC2 (plain and compressed y), OKP and Symmetric keys', () => {
    for (const kind of ['P-256', 'P-384', 'Ed25519'] as const) {
      const { publicKey } = generateKeyPair(kind);
      for (const compressed of [false, true]) {
        const k = fromCoseKey(encodeCbor(toCoseKey(publicKey, { kid: Uint8Array.of(1), alg: kind === 'Ed25519' ? 'EdDSA' : kind === 'P-256' ? 'ES256' : 'ES384', compressed })));
        assert.equal(k.kind, kind);
        assert.deepEqual(exportRawPublicKey(k.publicKey as KeyObject), exportRawPublicKey(publicKey));
        assert.deepEqual(k.kid, Uint8Array.of(1));
      }
    }
    const secret = randomBytes(32);
    const s = fromCoseKey(toCoseKey(coseMacKey('HS256', secret).key));
    assert.equal(s.kty, 'Symmetric');
    assert.deepEqual(new Uint8Array((s.secretKey as KeyObject).export()), secret);
  });

  it('never exports private keys, and refuses keys whose d does not match x/y', async () => {
    const a = generateKeyPair('P-256');
    const b = generateKeyPair('P-256');
    assert.equal(await codeOf(() => toCoseKey(a.privateKey)), 'COSE_KEY_INVALID');
    const mixed = toCoseKey(a.publicKey);
    const d = (b.privateKey.export({ format: 'jwk' }).d as string) ?? '';
    mixed.set(-4, new Uint8Array(Buffer.from(d, 'base64url')));
    assert.equal(await codeOf(() => fromCoseKey(mixed)), 'COSE_KEY_INVALID');
  });

  it('refuses unsupported key types and curves, and malformed parameters', async () => {
    const cases: [Map<number, unknown>, ErrorCode][] = [
      [new Map<number, unknown>([[1, 3]]), 'COSE_KEY_UNSUPPORTED'], // RSA
      [new Map<number, unknown>([[1, 2], [-1, 3], [-2, new Uint8Array(66)], [-3, new Uint8Array(66)]]), 'COSE_KEY_UNSUPPORTED'], // P-521
      [new Map<number, unknown>([[1, 1], [-1, 4], [-2, new Uint8Array(32)]]), 'COSE_KEY_UNSUPPORTED'], // X25519
      [new Map<number, unknown>([[1, 1], [-1, 1], [-2, new Uint8Array(32)]]), 'COSE_KEY_UNSUPPORTED'], // OKP with an EC2 curve
      [new Map<number, unknown>([[1, 2], [-1, 1], [-2, new Uint8Array(31)], [-3, true]]), 'COSE_KEY_INVALID'],
      [new Map<number, unknown>([[1, 2], [-1, 1]]), 'COSE_KEY_INVALID'],
      [new Map<number, unknown>([[1, 4], [-1, new Uint8Array(0)]]), 'COSE_KEY_INVALID'],
      [new Map<number, unknown>([[1, 4], [-1, randomBytes(32)], [3, -36]]), 'COSE_KEY_UNSUPPORTED'], // bound to ES512
      [new Map<number, unknown>([[1, 4], [-1, randomBytes(32)], [2, 'text-kid']]), 'COSE_KEY_INVALID'],
    ];
    for (const [m, code] of cases) assert.equal(await codeOf(() => fromCoseKey(m)), code);
  });
});
