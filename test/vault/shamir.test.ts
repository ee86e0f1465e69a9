import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { gfMul, gfInv } from '../../src/vault/shamir/gf256.ts';
import { splitSecret, combineShares, encodeShare, decodeShare, ShareCollector, SHARE_PREFIX, type SharePoint } from '../../src/vault/index.ts';
import { throwsWith } from './helpers.ts';

/** Every k-element subset of xs. */
function subsets<T>(xs: T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (xs.length < k) return [];
  const [h, ...t] = xs;
  return [...subsets(t, k - 1).map((s) => [h!, ...s]), ...subsets(t, k)];
}

describe('GF(2^8) arithmetic', () => {
  it('multiplies as FIPS 197 §4.2 shows ({57}·{83} = {c1}, {57}·{13} = {fe})', () => {
    assert.equal(gfMul(0x57, 0x83), 0xc1);
    assert.equal(gfMul(0x57, 0x13), 0xfe);
  });

  it('gives every non-zero element an inverse', () => {
    for (let a = 1; a < 256; a++) assert.equal(gfMul(a, gfInv(a)), 1, `a=${a}`);
  });

  it('is commutative and distributes over XOR', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (a, b, c) => {
        assert.equal(gfMul(a, b), gfMul(b, a));
        assert.equal(gfMul(a, b ^ c), gfMul(a, b) ^ gfMul(a, c));
      }),
    );
  });
});

describe("Shamir's secret sharing", () => {
  it('recovers the secret from every subset of threshold shares (3 of 5)', () => {
    const secret = randomBytes(32);
    const shares = splitSecret(secret, 5, 3);
    for (const subset of subsets(shares, 3)) assert.deepEqual(Buffer.from(combineShares(subset)), secret);
    for (const subset of subsets(shares, 4)) assert.deepEqual(Buffer.from(combineShares(subset)), secret);
  });

  it('recovers random secrets for random thresholds (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 48 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 3 }), (secret, t, extra) => {
        const shares = splitSecret(secret, t + extra, t);
        const pick = fc.sample(fc.shuffledSubarray(shares, { minLength: t, maxLength: t }), 1)[0]!;
        assert.deepEqual(combineShares(pick), secret);
      }),
      { numRuns: 200 },
    );
  });

  it('lets threshold − 1 shares be consistent with every possible secret', () => {
    // Information-theoretic secrecy: for t−1 shares of one secret and ANY other candidate
    // secret, some t-th share exists that completes them to that candidate. So t−1 shares
    // rule out nothing, and no property of them can be checked against a guess.
    const secret = randomBytes(4);
    const [a, b] = splitSecret(secret, 3, 3);
    for (const candidate of [Buffer.alloc(4), Buffer.alloc(4, 0xff), randomBytes(4)]) {
      // Solve for the share at x = 3 that makes (a, b, x3) interpolate to `candidate` at 0.
      const found: SharePoint = { x: 3, y: new Uint8Array(4) };
      for (let byte = 0; byte < 4; byte++) {
        let hit = -1;
        for (let y = 0; y < 256 && hit < 0; y++) {
          const probe: SharePoint = { x: 3, y: Uint8Array.of(y) };
          const got = combineShares([{ x: a!.x, y: a!.y.subarray(byte, byte + 1) }, { x: b!.x, y: b!.y.subarray(byte, byte + 1) }, probe]);
          if (got[0] === candidate[byte]) hit = y;
        }
        assert.ok(hit >= 0, 'every candidate byte is reachable');
        found.y[byte] = hit;
      }
      assert.deepEqual(Buffer.from(combineShares([a!, b!, found])), candidate);
    }
  });

  it('produces share values spread over the whole byte range for a constant secret', () => {
    const counts = new Array(256).fill(0) as number[];
    for (let i = 0; i < 64; i++) for (const s of splitSecret(new Uint8Array(32), 3, 2)) for (const y of s.y) counts[y]!++;
    // 6144 samples over 256 values: every value appears, none dominates (a constant leak would).
    assert.ok(counts.every((c) => c > 0));
    assert.ok(Math.max(...counts) < 80);
  });

  it('refuses impossible parameters', () => {
    assert.throws(() => splitSecret(new Uint8Array(32), 2, 3), RangeError);
    assert.throws(() => splitSecret(new Uint8Array(32), 256, 3), RangeError);
    assert.throws(() => combineShares([{ x: 1, y: new Uint8Array(2) }, { x: 1, y: new Uint8Array(2) }]), RangeError);
  });
});

describe('share text format', () => {
  const setId = randomBytes(8);
  const make = () => splitSecret(randomBytes(32), 5, 3).map((p) => encodeShare({ ...p, kind: 'unseal', setId, threshold: 3 }));

  it('round-trips and forgives case, spaces and dashes', () => {
    const [text] = make();
    assert.ok(text!.startsWith(SHARE_PREFIX));
    const parsed = decodeShare(text);
    assert.equal(parsed.threshold, 3);
    assert.equal(parsed.x, 1);
    const body = text!.slice(SHARE_PREFIX.length);
    const spaced = SHARE_PREFIX + body.toUpperCase().replace(/(.{5})/g, '$1 ');
    assert.deepEqual(decodeShare(`  ${spaced}\n`).y, parsed.y);
  });

  it('detects a changed character anywhere in the share as corrupt or malformed', () => {
    const [text] = make();
    for (let i = SHARE_PREFIX.length; i < text!.length; i++) {
      const ch = text![i] === 'a' ? 'b' : 'a';
      const bad = text!.slice(0, i) + ch + text!.slice(i + 1);
      assert.throws(
        () => decodeShare(bad),
        (e: Error & { code?: string }) => e.code === 'VAULT_SHARE_CORRUPT' || e.code === 'VAULT_SHARE_MALFORMED',
        `position ${i}`,
      );
    }
  });

  it('names malformed input with VAULT_SHARE_MALFORMED', () => {
    const [text] = make();
    throwsWith(() => decodeShare(42), 'VAULT_SHARE_MALFORMED');
    throwsWith(() => decodeShare('hello'), 'VAULT_SHARE_MALFORMED');
    throwsWith(() => decodeShare(text!.slice(0, -3)), 'VAULT_SHARE_MALFORMED');
    throwsWith(() => decodeShare(`${text!}!`), 'VAULT_SHARE_MALFORMED');
    throwsWith(() => decodeShare(SHARE_PREFIX + 'a'.repeat(600)), 'VAULT_SHARE_MALFORMED');
  });
});

describe('ShareCollector', () => {
  it('collects shares one by one and refuses repeats, other sets and other kinds without losing progress', () => {
    const setId = randomBytes(8);
    const secret = randomBytes(32);
    const texts = splitSecret(secret, 5, 3).map((p) => encodeShare({ ...p, kind: 'unseal', setId, threshold: 3 }));
    const foreign = splitSecret(secret, 5, 3).map((p) => encodeShare({ ...p, kind: 'unseal', setId: randomBytes(8), threshold: 3 }));
    const recovery = splitSecret(secret, 5, 3).map((p) => encodeShare({ ...p, kind: 'recovery', setId, threshold: 3 }));
    const c = new ShareCollector('unseal', setId, 3);
    assert.equal(c.add(texts[4]), undefined);
    throwsWith(() => c.add(texts[4]), 'VAULT_SHARE_DUPLICATE');
    throwsWith(() => c.add(foreign[1]), 'VAULT_SHARE_MISMATCH');
    throwsWith(() => c.add(recovery[1]), 'VAULT_SHARE_MISMATCH');
    throwsWith(() => c.add('cts1-zzzz'), 'VAULT_SHARE_MALFORMED');
    assert.deepEqual(c.progress, { threshold: 3, received: 1 });
    assert.equal(c.add(texts[0]), undefined);
    assert.deepEqual(Buffer.from(c.add(texts[2])!), secret);
    assert.deepEqual(c.progress, { threshold: 3, received: 0 });
  });
});
