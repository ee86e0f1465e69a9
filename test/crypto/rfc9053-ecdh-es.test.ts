/**
 * RFC 9053 §6.3 direct key agreement against the COSE WG ecdh-direct-examples (24 files).
 *
 * What our layer does with each, by construction of the file name:
 *  - every file: reproduce the COSE_KDF_Context (RFC 9053 §5.2) from the message's recipient
 *    headers with coseKdfContext;
 *  - P-256: reproduce the ECDH secret with ecdhSharedSecret (ES: recipient key × ephemeral key
 *    from header -1; SS: recipient key × sender static key from header -2);
 *  - HKDF-SHA-256 variants (ECDH-ES / ECDH-SS + HKDF-256): reproduce the CEK with hkdfSha256;
 *  - every COSE_Encrypt file: open the content of output.cbor with our Enc_structure and
 *    aesGcmOpen, using the CEK we derived (P-256, HKDF-256: ES and SS) or else the vector's CEK;
 *  - P-256 ECDH-ES + HKDF-256 with AES-GCM (p256-hkdf-256-01/02): decrypt end to end with
 *    decryptCoseEncrypt, and reproduce the ciphertext with our sender given the vector's ephemeral
 *    key and IV.
 *
 * Out of scope, each refused with a specific code:
 *  - P-521 (COSE_KEY_UNSUPPORTED): every key of this platform is P-256 (secure elements, readers,
 *    the tap protocol) or P-384 (CA signatures); P-521 ECDH would add code and attack surface for
 *    no party that uses it. The CEK is still reproduced from the vector's secret.
 *  - HKDF-SHA-512 variants and ECDH-SS (COSE_ALG_NOT_ALLOWED): our envelopes are ECDH-ES with
 *    HKDF-256 only; ECDH-SS gives up the sender's forward secrecy we want for provisioning.
 *  - COSE_Mac with a recipient (the *-03 files, HS512; COSE_TAG_MISMATCH for decryptCoseEncrypt):
 *    we implement COSE_Mac0 only, and HMAC-SHA-512 is not on our list.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import {
  aesGcmOpen,
  coseKdfContext,
  decodeCbor,
  decryptCoseEncrypt,
  ecdhSharedSecret,
  fromCoseKey,
  hkdfSha256,
  keyObjectAgreement,
  publicKeyOf,
  CBOR_DEFAULT_LIMITS,
  CborTag,
  type CoseContentAlgorithm,
  type PartyInfo,
} from '../../src/crypto/index.ts';
import { createCoseEncryptEcdhEsWith } from '../../src/crypto/cose/encrypt.ts';
import { encStructure } from '../../src/crypto/cose/structures.ts';
import type { ErrorCode } from '../../src/core/errors.ts';
import { ALG_IDS, codeOf, coseKeyMapFromJson, loadCose, plaintextOf, toHexUpper } from './cose-vectors.ts';
import { hex, listJson } from './vectors.ts';

const EMPTY = new Uint8Array(0);
const GCM: readonly CoseContentAlgorithm[] = ['A128GCM', 'A256GCM'];
const KEY_BITS: Readonly<Record<number, number>> = { 1: 128, 3: 256, 7: 512 };

const files = listJson('cose/ecdh-direct-examples');

function party(m: Map<number, unknown>, id: number, nonce: number, other: number): PartyInfo {
  const get = (l: number): Uint8Array | null => (m.get(l) as Uint8Array | undefined) ?? null;
  return { identity: get(id), nonce: get(nonce), other: get(other) };
}

describe('RFC 9053 ECDH-ES/SS direct key agreement: COSE WG ecdh-direct-examples', () => {
  it('covers 24 files: 12 P-256 and 12 P-521, each ES/SS × HKDF-256/512 × (A128GCM, A256GCM, HS512)', () => {
    assert.equal(files.length, 24);
    assert.equal(files.filter((f) => f.startsWith('p256-')).length, 12);
  });

  for (const file of files) {
    const v = loadCose('ecdh-direct-examples', file);
    const p256 = v.name.startsWith('p256-');
    const ss = v.name.includes('-ss-');
    const sha256 = v.name.includes('hkdf-256');
    const isMac = v.input.mac !== undefined;
    const body = isMac ? v.input.mac : v.input.enveloped;
    const r0 = body.recipients[0];
    const expectCode: ErrorCode | 'ok' = isMac
      ? 'COSE_TAG_MISMATCH'
      : !sha256 || ss
        ? 'COSE_ALG_NOT_ALLOWED'
        : p256
          ? 'ok'
          : 'COSE_KEY_UNSUPPORTED';

    const msg = decodeCbor(v.output, { ...CBOR_DEFAULT_LIMITS, allowedTags: [96, 97] });
    assert.ok(msg instanceof CborTag);
    const parts = msg.value as unknown[];
    const [rProt, rUnprot] = (parts[parts.length - 1] as [Uint8Array, Map<number, unknown>, Uint8Array][])[0] as [Uint8Array, Map<number, unknown>, Uint8Array];
    const contentAlg = ALG_IDS[String(body.protected.alg)] as number;
    const context = coseKdfContext({
      algorithmId: contentAlg,
      keyDataLength: KEY_BITS[contentAlg] as number,
      protected: rProt,
      partyU: party(rUnprot, -21, -22, -23),
      partyV: party(rUnprot, -24, -25, -26),
    });
    const inter = v.intermediates.recipients[0];

    it(`${v.name}: reproduces Context_hex${sha256 ? ' and, from Secret_hex, CEK_hex' : ''}`, () => {
      assert.equal(toHexUpper(context), inter.Context_hex);
      if (sha256) assert.equal(toHexUpper(hkdfSha256(hex(inter.Secret_hex), EMPTY, context, (KEY_BITS[contentAlg] as number) / 8)), v.intermediates.CEK_hex);
    });

    if (p256) {
      it(`${v.name}: reproduces Secret_hex with our P-256 ECDH (${ss ? 'sender static key, header -2' : 'ephemeral key, header -1'})`, () => {
        const recipient = fromCoseKey(coseKeyMapFromJson(r0.key));
        const peer = fromCoseKey(rUnprot.get(ss ? -2 : -1) as Map<unknown, unknown>);
        const secret = ecdhSharedSecret(recipient.privateKey as KeyObject, peer.publicKey as KeyObject);
        assert.equal(toHexUpper(secret), inter.Secret_hex);
      });
    } else {
      it(`${v.name}: refuses the P-521 recipient key with COSE_KEY_UNSUPPORTED`, async () => {
        assert.equal(await codeOf(() => fromCoseKey(coseKeyMapFromJson(r0.key))), 'COSE_KEY_UNSUPPORTED');
      });
    }

    if (!isMac) {
      const ours = p256 && sha256;
      it(`${v.name}: opens the content of output.cbor with ${ours ? 'the CEK our ECDH and HKDF derived' : "the vector's CEK_hex"}, through our Enc_structure and AES-GCM`, () => {
        let cek: Uint8Array;
        if (ours) {
          const recipient = fromCoseKey(coseKeyMapFromJson(r0.key));
          const peer = fromCoseKey(rUnprot.get(ss ? -2 : -1) as Map<unknown, unknown>);
          cek = hkdfSha256(ecdhSharedSecret(recipient.privateKey as KeyObject, peer.publicKey as KeyObject), EMPTY, context, (KEY_BITS[contentAlg] as number) / 8);
          assert.equal(toHexUpper(cek), v.intermediates.CEK_hex);
        } else {
          cek = hex(v.intermediates.CEK_hex);
        }
        const iv = (parts[1] as Map<number, unknown>).get(5) as Uint8Array;
        const aad = encStructure('Encrypt', parts[0] as Uint8Array, EMPTY);
        assert.equal(toHexUpper(aad), v.intermediates.AAD_hex);
        assert.deepEqual(aesGcmOpen(cek, iv, parts[2] as Uint8Array, aad), plaintextOf(v.input));
      });
    }

    if (expectCode === 'ok') {
      it(`${v.name}: decryptCoseEncrypt opens output.cbor, and our sender reproduces its ciphertext from the vector's ephemeral key and IV`, async () => {
        const recipient = fromCoseKey(coseKeyMapFromJson(r0.key));
        const agreement = keyObjectAgreement(recipient.privateKey as KeyObject);
        const r = await decryptCoseEncrypt(v.output, { recipient: { mode: 'ECDH-ES+HKDF-256', agreement }, algorithms: GCM });
        assert.deepEqual(r.plaintext, plaintextOf(v.input));
        assert.equal(toHexUpper(r.kid as Uint8Array), toHexUpper(new TextEncoder().encode(r0.unprotected.kid)));

        const ephemeralPrivate = fromCoseKey(new Map<number, unknown>([[1, 2], [-1, 1], [-4, hex(v.input.rng_stream[0])]])).privateKey as KeyObject;
        const created = createCoseEncryptEcdhEsWith(
          { plaintext: plaintextOf(v.input), recipientKey: recipient.publicKey as KeyObject, alg: contentAlg === 1 ? 'A128GCM' : 'A256GCM' },
          { privateKey: ephemeralPrivate, publicKey: publicKeyOf(ephemeralPrivate) },
          hex(v.input.rng_stream[1]),
        );
        const ours = decodeCbor(created, { ...CBOR_DEFAULT_LIMITS, allowedTags: [96] }) as CborTag;
        assert.deepEqual((ours.value as unknown[])[2], parts[2]); // same CEK, IV and AAD: same ciphertext
        assert.deepEqual((await decryptCoseEncrypt(created, { recipient: { mode: 'ECDH-ES+HKDF-256', agreement }, algorithms: GCM })).plaintext, plaintextOf(v.input));
      });
    } else {
      it(`${v.name}: decryptCoseEncrypt refuses output.cbor with ${expectCode}`, async () => {
        const agreement = { curve: 'P-256' as const, deriveSecret: () => assert.fail('no secret may be derived for a refused message') };
        assert.equal(await codeOf(() => decryptCoseEncrypt(v.output, { recipient: { mode: 'ECDH-ES+HKDF-256', agreement }, algorithms: GCM })), expectCode);
      });
    }
  }
});
