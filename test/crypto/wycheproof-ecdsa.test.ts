/**
 * Wycheproof ECDSA vectors (P-256/SHA-256 in DER and IEEE P1363, P-384/SHA-384 in DER), every
 * one run through our layer: importSpkiPublicKey + verifySignature. None of these files has
 * `acceptable` cases; BER-encoded signatures are `invalid` and our strict DER parser refuses them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ecdsaDerToRaw, ecdsaRawToDer, importSpkiPublicKey, verifySignature } from '../../src/crypto/index.ts';
import type { SignatureAlgorithm } from '../../src/crypto/index.ts';
import { hex, loadWycheproof, Tally } from './vectors.ts';

interface Case {
  file: string;
  alg: SignatureAlgorithm;
  curve: 'P-256' | 'P-384';
  encoding: 'der' | 'raw';
  valid: number;
  invalid: number;
}

const CASES: Case[] = [
  { file: 'ecdsa_secp256r1_sha256_test.json', alg: 'ES256', curve: 'P-256', encoding: 'der', valid: 174, invalid: 310 },
  { file: 'ecdsa_secp256r1_sha256_p1363_test.json', alg: 'ES256', curve: 'P-256', encoding: 'raw', valid: 173, invalid: 89 },
  { file: 'ecdsa_secp384r1_sha384_test.json', alg: 'ES384', curve: 'P-384', encoding: 'der', valid: 194, invalid: 310 },
];

for (const c of CASES) {
  describe(`Wycheproof ${c.file}`, () => {
    const file = loadWycheproof(c.file);

    it(`accepts all ${c.valid} valid and rejects all ${c.invalid} invalid ${c.alg} ${c.encoding} signatures`, () => {
      const tally = new Tally();
      const wrong: number[] = [];
      for (const g of file.testGroups) {
        const key = importSpkiPublicKey(c.curve, hex(g.publicKeyDer));
        for (const t of g.tests) {
          const ok = verifySignature(c.alg, key, hex(t.msg), hex(t.sig), c.encoding);
          tally.add(`${t.result}:${ok}`);
          if (ok !== (t.result === 'valid')) wrong.push(t.tcId);
        }
      }
      assert.deepEqual(wrong, []);
      assert.equal(tally.get('valid:true'), c.valid);
      assert.equal(tally.get('invalid:false'), c.invalid);
      assert.equal(tally.total(), c.valid + c.invalid);
    });

    it(`converts every valid signature between DER and r||s without changing a byte`, () => {
      let n = 0;
      for (const g of file.testGroups) {
        for (const t of g.tests) {
          if (t.result !== 'valid') continue;
          const sig = hex(t.sig);
          if (c.encoding === 'der') assert.deepEqual(ecdsaRawToDer(ecdsaDerToRaw(sig, c.curve), c.curve), sig, `tcId ${t.tcId}`);
          else assert.deepEqual(ecdsaDerToRaw(ecdsaRawToDer(sig, c.curve), c.curve), sig, `tcId ${t.tcId}`);
          n++;
        }
      }
      assert.equal(n, c.valid);
    });
  });
}
