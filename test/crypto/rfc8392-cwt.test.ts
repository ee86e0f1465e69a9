/**
 * RFC 8392 Appendix A: the CBOR Web Token examples A.3 (signed), A.4 (MACed), A.5 (encrypted),
 * A.6 (signed then encrypted) and A.7 (MACed, with a floating-point NumericDate), as rendered by
 * the COSE WG Examples. A.5/A.6 use AES-CCM-16-64-128, which we open only because the test lists
 * it; a verifier that does not opt in refuses it with COSE_ALG_NOT_ALLOWED.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import {
  coseContentKey,
  coseMacKey,
  coseVerifierKey,
  createCoseEncrypt0,
  createCoseMac0,
  decodeCbor,
  decryptCoseEncrypt0,
  fromCoseKey,
  verifyCoseMac0,
  verifyCoseSign1,
  CBOR_DEFAULT_LIMITS,
} from '../../src/crypto/index.ts';
import { encStructure, macStructure, sigStructure1 } from '../../src/crypto/cose/structures.ts';
import { codeOf, coseKeyMapFromJson, headersFromJson, loadCose, plaintextOf, toHexUpper } from './cose-vectors.ts';
import { hex } from './vectors.ts';

const EMPTY = new Uint8Array(0);
const a3 = loadCose('CWT', 'A_3.json');
const a3Key = fromCoseKey(coseKeyMapFromJson(a3.input.sign0.key, { publicOnly: true }));
const a3Verifier = coseVerifierKey('ES256', a3Key.publicKey as KeyObject);

describe('RFC 8392 Appendix A CWT examples', () => {
  it('A.3: reproduces ToBeSign, verifies the signed CWT and decodes its claims as deterministic CBOR', () => {
    const claims = plaintextOf(a3.input);
    assert.equal(toHexUpper(sigStructure1(Uint8Array.of(0xa1, 0x01, 0x26), EMPTY, claims)), a3.intermediates.ToBeSign_hex);
    const r = verifyCoseSign1(a3.output, { key: a3Verifier, algorithms: ['ES256'] });
    assert.deepEqual(r.payload, claims);
    const set = decodeCbor(r.payload, { ...CBOR_DEFAULT_LIMITS, deterministic: true }) as Map<number, unknown>;
    assert.equal(set.get(1), 'coap://as.example.com');
    assert.equal(set.get(4), 1444064944);
    assert.deepEqual(set.get(7), Uint8Array.of(0x0b, 0x71));
  });

  for (const name of ['A_4', 'A_7']) {
    it(`${name.replace('_', '.')}: reproduces ToMac and the HS256/64 tag byte for byte, and verifies`, () => {
      const v = loadCose('CWT', `${name}.json`);
      const payload = plaintextOf(v.input);
      const key = coseMacKey('HS256/64', hex(v.intermediates.CEK_hex));
      assert.equal(toHexUpper(macStructure('MAC0', Uint8Array.of(0xa1, 0x01, 0x04), EMPTY, payload)), v.intermediates.ToMac_hex);
      assert.deepEqual(createCoseMac0({ payload, key }), v.output);
      assert.deepEqual(verifyCoseMac0(v.output, { key, algorithms: ['HS256/64'] }).payload, payload);
    });
  }

  it('A.7: its claims (a float64 NumericDate) decode under our strict rules', () => {
    const v = loadCose('CWT', 'A_7.json');
    const set = decodeCbor(plaintextOf(v.input), CBOR_DEFAULT_LIMITS) as Map<number, unknown>;
    assert.equal(set.get(6), 1443944944.5);
  });

  for (const name of ['A_5', 'A_6']) {
    it(`${name.replace('_', '.')}: reproduces the Enc_structure and the ciphertext byte for byte, decrypts, and needs the CCM opt-in`, async () => {
      const v = loadCose('CWT', `${name}.json`);
      const plaintext = plaintextOf(v.input);
      const key = coseContentKey('AES-CCM-16-64-128', hex(v.intermediates.CEK_hex));
      assert.equal(toHexUpper(encStructure('Encrypt0', Uint8Array.of(0xa1, 0x01, 0x0a), EMPTY)), v.intermediates.AAD_hex);
      const iv = hex(v.input.rng_stream[0]);
      assert.deepEqual(createCoseEncrypt0({ plaintext, key, iv, protectedHeaders: headersFromJson(v.input.encrypted.protected) }), v.output);
      const r = decryptCoseEncrypt0(v.output, { key, algorithms: ['AES-CCM-16-64-128'] });
      assert.deepEqual(r.plaintext, plaintext);
      assert.equal(await codeOf(() => decryptCoseEncrypt0(v.output, { key, algorithms: ['A128GCM', 'A256GCM'] })), 'COSE_ALG_NOT_ALLOWED');
      if (name === 'A_6') {
        // Signed then encrypted: the plaintext is A.3's COSE_Sign1, which must verify in turn.
        assert.deepEqual(r.plaintext, a3.output);
        assert.deepEqual(verifyCoseSign1(r.plaintext, { key: a3Verifier, algorithms: ['ES256'] }).payload, plaintextOf(a3.input));
      }
      const tampered = Uint8Array.from(v.output);
      tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
      assert.equal(await codeOf(() => decryptCoseEncrypt0(tampered, { key, algorithms: ['AES-CCM-16-64-128'] })), 'COSE_DECRYPT_FAILED');
    });
  }
});
