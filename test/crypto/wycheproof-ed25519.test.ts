/** Wycheproof Ed25519 (RFC 8032) through importRawPublicKey + verifySignature. No `acceptable` cases. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { importRawPublicKey, verifySignature } from '../../src/crypto/index.ts';
import { hex, loadWycheproof, Tally } from './vectors.ts';

describe('Wycheproof ed25519_test.json', () => {
  const file = loadWycheproof('ed25519_test.json');

  it('accepts all 88 valid and rejects all 63 invalid Ed25519 signatures (non-canonical s, bad R, wrong lengths)', () => {
    const tally = new Tally();
    const wrong: number[] = [];
    for (const g of file.testGroups) {
      const key = importRawPublicKey('Ed25519', hex((g.publicKey as { pk: string }).pk));
      for (const t of g.tests) {
        const ok = verifySignature('EdDSA', key, hex(t.msg), hex(t.sig));
        tally.add(`${t.result}:${ok}`);
        if (ok !== (t.result === 'valid')) wrong.push(t.tcId);
      }
    }
    assert.deepEqual(wrong, []);
    assert.equal(tally.get('valid:true'), 88);
    assert.equal(tally.get('invalid:false'), 63);
    assert.equal(tally.total(), 151);
  });
});
