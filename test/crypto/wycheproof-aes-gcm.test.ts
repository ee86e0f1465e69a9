/**
 * Wycheproof AES-GCM through aesGcmSeal/aesGcmOpen. No `acceptable` cases. Our layer takes
 * 128/256-bit keys and 96-bit IVs only (docs/crypto.md); vectors outside that are not skipped:
 * each must be refused with the code that names the reason.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aesGcmOpen, aesGcmSeal } from '../../src/crypto/index.ts';
import { isCityTrustError, type ErrorCode } from '../../src/core/errors.ts';
import { concatBytes } from '../../src/core/bytes.ts';
import { hex, loadWycheproof, Tally } from './vectors.ts';

function codeOf(f: () => unknown): ErrorCode | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (!isCityTrustError(e)) throw e;
    return e.code;
  }
}

describe('Wycheproof aes_gcm_test.json', () => {
  const file = loadWycheproof('aes_gcm_test.json');

  it('seals and opens all 79 valid vectors, rejects all 54 forged tags, and refuses 103 vectors with 192-bit keys and 80 with IVs other than 96 bits', () => {
    const tally = new Tally();
    const wrong: string[] = [];
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        const key = hex(t.key);
        const iv = hex(t.iv);
        const aad = hex(t.aad);
        const msg = hex(t.msg);
        const sealed = concatBytes(hex(t.ct), hex(t.tag));
        let outcome: string;
        if (g.keySize === 192) {
          const codes = [codeOf(() => aesGcmSeal(key, iv, msg, aad)), codeOf(() => aesGcmOpen(key, iv, sealed, aad))];
          outcome = codes.every((c) => c === 'CRYPTO_KEY_SIZE_UNSUPPORTED') ? 'refused-key' : `wrong:${codes.join(',')}`;
        } else if (g.ivSize !== 96) {
          const codes = [codeOf(() => aesGcmSeal(key, iv, msg, aad)), codeOf(() => aesGcmOpen(key, iv, sealed, aad))];
          outcome = codes.every((c) => c === 'CRYPTO_IV_LENGTH') ? 'refused-iv' : `wrong:${codes.join(',')}`;
        } else if (t.result === 'valid') {
          const sealOk = Buffer.compare(aesGcmSeal(key, iv, msg, aad), sealed) === 0;
          const openOk = Buffer.compare(aesGcmOpen(key, iv, sealed, aad), msg) === 0;
          outcome = sealOk && openOk ? 'valid-ok' : 'wrong:valid';
        } else {
          const code = codeOf(() => aesGcmOpen(key, iv, sealed, aad));
          outcome = code === 'CRYPTO_AEAD_AUTH_FAILED' ? 'invalid-rejected' : `wrong:${code}`;
        }
        if (outcome.startsWith('wrong')) wrong.push(`${t.tcId} ${outcome}`);
        tally.add(outcome);
      }
    }
    assert.deepEqual(wrong, []);
    assert.equal(tally.get('valid-ok'), 79);
    assert.equal(tally.get('invalid-rejected'), 54);
    assert.equal(tally.get('refused-key'), 103);
    assert.equal(tally.get('refused-iv'), 80);
    assert.equal(tally.total(), 316);
  });
});
