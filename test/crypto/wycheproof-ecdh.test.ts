/**
 * Wycheproof ECDH P-256 with SPKI-encoded peer keys, through importSpkiPublicKey,
 * importRawPrivateKey and ecdhSharedSecret.
 *
 * `acceptable` decisions, by flag:
 *  - CompressedPublic / CompressedPoint: ACCEPT. We support SEC1 compressed points anyway
 *    (credentials carry them); the point is decompressed and validated like any other.
 *  - InvalidAsn (BER lengths, trailing data, wrong OIDs...), UnnamedCurve (explicit parameters,
 *    whatever they say: UnusedParam, ModifiedGenerator, ModifiedCofactor, NoCofactor,
 *    ModifiedCurveParameter, WrongOrder): REJECT with CRYPTO_KEY_INVALID (CRYPTO_POINT_INVALID
 *    where the DER prefix is canonical but the point bytes were altered). We accept only the
 *    canonical named-curve SPKI byte for byte; a key that needed leniency to parse is not a key a
 *    correct peer sends, and refusing explicit parameters closes the invalid-curve door for good.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import { ecdhSharedSecret, importRawPrivateKey, importSpkiPublicKey } from '../../src/crypto/index.ts';
import { isCityTrustError } from '../../src/core/errors.ts';
import { hex, loadWycheproof, Tally, type WycheproofTest } from './vectors.ts';

const ACCEPT_FLAGS = new Set(['CompressedPublic', 'CompressedPoint']);
const REJECT_FLAGS = new Set(['InvalidAsn', 'UnnamedCurve', 'UnusedParam', 'ModifiedGenerator', 'ModifiedCofactor', 'NoCofactor', 'ModifiedCurveParameter', 'WrongOrder']);

/** Our decision for an `acceptable` vector; an unknown flag fails the test so it gets decided. */
function decide(t: WycheproofTest): 'accept' | 'reject' {
  if (t.flags.some((f) => ACCEPT_FLAGS.has(f))) return 'accept';
  if (t.flags.length > 0 && t.flags.every((f) => REJECT_FLAGS.has(f))) return 'reject';
  throw new Error(`tcId ${t.tcId}: acceptable flags ${t.flags.join(',')} have no decision`);
}

/** Wycheproof gives the private key as an ASN.1 INTEGER's bytes; our API takes the fixed 32-byte scalar. */
function scalar32(h: unknown): Uint8Array {
  let b = hex(h);
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  b = b.subarray(i);
  if (b.length > 32) return b;
  const out = new Uint8Array(32);
  out.set(b, 32 - b.length);
  return out;
}

describe('Wycheproof ecdh_secp256r1_test.json', () => {
  const file = loadWycheproof('ecdh_secp256r1_test.json');

  it('computes all 330 valid secrets, rejects all 52 invalid keys, accepts the 1 compressed-key case and rejects 229 BER/explicit-curve cases', () => {
    const tally = new Tally();
    const wrong: string[] = [];
    for (const g of file.testGroups) {
      for (const t of g.tests) {
        const expect = t.result === 'acceptable' ? decide(t) : t.result === 'valid' ? 'accept' : 'reject';
        let shared: Uint8Array | undefined;
        let code = '';
        try {
          const peer: KeyObject = importSpkiPublicKey('P-256', hex(t.public));
          shared = ecdhSharedSecret(importRawPrivateKey('P-256', scalar32(t.private)), peer);
        } catch (e) {
          if (!isCityTrustError(e)) throw e;
          code = e.code;
        }
        if (expect === 'accept') {
          if (shared === undefined || Buffer.compare(shared, hex(t.shared)) !== 0) wrong.push(`${t.tcId}: expected the shared secret, got ${code}`);
        } else if (shared !== undefined || (code !== 'CRYPTO_KEY_INVALID' && code !== 'CRYPTO_POINT_INVALID')) {
          wrong.push(`${t.tcId}: expected a key/point refusal, got ${shared === undefined ? code : 'a secret'}`);
        }
        tally.add(`${t.result}:${expect}:${code || 'ok'}`);
      }
    }
    assert.deepEqual(wrong, []);
    assert.equal(tally.get('valid:accept:ok'), 330);
    assert.equal(tally.get('acceptable:accept:ok'), 1);
    assert.equal(tally.get('acceptable:reject:CRYPTO_KEY_INVALID') + tally.get('acceptable:reject:CRYPTO_POINT_INVALID'), 229);
    assert.equal(tally.get('invalid:reject:CRYPTO_KEY_INVALID') + tally.get('invalid:reject:CRYPTO_POINT_INVALID'), 52);
    assert.equal(tally.total(), 612);
  });
});
