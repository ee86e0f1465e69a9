/**
 * RFC 9052 §4 COSE_Sign1 against the COSE WG Examples: sign1-tests, ecdsa-examples and
 * eddsa-examples. Every file in those folders has an expected outcome below; a new file fails
 * the suite until someone decides it.
 *
 * Out of scope, and why: COSE_Sign (tag 98, several signers) is not implemented because every
 * signed object of this platform has one signer. For those vectors we still reproduce each
 * signer's ToBeSign with our Sig_structure builder and verify the signature with our primitives
 * where the algorithm is on our list; verifyCoseSign1 refuses them with COSE_TAG_MISMATCH.
 * ES512 (P-521) and Ed448 are not on our allow-list: we reproduce ToBeSign and show the refusal.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import {
  coseVerifierKey,
  createCoseSign1,
  decodeCbor,
  encodeCbor,
  fromCoseKey,
  keyObjectSigner,
  verifyCoseSign1,
  verifySignature,
  CBOR_DEFAULT_LIMITS,
  CborTag,
  type CoseSignAlgorithm,
  type CoseSigner,
  type VerifySign1Options,
} from '../../src/crypto/index.ts';
import { sigStructure, sigStructure1 } from '../../src/crypto/cose/structures.ts';
import type { ErrorCode } from '../../src/core/errors.ts';
import { codeOf, coseKeyMapFromJson, headersFromJson, loadCose, plaintextOf, toHexUpper, type CoseVector } from './cose-vectors.ts';
import { hex, listJson } from './vectors.ts';

const EMPTY = new Uint8Array(0);
const ALL: readonly CoseSignAlgorithm[] = ['ES256', 'ES384', 'EdDSA'];

type Expect =
  | {
      readonly kind: 'pass';
      readonly options?: Partial<VerifySign1Options>;
      /** A stricter verifier (these options instead) must refuse the message with this code. */
      readonly strict?: { readonly options: Partial<VerifySign1Options>; readonly code: ErrorCode };
      readonly exact?: boolean;
    }
  | { readonly kind: 'fail'; readonly code: ErrorCode }
  | { readonly kind: 'unsupported-alg'; readonly keyCode?: ErrorCode }
  | { readonly kind: 'unsupported-key' }
  | { readonly kind: 'cose-sign'; readonly supported: boolean };

const EXPECT: Readonly<Record<string, Readonly<Record<string, Expect>>>> = {
  'sign1-tests': {
    'sign-fail-01': { kind: 'fail', code: 'COSE_TAG_MISMATCH' }, // tag 998 instead of 18
    'sign-fail-02': { kind: 'fail', code: 'COSE_SIGNATURE_INVALID' }, // payload altered
    'sign-fail-03': { kind: 'fail', code: 'COSE_ALG_NOT_ALLOWED' }, // alg -999
    'sign-fail-04': { kind: 'fail', code: 'COSE_ALG_NOT_ALLOWED' }, // alg "unknown" (a text string)
    'sign-fail-06': { kind: 'fail', code: 'COSE_SIGNATURE_INVALID' }, // protected header added
    'sign-fail-07': { kind: 'fail', code: 'COSE_SIGNATURE_INVALID' }, // protected header removed
    // alg only in the unprotected bucket, protected is h'a0': verifies only when the caller opts in.
    'sign-pass-01': { kind: 'pass', options: { allowUnprotectedAlg: true }, strict: { options: {}, code: 'COSE_ALG_UNPROTECTED' } },
    'sign-pass-02': { kind: 'pass' }, // external AAD
    'sign-pass-03': { kind: 'pass', strict: { options: { requireTag: true }, code: 'COSE_TAG_MISMATCH' } }, // untagged
  },
  'ecdsa-examples': {
    'ecdsa-01': { kind: 'cose-sign', supported: true },
    'ecdsa-02': { kind: 'cose-sign', supported: true },
    'ecdsa-03': { kind: 'cose-sign', supported: false },
    'ecdsa-04': { kind: 'cose-sign', supported: false },
    'ecdsa-sig-01': { kind: 'pass' },
    'ecdsa-sig-02': { kind: 'pass' },
    'ecdsa-sig-03': { kind: 'unsupported-alg', keyCode: 'COSE_KEY_UNSUPPORTED' }, // ES512 on P-521
    'ecdsa-sig-04': { kind: 'unsupported-alg' }, // ES512 on a P-256 key
  },
  'eddsa-examples': {
    'eddsa-01': { kind: 'cose-sign', supported: true },
    'eddsa-02': { kind: 'cose-sign', supported: false },
    'eddsa-sig-01': { kind: 'pass', exact: true }, // Ed25519 is deterministic: output reproduced byte for byte
    'eddsa-sig-02': { kind: 'unsupported-key' }, // Ed448
  },
};

function protectedBytesFromInput(json: Record<string, unknown> | undefined): Uint8Array {
  const m = headersFromJson(json);
  return m.size === 0 ? EMPTY : encodeCbor(m);
}

function algOf(v: CoseVector, signer: { alg: string }): CoseSignAlgorithm {
  const alg = signer.alg as CoseSignAlgorithm;
  assert.ok(ALL.includes(alg), `${v.name}: ${alg}`);
  return alg;
}

for (const dir of Object.keys(EXPECT)) {
  describe(`RFC 9052 COSE_Sign1: COSE WG ${dir}`, () => {
    const table = EXPECT[dir] as Readonly<Record<string, Expect>>;

    it('has a decided outcome for every vector file', () => {
      assert.deepEqual(listJson(`cose/${dir}`).map((f) => f.replace(/\.json$/, '')), Object.keys(table).sort());
    });

    for (const [name, expect] of Object.entries(table)) {
      const v = loadCose(dir, `${name}.json`);
      const payload = plaintextOf(v.input);

      if (expect.kind === 'cose-sign') {
        it(`${name}: reproduces each signer's ToBeSign of the COSE_Sign and ${expect.supported ? 'verifies the signature with our primitives' : 'refuses its algorithm or key'}; verifyCoseSign1 refuses tag 98`, async () => {
          const sign = v.input.sign;
          const msg = decodeCbor(v.output, { ...CBOR_DEFAULT_LIMITS, allowedTags: [98] });
          assert.ok(msg instanceof CborTag && msg.tag === 98);
          const [bodyProt, , , signers] = msg.value as [Uint8Array, unknown, Uint8Array, [Uint8Array, unknown, Uint8Array][]];
          assert.equal(signers.length, sign.signers.length);
          for (let i = 0; i < signers.length; i++) {
            const s = sign.signers[i];
            const [signProt, , signature] = signers[i] as [Uint8Array, unknown, Uint8Array];
            const tbs = sigStructure(protectedBytesFromInput(sign.protected), protectedBytesFromInput(s.protected), EMPTY, payload);
            assert.equal(toHexUpper(tbs), v.intermediates.signers[i].ToBeSign_hex);
            assert.deepEqual(sigStructure(bodyProt, signProt, EMPTY, payload), tbs);
            if (expect.supported) {
              const key = fromCoseKey(coseKeyMapFromJson(s.key, { publicOnly: true }));
              assert.equal(verifySignature(algOf(v, s.protected), key.publicKey as KeyObject, tbs, signature), true);
            } else if (s.key.crv === 'P-521' || s.key.crv === 'Ed448') {
              assert.equal(await codeOf(() => fromCoseKey(coseKeyMapFromJson(s.key, { publicOnly: true }))), 'COSE_KEY_UNSUPPORTED');
            } else {
              assert.ok(!ALL.includes(s.protected.alg as CoseSignAlgorithm), `${name}: ${String(s.protected.alg)} should be off our list`);
            }
          }
          assert.equal(await codeOf(() => verifyCoseSign1(v.output, { key: () => undefined, algorithms: ALL })), 'COSE_TAG_MISMATCH');
        });
        continue;
      }

      const s0 = v.input.sign0;
      const external = typeof s0.external === 'string' ? hex(s0.external) : EMPTY;

      it(`${name}: reproduces intermediates.ToBeSign_hex from the vector inputs`, () => {
        const tbs = sigStructure1(protectedBytesFromInput(s0.protected), external, payload);
        assert.equal(toHexUpper(tbs), v.intermediates.ToBeSign_hex);
      });

      if (expect.kind === 'unsupported-alg') {
        it(`${name}: refuses ${String(s0.alg)} with COSE_ALG_NOT_ALLOWED before looking for a key`, async () => {
          if (expect.keyCode !== undefined) assert.equal(await codeOf(() => fromCoseKey(coseKeyMapFromJson(s0.key))), expect.keyCode);
          const code = await codeOf(() =>
            verifyCoseSign1(v.output, {
              key: () => assert.fail('no key may be looked up for a refused algorithm'),
              algorithms: ALL,
            }),
          );
          assert.equal(code, 'COSE_ALG_NOT_ALLOWED');
        });
        continue;
      }
      if (expect.kind === 'unsupported-key') {
        it(`${name}: refuses the ${String(s0.key.crv)} key (COSE_KEY_UNSUPPORTED), so no verifier can trust it (COSE_KEY_NOT_FOUND)`, async () => {
          assert.equal(await codeOf(() => fromCoseKey(coseKeyMapFromJson(s0.key))), 'COSE_KEY_UNSUPPORTED');
          assert.equal(await codeOf(() => verifyCoseSign1(v.output, { key: () => undefined, algorithms: ALL })), 'COSE_KEY_NOT_FOUND');
        });
        continue;
      }

      const cose = fromCoseKey(coseKeyMapFromJson(s0.key));
      const alg = algOf(v, s0);
      const verifierKey = coseVerifierKey(alg, cose.publicKey as KeyObject);

      if (s0.protected?.alg !== undefined) {
        it(`${name}: createCoseSign1 from the inputs signs exactly ToBeSign and ${expect.kind === 'pass' && expect.exact === true ? 'reproduces output.cbor byte for byte' : 'verifies'}`, async () => {
          const inner = keyObjectSigner(alg, cose.privateKey as KeyObject);
          let captured: Uint8Array | undefined;
          const signer: CoseSigner = {
            alg,
            sign: (tbs) => {
              captured = tbs;
              return inner.sign(tbs);
            },
          };
          const protectedHeaders = headersFromJson(s0.protected);
          const created = await createCoseSign1({
            payload,
            signer,
            protectedHeaders,
            unprotectedHeaders: headersFromJson(s0.unprotected),
            externalAad: external,
          });
          assert.equal(toHexUpper(captured as Uint8Array), v.intermediates.ToBeSign_hex);
          if (expect.kind === 'pass' && expect.exact === true) assert.deepEqual(created, v.output);
          assert.deepEqual(verifyCoseSign1(created, { key: verifierKey, algorithms: [alg], externalAad: external }).payload, payload);
        });
      }

      if (expect.kind === 'fail') {
        it(`${name} (${v.title.split(': ')[1]}): rejects output.cbor with ${expect.code}`, async () => {
          assert.equal(v.fail, true);
          assert.equal(await codeOf(() => verifyCoseSign1(v.output, { key: verifierKey, algorithms: ALL, externalAad: external })), expect.code);
        });
      } else if (expect.kind === 'pass') {
        const strict = expect.strict === undefined ? '' : `; with ${JSON.stringify(expect.strict.options)} it is refused with ${expect.strict.code}`;
        it(`${name}: verifies output.cbor with ${JSON.stringify(expect.options ?? {})}${strict}`, async () => {
          assert.equal(v.fail, false);
          const base = { key: verifierKey, algorithms: ALL, externalAad: external } as const;
          const r = verifyCoseSign1(v.output, { ...base, ...expect.options });
          assert.deepEqual(r.payload, payload);
          assert.equal(r.alg, alg);
          if (expect.strict !== undefined) {
            assert.equal(await codeOf(() => verifyCoseSign1(v.output, { ...base, ...expect.strict?.options })), expect.strict.code);
          }
          // The same message under the wrong external AAD or another algorithm list must fail.
          assert.equal(await codeOf(() => verifyCoseSign1(v.output, { ...base, ...expect.options, externalAad: Uint8Array.of(1) })), 'COSE_SIGNATURE_INVALID');
          const others = ALL.filter((a) => a !== alg);
          assert.equal(await codeOf(() => verifyCoseSign1(v.output, { ...base, ...expect.options, algorithms: others })), 'COSE_ALG_NOT_ALLOWED');
        });
      }
    }
  });
}
