import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from '../../src/core/bytes.ts';
import { randomBytes } from 'node:crypto';

describe('base64 decoding (RFC 4648)', () => {
  it('round-trips every length', () => {
    for (let n = 0; n < 40; n++) {
      const b = new Uint8Array(randomBytes(n));
      assert.deepEqual(fromBase64(toBase64(b)), b);
      assert.deepEqual(fromBase64Url(toBase64Url(b)), b);
    }
  });
  it('refuses non-canonical spellings whose unused bits are set (§3.5)', () => {
    const b = new Uint8Array(32); // 43 base64url characters, the last carrying 2 unused bits
    const text = toBase64Url(b);
    assert.equal(text.at(-1), 'A');
    assert.throws(() => fromBase64Url(`${text.slice(0, -1)}B`), /canonical/);
    assert.deepEqual(fromBase64('AA=='), new Uint8Array([0]));
  });
  it('refuses foreign characters and bad lengths', () => {
    for (const s of ['A', 'AA=A', 'A A=', '****']) assert.throws(() => fromBase64(s));
    for (const s of ['A', 'AA=', 'A+B/', 'A.B']) assert.throws(() => fromBase64Url(s));
  });
});
