/** The primitives' own contract: allow-lists, encodings, validation and error codes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  aesGcmOpen,
  aesGcmSeal,
  createSignature,
  ecdhSharedSecret,
  ecdsaDerToRaw,
  ecdsaRawToDer,
  exportJwkPublicKey,
  exportRawPublicKey,
  exportSpkiPublicKey,
  generateEphemeralKeyPair,
  generateKeyPair,
  hkdfSha256,
  hmacSha256,
  importJwkPublicKey,
  importRawPrivateKey,
  importRawPublicKey,
  importSpkiPublicKey,
  keyKind,
  publicKeyOf,
  randomBytes,
  secretKey,
  sha256,
  sha384,
  verifyHmacSha256,
  verifySignature,
  KEY_KINDS,
  type SignatureAlgorithm,
} from '../../src/crypto/index.ts';
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.ts';
import { isCityTrustError, type ErrorCode } from '../../src/core/errors.ts';

function codeOf(f: () => unknown): ErrorCode {
  try {
    f();
  } catch (e) {
    if (isCityTrustError(e)) return e.code;
    throw e;
  }
  assert.fail('expected a CityTrustError');
}

const MSG = new TextEncoder().encode('citytrust');
const P256_ORDER = fromHex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

describe('keys', () => {
  for (const kind of KEY_KINDS) {
    it(`${kind}: round-trips public keys through raw, SPKI and JWK forms`, () => {
      const { publicKey } = generateKeyPair(kind);
      assert.equal(keyKind(publicKey), kind);
      const forms = kind === 'Ed25519' ? (['uncompressed'] as const) : (['uncompressed', 'compressed'] as const);
      for (const form of forms) {
        const raw = exportRawPublicKey(publicKey, form);
        const size = kind === 'P-384' ? 48 : 32;
        assert.equal(raw.length, kind === 'Ed25519' ? 32 : form === 'compressed' ? 1 + size : 1 + 2 * size);
        assert.deepEqual(exportSpkiPublicKey(importRawPublicKey(kind, raw)), exportSpkiPublicKey(publicKey));
      }
      assert.deepEqual(exportSpkiPublicKey(importSpkiPublicKey(kind, exportSpkiPublicKey(publicKey))), exportSpkiPublicKey(publicKey));
      assert.deepEqual(exportSpkiPublicKey(importJwkPublicKey(kind, exportJwkPublicKey(publicKey))), exportSpkiPublicKey(publicKey));
    });
  }

  it('compresses to 0x02/0x03 by the parity of y (SEC 1 §2.3.3)', () => {
    const { publicKey } = generateKeyPair('P-256');
    const u = exportRawPublicKey(publicKey, 'uncompressed');
    const c = exportRawPublicKey(publicKey, 'compressed');
    assert.equal(c[0], 0x02 | ((u[64] as number) & 1));
    assert.deepEqual(c.subarray(1), u.subarray(1, 33));
  });

  it('refuses the identity, hybrid points, off-curve points and x-coordinates without a point (CRYPTO_POINT_INVALID)', () => {
    const u = exportRawPublicKey(generateKeyPair('P-256').publicKey);
    const offCurve = Uint8Array.from(u);
    offCurve[64] = (offCurve[64] as number) ^ 1;
    const hybrid = Uint8Array.from(u);
    hybrid[0] = 0x06 | ((u[64] as number) & 1);
    const cases = [
      Uint8Array.of(0x00), // the point at infinity, which OpenSSL itself accepts
      hybrid, // SEC 1 hybrid form, also accepted by OpenSSL
      offCurve,
      new Uint8Array(65), // (0, 0) with the uncompressed prefix missing
      concatBytes(Uint8Array.of(0x04), new Uint8Array(64)),
      fromHex('02fd4bf61763b46581fd9174d623516cf3c81edd40e29ffa2777fb6cb0ae3ce535'), // Wycheproof: no such point
      u.subarray(0, 64),
    ];
    for (const p of cases) assert.equal(codeOf(() => importRawPublicKey('P-256', p)), 'CRYPTO_POINT_INVALID', toHex(p.subarray(0, 4)));
  });

  it('relies on node:crypto refusing off-curve points, and node does', () => {
    const u = exportRawPublicKey(generateKeyPair('P-256').publicKey);
    u[64] = (u[64] as number) ^ 1;
    const der = concatBytes(fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200'), u);
    assert.throws(() => createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }));
  });

  it('accepts only the canonical SPKI of the kind asked for', () => {
    const p384 = exportSpkiPublicKey(generateKeyPair('P-384').publicKey);
    assert.equal(codeOf(() => importSpkiPublicKey('P-256', p384)), 'CRYPTO_KEY_INVALID');
    const p256 = exportSpkiPublicKey(generateKeyPair('P-256').publicKey);
    assert.equal(codeOf(() => importSpkiPublicKey('P-256', concatBytes(p256, Uint8Array.of(0)))), 'CRYPTO_POINT_INVALID');
    const longForm = concatBytes(Uint8Array.of(0x30, 0x81, 0x59), p256.subarray(2));
    assert.equal(codeOf(() => importSpkiPublicKey('P-256', longForm)), 'CRYPTO_KEY_INVALID');
    assert.equal(codeOf(() => importSpkiPublicKey('secp256k1' as never, p256)), 'CRYPTO_ALG_NOT_ALLOWED');
  });

  it('refuses JWKs of another curve or carrying a private key', () => {
    const jwk = exportJwkPublicKey(generateKeyPair('P-256').publicKey);
    assert.equal(codeOf(() => importJwkPublicKey('P-384', jwk)), 'CRYPTO_KEY_INVALID');
    assert.equal(codeOf(() => importJwkPublicKey('P-256', { ...jwk, d: 'AAAA' })), 'CRYPTO_KEY_INVALID');
    assert.equal(codeOf(() => importJwkPublicKey('P-256', { ...jwk, x: `${jwk.x}=` })), 'CRYPTO_KEY_INVALID');
  });

  it('imports raw private scalars only in [1, n-1]', () => {
    const one = new Uint8Array(32);
    one[31] = 1;
    const k = importRawPrivateKey('P-256', one);
    // 1·G is the generator.
    assert.equal(toHex(exportRawPublicKey(publicKeyOf(k)).subarray(1, 33)), '6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296');
    for (const d of [new Uint8Array(32), P256_ORDER, new Uint8Array(32).fill(0xff), new Uint8Array(31)]) {
      assert.equal(codeOf(() => importRawPrivateKey('P-256', d)), 'CRYPTO_KEY_INVALID');
    }
  });

  it('refuses keys off the allow-list (RSA, secp256k1, X25519)', () => {
    for (const { publicKey } of [
      generateKeyPairSync('rsa', { modulusLength: 1024 }),
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }),
      generateKeyPairSync('x25519'),
    ]) {
      assert.equal(codeOf(() => keyKind(publicKey)), 'CRYPTO_KEY_INVALID');
    }
  });
});

describe('signatures', () => {
  const cases: [SignatureAlgorithm, 'P-256' | 'P-384' | 'Ed25519'][] = [
    ['ES256', 'P-256'],
    ['ES384', 'P-384'],
    ['EdDSA', 'Ed25519'],
  ];
  for (const [alg, kind] of cases) {
    it(`${alg}: signs and verifies, and fails on any change to message or signature`, () => {
      const { privateKey, publicKey } = generateKeyPair(kind);
      const encodings = alg === 'EdDSA' ? (['raw'] as const) : (['raw', 'der'] as const);
      for (const enc of encodings) {
        const sig = createSignature(alg, privateKey, MSG, enc);
        assert.equal(verifySignature(alg, publicKey, MSG, sig, enc), true);
        assert.equal(verifySignature(alg, publicKey, Uint8Array.of(...MSG, 0), sig, enc), false);
        const bad = Uint8Array.from(sig);
        bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
        assert.equal(verifySignature(alg, publicKey, MSG, bad, enc), false);
        assert.equal(verifySignature(alg, publicKey, MSG, sig.subarray(1), enc), false);
      }
    });
  }

  it('binds each algorithm to its key kind and refuses names off the list', () => {
    const p256 = generateKeyPair('P-256');
    const p384 = generateKeyPair('P-384');
    const sig = createSignature('ES256', p256.privateKey, MSG);
    assert.equal(codeOf(() => verifySignature('ES384', p256.publicKey, MSG, sig)), 'CRYPTO_KEY_INVALID');
    assert.equal(codeOf(() => verifySignature('EdDSA', p256.publicKey, MSG, sig)), 'CRYPTO_KEY_INVALID');
    assert.equal(codeOf(() => verifySignature('ES256', p384.publicKey, MSG, sig)), 'CRYPTO_KEY_INVALID');
    assert.equal(codeOf(() => verifySignature('ES256', p256.privateKey, MSG, sig)), 'CRYPTO_KEY_INVALID');
    for (const name of ['none', 'ES512', 'RS256', 'HS256', '']) {
      assert.equal(codeOf(() => verifySignature(name as SignatureAlgorithm, p256.publicKey, MSG, sig)), 'CRYPTO_ALG_NOT_ALLOWED', name);
      assert.equal(codeOf(() => createSignature(name as SignatureAlgorithm, p256.privateKey, MSG)), 'CRYPTO_ALG_NOT_ALLOWED', name);
    }
    const ed = generateKeyPair('Ed25519');
    assert.equal(codeOf(() => createSignature('EdDSA', ed.privateKey, MSG, 'der')), 'CRYPTO_INPUT_INVALID');
  });

  it('accepts (r, n - s) as well: ECDSA signatures are malleable, so never use one as an identifier', () => {
    const { privateKey, publicKey } = generateKeyPair('P-256');
    const raw = createSignature('ES256', privateKey, MSG);
    const s = BigInt(`0x${toHex(raw.subarray(32))}`);
    const n = BigInt(`0x${toHex(P256_ORDER)}`);
    const flipped = concatBytes(raw.subarray(0, 32), fromHex((n - s).toString(16).padStart(64, '0')));
    assert.equal(verifySignature('ES256', publicKey, MSG, flipped), true);
  });

  it('converts DER to r||s strictly (CRYPTO_SIGNATURE_ENCODING)', () => {
    const { privateKey } = generateKeyPair('P-256');
    let der = createSignature('ES256', privateKey, MSG, 'der');
    // Find a signature whose r needs no 0x00 pad, to build the variants below from a known layout.
    while ((der[3] as number) !== 32) der = createSignature('ES256', privateKey, MSG, 'der');
    const raw = ecdsaDerToRaw(der, 'P-256');
    assert.deepEqual(ecdsaRawToDer(raw, 'P-256'), der);
    const rLen = 32;
    const sTlv = der.subarray(4 + rLen);
    const seq = (body: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(0x30, body.length), body);
    const r = der.subarray(4, 4 + rLen);
    const bad: [string, Uint8Array][] = [
      ['long-form length', concatBytes(Uint8Array.of(0x30, 0x81, der[1] as number), der.subarray(2))],
      ['trailing byte', concatBytes(der, Uint8Array.of(0))],
      ['trailing byte inside', seq(concatBytes(der.subarray(2), Uint8Array.of(0)))],
      ['non-minimal r', seq(concatBytes(Uint8Array.of(0x02, rLen + 1, 0x00), r, sTlv))],
      ['negative r', seq(concatBytes(Uint8Array.of(0x02, rLen), Uint8Array.of((r[0] as number) | 0x80), r.subarray(1), sTlv))],
      ['r wider than the order', seq(concatBytes(Uint8Array.of(0x02, rLen + 1, 0x01), r, sTlv))],
      ['empty integer', seq(concatBytes(Uint8Array.of(0x02, 0x00), sTlv))],
      ['not a SEQUENCE', concatBytes(Uint8Array.of(0x31), der.subarray(1))],
      ['BIT STRING for r', seq(concatBytes(Uint8Array.of(0x03, rLen), r, sTlv))],
    ];
    for (const [what, sig] of bad) assert.equal(codeOf(() => ecdsaDerToRaw(sig, 'P-256')), 'CRYPTO_SIGNATURE_ENCODING', what);
    assert.equal(codeOf(() => ecdsaRawToDer(raw.subarray(1), 'P-256')), 'CRYPTO_SIGNATURE_ENCODING');
  });
});

describe('ECDH P-256', () => {
  it('gives both sides the same 32-byte secret', () => {
    const a = generateEphemeralKeyPair();
    const b = generateEphemeralKeyPair();
    const s1 = ecdhSharedSecret(a.privateKey, b.publicKey);
    assert.equal(s1.length, 32);
    assert.deepEqual(s1, ecdhSharedSecret(b.privateKey, a.publicKey));
  });

  it('refuses keys of other curves or of the wrong type', () => {
    const a = generateEphemeralKeyPair();
    const p384 = generateKeyPair('P-384');
    assert.equal(codeOf(() => ecdhSharedSecret(a.privateKey, p384.publicKey)), 'CRYPTO_KEY_INVALID');
    assert.equal(codeOf(() => ecdhSharedSecret(a.publicKey, a.publicKey)), 'CRYPTO_KEY_INVALID');
    assert.equal(codeOf(() => ecdhSharedSecret(a.privateKey, a.publicKey, 'P-384' as never)), 'CRYPTO_ALG_NOT_ALLOWED');
  });
});

describe('hashes, HMAC and HKDF', () => {
  it('computes SHA-256 and SHA-384 of "abc" (FIPS 180-4 examples)', () => {
    const abc = new TextEncoder().encode('abc');
    assert.equal(toHex(sha256(abc)), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(toHex(sha384(abc)).slice(0, 32), 'cb00753f45a35e8bb5a03d699ac65007');
  });

  it('verifies full and 64-bit HMAC tags in constant time and refuses other lengths', () => {
    const key = randomBytes(32);
    const tag = hmacSha256(key, MSG);
    assert.equal(verifyHmacSha256(key, MSG, tag), true);
    assert.equal(verifyHmacSha256(secretKey(key), MSG, tag), true);
    assert.equal(verifyHmacSha256(key, MSG, tag.subarray(0, 8), 8), true);
    const wrong = Uint8Array.from(tag);
    wrong[0] = (wrong[0] as number) ^ 1;
    assert.equal(verifyHmacSha256(key, MSG, wrong), false);
    assert.equal(codeOf(() => verifyHmacSha256(key, MSG, tag.subarray(0, 31))), 'CRYPTO_MAC_LENGTH');
    assert.equal(codeOf(() => verifyHmacSha256(key, MSG, tag.subarray(0, 16), 16 as never)), 'CRYPTO_MAC_LENGTH');
    assert.equal(codeOf(() => hmacSha256(key.subarray(0, 31), MSG)), 'CRYPTO_KEY_SIZE_UNSUPPORTED');
  });

  it('bounds HKDF output and info', () => {
    assert.equal(codeOf(() => hkdfSha256(MSG, MSG, MSG, 0)), 'CRYPTO_HKDF_LENGTH');
    assert.equal(codeOf(() => hkdfSha256(MSG, MSG, MSG, 8161)), 'CRYPTO_HKDF_LENGTH');
    assert.equal(codeOf(() => hkdfSha256(MSG, MSG, new Uint8Array(1025), 32)), 'CRYPTO_INPUT_INVALID');
    assert.equal(hkdfSha256(MSG, new Uint8Array(0), MSG, 8160).length, 8160);
  });
});

describe('AES-GCM', () => {
  for (const len of [16, 32]) {
    it(`AES-${len * 8}-GCM seals to ciphertext || 16-byte tag and opens it, with bytes or a KeyObject`, () => {
      const key = randomBytes(len);
      const iv = randomBytes(12);
      const aad = Uint8Array.of(1, 2, 3);
      const sealed = aesGcmSeal(key, iv, MSG, aad);
      assert.equal(sealed.length, MSG.length + 16);
      assert.deepEqual(aesGcmOpen(key, iv, sealed, aad), MSG);
      assert.deepEqual(aesGcmOpen(secretKey(key), iv, sealed, aad), MSG);
    });
  }

  it('names each failure: cut below the tag, forged, wrong AAD, wrong IV or key size', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const sealed = aesGcmSeal(key, iv, MSG);
    assert.equal(codeOf(() => aesGcmOpen(key, iv, sealed.subarray(0, 15))), 'CRYPTO_AEAD_TRUNCATED');
    assert.equal(codeOf(() => aesGcmOpen(key, iv, new Uint8Array(0))), 'CRYPTO_AEAD_TRUNCATED');
    // A cut that leaves 16 bytes or more moves the tag boundary, so the tag no longer matches.
    assert.equal(codeOf(() => aesGcmOpen(key, iv, sealed.subarray(0, sealed.length - 1))), 'CRYPTO_AEAD_AUTH_FAILED');
    for (const i of [0, sealed.length - 1]) {
      const bad = Uint8Array.from(sealed);
      bad[i] = (bad[i] as number) ^ 0x80;
      assert.equal(codeOf(() => aesGcmOpen(key, iv, bad)), 'CRYPTO_AEAD_AUTH_FAILED');
    }
    assert.equal(codeOf(() => aesGcmOpen(key, iv, sealed, Uint8Array.of(1))), 'CRYPTO_AEAD_AUTH_FAILED');
    assert.equal(codeOf(() => aesGcmSeal(key, randomBytes(16), MSG)), 'CRYPTO_IV_LENGTH');
    assert.equal(codeOf(() => aesGcmOpen(key, randomBytes(8), sealed)), 'CRYPTO_IV_LENGTH');
    assert.equal(codeOf(() => aesGcmSeal(randomBytes(24), iv, MSG)), 'CRYPTO_KEY_SIZE_UNSUPPORTED');
    assert.equal(codeOf(() => aesGcmSeal(key, iv, 'text' as never)), 'CRYPTO_INPUT_INVALID');
  });
});
