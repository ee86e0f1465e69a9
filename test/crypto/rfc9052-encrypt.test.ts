/**
 * RFC 9052 §5 COSE_Encrypt0 and COSE_Encrypt (one direct recipient) with AES-GCM (RFC 9053 §4.1)
 * against the COSE WG aes-gcm-examples. A192GCM is not on our allow-list (docs/crypto.md): those
 * vectors are refused with COSE_ALG_NOT_ALLOWED after we reproduce their Enc_structure.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  coseContentKey,
  createCoseEncrypt0,
  decryptCoseEncrypt,
  decryptCoseEncrypt0,
  fromCoseKey,
  type CoseContentAlgorithm,
  type CoseContentKey,
} from '../../src/crypto/index.ts';
import { encStructure } from '../../src/crypto/cose/structures.ts';
import type { ErrorCode } from '../../src/core/errors.ts';
import { codeOf, coseKeyMapFromJson, headersFromJson, loadCose, plaintextOf, toHexUpper } from './cose-vectors.ts';
import { hex, listJson } from './vectors.ts';

const EMPTY = new Uint8Array(0);
const GCM: readonly CoseContentAlgorithm[] = ['A128GCM', 'A256GCM'];

type Expect = { readonly kind: 'pass'; readonly alg: 'A128GCM' | 'A256GCM' } | { readonly kind: 'fail'; readonly code: ErrorCode };

const EXPECT: Readonly<Record<string, Expect>> = {
  'aes-gcm-01': { kind: 'pass', alg: 'A128GCM' },
  'aes-gcm-02': { kind: 'fail', code: 'COSE_ALG_NOT_ALLOWED' }, // A192GCM
  'aes-gcm-03': { kind: 'pass', alg: 'A256GCM' },
  'aes-gcm-04': { kind: 'fail', code: 'COSE_DECRYPT_FAILED' }, // tag altered
  'aes-gcm-05': { kind: 'pass', alg: 'A128GCM' }, // Partial IV with a context IV
  'aes-gcm-enc-01': { kind: 'pass', alg: 'A128GCM' },
  'aes-gcm-enc-02': { kind: 'fail', code: 'COSE_ALG_NOT_ALLOWED' }, // A192GCM
  'aes-gcm-enc-03': { kind: 'pass', alg: 'A256GCM' },
  'aes-gcm-enc-04': { kind: 'fail', code: 'COSE_DECRYPT_FAILED' }, // tag altered
};

describe('RFC 9052 COSE_Encrypt0 / COSE_Encrypt (direct): COSE WG aes-gcm-examples', () => {
  it('has a decided outcome for every vector file', () => {
    assert.deepEqual(listJson('cose/aes-gcm-examples').map((f) => f.replace(/\.json$/, '')), Object.keys(EXPECT).sort());
  });

  for (const [name, expect] of Object.entries(EXPECT)) {
    const v = loadCose('aes-gcm-examples', `${name}.json`);
    const encrypt0 = v.input.encrypted !== undefined;
    const body = encrypt0 ? v.input.encrypted : v.input.enveloped;
    const plaintext = plaintextOf(v.input);
    const symmetric = fromCoseKey(coseKeyMapFromJson(body.recipients[0].key));
    const keyBytes = new Uint8Array((symmetric.secretKey as NonNullable<typeof symmetric.secretKey>).export());
    const prot = headersFromJson(body.protected);

    it(`${name}: reproduces CEK_hex and AAD_hex (the ${encrypt0 ? 'Encrypt0' : 'Encrypt'} Enc_structure)`, () => {
      assert.equal(toHexUpper(keyBytes), v.intermediates.CEK_hex);
      assert.equal(toHexUpper(encStructure(encrypt0 ? 'Encrypt0' : 'Encrypt', Uint8Array.of(0xa1, 0x01, prot.get(1) as number), EMPTY)), v.intermediates.AAD_hex);
    });

    const decrypt = (key: CoseContentKey, baseIv?: Uint8Array): Promise<{ plaintext: Uint8Array }> | { plaintext: Uint8Array } =>
      encrypt0
        ? decryptCoseEncrypt0(v.output, { key, algorithms: GCM })
        : decryptCoseEncrypt(v.output, { recipient: { mode: 'direct', key }, algorithms: GCM, ...(baseIv && { baseIv }) });

    if (expect.kind === 'fail') {
      it(`${name}: rejects output.cbor with ${expect.code}`, async () => {
        const alg: 'A128GCM' | 'A256GCM' = keyBytes.length === 32 ? 'A256GCM' : 'A128GCM';
        if (expect.code === 'COSE_ALG_NOT_ALLOWED') {
          // No A192GCM key can even be built: the size matches neither allowed algorithm.
          assert.equal(await codeOf(() => coseContentKey(alg, keyBytes)), 'CRYPTO_KEY_SIZE_UNSUPPORTED');
          assert.equal(await codeOf(() => decrypt(coseContentKey('A256GCM', new Uint8Array(32)))), expect.code);
        } else {
          assert.equal(await codeOf(() => decrypt(coseContentKey(alg, keyBytes))), expect.code);
        }
      });
      continue;
    }

    it(`${name}: decrypts output.cbor to the plaintext`, async () => {
      const key = coseContentKey(expect.alg, keyBytes);
      let baseIv: Uint8Array | undefined;
      if (body.unsent?.IV_hex !== undefined) {
        // The vector's unsent IV is the full IV; the context IV is it XOR the left-padded Partial IV.
        const full = hex(body.unsent.IV_hex);
        const partial = hex(body.unprotected.partialIV_hex);
        baseIv = Uint8Array.from(full);
        for (let i = 0; i < partial.length; i++) baseIv[full.length - partial.length + i] = (full[full.length - partial.length + i] as number) ^ (partial[i] as number);
        assert.equal(await codeOf(() => decrypt(key)), 'COSE_HEADER_INVALID'); // a Partial IV without a context IV
      }
      assert.deepEqual((await decrypt(key, baseIv)).plaintext, plaintext);
      // The key decides the algorithm: a key of the other size is refused before any decryption.
      const other = coseContentKey(expect.alg === 'A128GCM' ? 'A256GCM' : 'A128GCM', new Uint8Array(expect.alg === 'A128GCM' ? 32 : 16));
      assert.equal(await codeOf(() => decrypt(other, baseIv)), 'COSE_ALG_KEY_MISMATCH');
    });

    if (encrypt0) {
      it(`${name}: createCoseEncrypt0 with the vector's IV reproduces output.cbor byte for byte`, () => {
        const key = coseContentKey(expect.alg, keyBytes);
        assert.deepEqual(createCoseEncrypt0({ plaintext, key, iv: hex(v.input.rng_stream[0]), protectedHeaders: prot }), v.output);
      });
    }
  }
});
