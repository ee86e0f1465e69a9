import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSignature, exportSpkiPublicKey, generateKeyPair } from '../../src/crypto/index.ts';
import { VerifyPool } from '../../src/metering/verify-pool.ts';

function signer(id: string) {
  const k = generateKeyPair('P-256');
  return { key: { id, spki: exportSpkiPublicKey(k.publicKey), keyObject: k.publicKey }, sign: (d: Uint8Array) => createSignature('ES256', k.privateKey, d, 'raw') };
}

describe('the signature verification pool', () => {
  for (const threads of [0, 2]) {
    it(`tells valid from forged signatures across many keys (${threads} worker threads)`, async () => {
      const pool = new VerifyPool(threads);
      try {
        const signers = Array.from({ length: 5 }, (_, i) => signer(`k${i}`));
        const jobs = Array.from({ length: 200 }, (_, i) => {
          const s = signers[i % 5]!;
          const data = new Uint8Array(randomBytes(40));
          const sig = s.sign(data);
          const kind = i % 4;
          // 0: valid; 1: data altered; 2: another key's signature; 3: truncated signature
          if (kind === 1) data[0]! ^= 1;
          const signature = kind === 2 ? signers[(i + 1) % 5]!.sign(data) : kind === 3 ? sig.subarray(0, 63) : sig;
          return { expected: kind === 0, p: pool.verify(s.key, data, signature) };
        });
        const results = await Promise.all(jobs.map((j) => j.p));
        assert.deepEqual(results, jobs.map((j) => j.expected));
      } finally {
        await pool.close();
      }
    });
  }

  it('verifies inline once closed', async () => {
    const pool = new VerifyPool(1);
    const s = signer('k');
    const d = Uint8Array.of(1, 2, 3);
    assert.equal(await pool.verify(s.key, d, s.sign(d)), true);
    await pool.close();
    assert.equal(await pool.verify(s.key, d, s.sign(d)), true);
    assert.equal(await pool.verify(s.key, Uint8Array.of(9), s.sign(d)), false);
  });
});
