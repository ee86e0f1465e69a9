/** Wycheproof HKDF-SHA256 (RFC 5869) through hkdfSha256. No `acceptable` cases. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hkdfSha256 } from '../../src/crypto/index.ts';
import { isCityTrustError } from '../../src/core/errors.ts';
import { hex, loadWycheproof, Tally } from './vectors.ts';

describe('Wycheproof hkdf_sha256_test.json', () => {
  const file = loadWycheproof('hkdf_sha256_test.json');

  it('derives all 83 valid outputs (up to 8160 bytes) and refuses the 3 over-long requests with CRYPTO_HKDF_LENGTH', () => {
    const tally = new Tally();
    const wrong: number[] = [];
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        const size = t.size as number;
        if (t.result === 'valid') {
          const okm = hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), size);
          if (Buffer.compare(okm, hex(t.okm)) !== 0) wrong.push(t.tcId);
          else tally.add('valid');
        } else {
          try {
            hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), size);
            wrong.push(t.tcId);
          } catch (e) {
            if (isCityTrustError(e, 'CRYPTO_HKDF_LENGTH')) tally.add('refused');
            else wrong.push(t.tcId);
          }
        }
      }
    }
    assert.deepEqual(wrong, []);
    assert.equal(tally.get('valid'), 83);
    assert.equal(tally.get('refused'), 3);
  });
});
