/**
 * RFC 9053 §5 HKDF and the COSE_KDF_Context against the COSE WG hkdf-hmac-sha-examples (28 files).
 *
 * These vectors use "direct + HKDF" recipients (alg -10 / -11) over a pre-shared secret, with
 * AES-CCM content or HMAC. We do not implement that recipient mode (our key agreement is
 * ECDH-ES + HKDF-256, tested in rfc9053-ecdh-es.test.ts), so decryptCoseEncrypt refuses every one
 * with COSE_ALG_NOT_ALLOWED. What they do exercise is the machinery our ECDH-ES uses, and that is
 * reproduced for every file: the COSE_KDF_Context with every PartyU/PartyV/SuppPub/SuppPriv
 * combination, the Enc_/MAC_structure, and (HKDF-SHA-256 files) the CEK with our hkdfSha256.
 * HKDF-SHA-512 is not on our allow-list; for those files the context is still reproduced.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  coseContentKey,
  coseKdfContext,
  decodeCbor,
  decryptCoseEncrypt,
  hkdfSha256,
  CBOR_DEFAULT_LIMITS,
  CborTag,
  type PartyInfo,
} from '../../src/crypto/index.ts';
import { encStructure, macStructure } from '../../src/crypto/cose/structures.ts';
import { ALG_IDS, codeOf, loadCose, plaintextOf, toHexUpper } from './cose-vectors.ts';
import { listJson } from './vectors.ts';

const EMPTY = new Uint8Array(0);
const KEY_BITS: Readonly<Record<number, number>> = { 5: 256, 7: 512, 10: 128, 11: 256 };
const files = listJson('cose/hkdf-hmac-sha-examples');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function party(m: Map<number, unknown>, id: number, nonce: number, other: number): PartyInfo {
  const get = (l: number): Uint8Array | null => (m.get(l) as Uint8Array | undefined) ?? null;
  return { identity: get(id), nonce: get(nonce), other: get(other) };
}

describe('RFC 9053 HKDF and COSE_KDF_Context: COSE WG hkdf-hmac-sha-examples', () => {
  it('covers 28 files, 14 with HKDF-SHA-256 and 14 with HKDF-SHA-512', () => {
    assert.equal(files.length, 28);
    assert.equal(files.filter((f) => f.startsWith('hmac-sha-256-')).length, 14);
  });

  for (const file of files) {
    const v = loadCose('hkdf-hmac-sha-examples', file);
    const sha256 = v.name.startsWith('hmac-sha-256-');
    const isMac = v.input.mac !== undefined;
    const body = isMac ? v.input.mac : v.input.enveloped;
    const r0 = body.recipients[0];
    const msg = decodeCbor(v.output, { ...CBOR_DEFAULT_LIMITS, allowedTags: [96, 97] });
    assert.ok(msg instanceof CborTag && msg.tag === (isMac ? 97 : 96));
    const parts = msg.value as unknown[];
    const [rProt, rUnprot] = (parts[parts.length - 1] as [Uint8Array, Map<number, unknown>][])[0] as [Uint8Array, Map<number, unknown>];
    const contentAlg = ALG_IDS[String(body.protected.alg)] as number;
    const unsent = (r0.unsent ?? {}) as { pub_other?: string; priv_other?: string };
    const context = coseKdfContext({
      algorithmId: contentAlg,
      keyDataLength: KEY_BITS[contentAlg] as number,
      protected: rProt,
      partyU: party(rUnprot, -21, -22, -23),
      partyV: party(rUnprot, -24, -25, -26),
      ...(unsent.pub_other !== undefined && { suppPubOther: utf8(unsent.pub_other) }),
      ...(unsent.priv_other !== undefined && { suppPrivInfo: utf8(unsent.priv_other) }),
    });

    it(`${v.name}: reproduces Context_hex${sha256 ? ', CEK_hex' : ''} and the ${isMac ? 'ToMac' : 'AAD'} structure`, () => {
      assert.equal(toHexUpper(context), v.intermediates.recipients[0].Context_hex);
      if (sha256) {
        const secret = Buffer.from(String(r0.key.k), 'base64url');
        const salt = (rUnprot.get(-20) as Uint8Array | undefined) ?? EMPTY;
        assert.equal(toHexUpper(hkdfSha256(secret, salt, context, (KEY_BITS[contentAlg] as number) / 8)), v.intermediates.CEK_hex);
      }
      if (isMac) assert.equal(toHexUpper(macStructure('MAC', parts[0] as Uint8Array, EMPTY, plaintextOf(v.input))), v.intermediates.ToMac_hex);
      else assert.equal(toHexUpper(encStructure('Encrypt', parts[0] as Uint8Array, EMPTY)), v.intermediates.AAD_hex);
    });

    it(`${v.name}: decryptCoseEncrypt refuses the direct+HKDF recipient with ${isMac ? 'COSE_TAG_MISMATCH (a COSE_Mac)' : 'COSE_ALG_NOT_ALLOWED'}`, async () => {
      const key = coseContentKey('A128GCM', new Uint8Array(16));
      const code = await codeOf(() =>
        decryptCoseEncrypt(v.output, { recipient: { mode: 'direct', key }, algorithms: ['A128GCM', 'A256GCM', 'AES-CCM-16-64-128'] }),
      );
      assert.equal(code, isMac ? 'COSE_TAG_MISMATCH' : 'COSE_ALG_NOT_ALLOWED');
    });
  }
});
