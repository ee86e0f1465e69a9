/**
 * Wycheproof HMAC-SHA256 through hmacSha256/verifyHmacSha256. No `acceptable` cases.
 * Our layer takes keys of at least 32 bytes and full 32-byte tags (docs/crypto.md); the
 * 128-bit-key and 128-bit-tag groups are refused with the code naming the reason.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hmacSha256, verifyHmacSha256 } from '../../src/crypto/index.ts';
import { isCityTrustError } from '../../src/core/errors.ts';
import { hex, loadWycheproof, Tally } from './vectors.ts';

describe('Wycheproof hmac_sha256_test.json', () => {
  const file = loadWycheproof('hmac_sha256_test.json');

  it('verifies all 30 valid full tags, rejects all 54 forged ones, and refuses 87 truncated tags and 3 short keys', () => {
    const tally = new Tally();
    const wrong: string[] = [];
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        const key = hex(t.key);
        const msg = hex(t.msg);
        const tag = hex(t.tag);
        let outcome: string;
        try {
          const ok = verifyHmacSha256(key, msg, tag);
          if (t.result === 'valid') outcome = ok && Buffer.compare(hmacSha256(key, msg), tag) === 0 ? 'valid-ok' : 'wrong';
          else outcome = ok ? 'wrong' : 'invalid-rejected';
        } catch (e) {
          if (!isCityTrustError(e)) throw e;
          if (e.code === 'CRYPTO_MAC_LENGTH' && g.tagSize !== 256) outcome = 'refused-tag';
          else if (e.code === 'CRYPTO_KEY_SIZE_UNSUPPORTED' && g.keySize === 128) outcome = 'refused-key';
          else outcome = `wrong:${e.code}`;
        }
        if (outcome.startsWith('wrong')) wrong.push(`${t.tcId} ${outcome}`);
        tally.add(outcome);
      }
    }
    assert.deepEqual(wrong, []);
    assert.equal(tally.get('valid-ok'), 30);
    assert.equal(tally.get('invalid-rejected'), 54);
    assert.equal(tally.get('refused-tag'), 87);
    assert.equal(tally.get('refused-key'), 3);
    assert.equal(tally.total(), 174);
  });
});
