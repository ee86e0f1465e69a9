/**
 * RFC 9052 §6.2 COSE_Mac0 against the COSE WG mac0-tests, with HMAC 256/256 (RFC 9053 §3.1).
 * Every file has an expected outcome; the alg-unprotected "pass" vectors verify only when the
 * verifier opts in with allowUnprotectedAlg (docs/cose.md explains the default).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { coseMacKey, createCoseMac0, encodeCbor, fromCoseKey, verifyCoseMac0, type VerifyMac0Options } from '../../src/crypto/index.ts';
import { macStructure } from '../../src/crypto/cose/structures.ts';
import type { ErrorCode } from '../../src/core/errors.ts';
import { codeOf, coseKeyMapFromJson, headersFromJson, loadCose, plaintextOf, toHexUpper } from './cose-vectors.ts';
import { hex, listJson } from './vectors.ts';

const EMPTY = new Uint8Array(0);

type Expect =
  | { readonly kind: 'pass'; readonly options?: Partial<VerifyMac0Options>; readonly strict?: { readonly options: Partial<VerifyMac0Options>; readonly code: ErrorCode } }
  | { readonly kind: 'fail'; readonly code: ErrorCode };

const UNPROTECTED_ALG = { options: { allowUnprotectedAlg: true }, strict: { options: {}, code: 'COSE_ALG_UNPROTECTED' } } as const;

const EXPECT: Readonly<Record<string, Expect>> = {
  'HMac-01': { kind: 'pass' },
  'mac-fail-01': { kind: 'fail', code: 'COSE_TAG_MISMATCH' }, // tag 992
  'mac-fail-02': { kind: 'fail', code: 'COSE_MAC_INVALID' }, // tag altered
  'mac-fail-03': { kind: 'fail', code: 'COSE_ALG_NOT_ALLOWED' }, // alg -999
  'mac-fail-04': { kind: 'fail', code: 'COSE_ALG_NOT_ALLOWED' }, // alg "Unknown"
  'mac-fail-06': { kind: 'fail', code: 'COSE_MAC_INVALID' }, // protected header added
  'mac-fail-07': { kind: 'fail', code: 'COSE_MAC_INVALID' }, // protected header removed
  'mac-pass-01': { kind: 'pass', ...UNPROTECTED_ALG }, // protected h'a0'
  'mac-pass-02': { kind: 'pass', ...UNPROTECTED_ALG }, // external AAD
  'mac-pass-03': { kind: 'pass', ...UNPROTECTED_ALG }, // untagged
};

describe('RFC 9052 COSE_Mac0: COSE WG mac0-tests', () => {
  it('has a decided outcome for every vector file', () => {
    assert.deepEqual(listJson('cose/mac0-tests').map((f) => f.replace(/\.json$/, '')), Object.keys(EXPECT).sort());
  });

  for (const [name, expect] of Object.entries(EXPECT)) {
    const v = loadCose('mac0-tests', `${name}.json`);
    const m = v.input.mac0;
    const payload = plaintextOf(v.input);
    const external = typeof m.external === 'string' ? hex(m.external) : EMPTY;
    const symmetric = fromCoseKey(coseKeyMapFromJson(m.recipients[0].key));
    const key = coseMacKey('HS256', symmetric.secretKey as NonNullable<typeof symmetric.secretKey>);
    const prot = headersFromJson(m.protected);

    it(`${name}: reproduces CEK_hex from the COSE_Key and ToMac_hex from the inputs`, () => {
      assert.equal(toHexUpper(new Uint8Array((symmetric.secretKey as NonNullable<typeof symmetric.secretKey>).export())), v.intermediates.CEK_hex);
      assert.equal(toHexUpper(macStructure('MAC0', prot.size === 0 ? EMPTY : encodeCbor(prot), external, payload)), v.intermediates.ToMac_hex);
    });

    if (expect.kind === 'fail') {
      it(`${name}: rejects output.cbor with ${expect.code}`, async () => {
        assert.equal(v.fail, true);
        assert.equal(await codeOf(() => verifyCoseMac0(v.output, { key, algorithms: ['HS256'], externalAad: external })), expect.code);
      });
      continue;
    }

    const strict = expect.strict === undefined ? '' : `; with ${JSON.stringify(expect.strict.options)} it is refused with ${expect.strict.code}`;
    it(`${name}: verifies output.cbor with ${JSON.stringify(expect.options ?? {})}${strict}`, async () => {
      assert.equal(v.fail, false);
      const base = { key, algorithms: ['HS256'], externalAad: external } as const;
      assert.deepEqual(verifyCoseMac0(v.output, { ...base, ...expect.options }).payload, payload);
      if (expect.strict !== undefined) assert.equal(await codeOf(() => verifyCoseMac0(v.output, { ...base, ...expect.strict?.options })), expect.strict.code);
      // A key bound to HS256/64 must not verify an HS256 message, even with the same bytes.
      const truncatedKey = coseMacKey('HS256/64', key.key);
      assert.equal(
        await codeOf(() => verifyCoseMac0(v.output, { ...base, ...expect.options, key: truncatedKey, algorithms: ['HS256', 'HS256/64'] })),
        'COSE_ALG_KEY_MISMATCH',
      );
    });

    if (prot.has(1)) {
      it(`${name}: createCoseMac0 from the inputs reproduces output.cbor byte for byte`, () => {
        const created = createCoseMac0({ payload, key, protectedHeaders: prot, unprotectedHeaders: headersFromJson(m.unprotected), externalAad: external });
        assert.deepEqual(created, v.output);
      });
    }
  }
});
