/**
 * Index arithmetic past 32 bits: the verifiers must stay exact for every safe-integer tree
 * size (JavaScript's bitwise operators would silently truncate to 32 bits).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../src/core/bytes.ts';
import { isCityTrustError } from '../../src/core/errors.ts';
import { bitLength, hashChildren, hashLeaf, isPowerOfTwo, largestPowerOfTwoBelow, rootFromInclusionProof, verifyConsistency, verifyInclusion } from '../../src/audit/merkle.ts';

const refused = (e: unknown) => isCityTrustError(e, 'AUDIT_PROOF_INVALID') || isCityTrustError(e, 'AUDIT_RANGE_INVALID');
const h = (s: string) => hashLeaf(new TextEncoder().encode(s));

describe('exact bit arithmetic up to 2^53', () => {
  it('measures bit lengths across the 32-bit boundary', () => {
    assert.equal(bitLength(0), 0);
    assert.equal(bitLength(1), 1);
    assert.equal(bitLength(2 ** 32 - 1), 32);
    assert.equal(bitLength(2 ** 32), 33);
    assert.equal(bitLength(2 ** 53 - 1), 53);
  });
  it('finds the RFC 9162 split point k for large n', () => {
    assert.equal(largestPowerOfTwoBelow(2), 1);
    assert.equal(largestPowerOfTwoBelow(3), 2);
    assert.equal(largestPowerOfTwoBelow(2 ** 32), 2 ** 31);
    assert.equal(largestPowerOfTwoBelow(2 ** 32 + 1), 2 ** 32);
    assert.equal(largestPowerOfTwoBelow(2 ** 53 - 1), 2 ** 52);
  });
  it('recognises powers of two beyond 2^32', () => {
    assert.ok(isPowerOfTwo(2 ** 40));
    assert.ok(!isPowerOfTwo(2 ** 40 + 2 ** 39));
    assert.ok(!isPowerOfTwo(0));
  });
});

describe('proofs in trees larger than 2^32 leaves', () => {
  it('verifies the last leaf of a tree of 2^40 + 1 leaves against a one-node proof', () => {
    // D[0:2^40] is one perfect subtree; the new leaf hangs beside it: root = HASH(0x01 || left || leaf).
    const left = h('left');
    const leaf = h('leaf');
    const root = hashChildren(left, leaf);
    verifyInclusion(leaf, 2 ** 40, 2 ** 40 + 1, [left], root);
    assert.throws(() => verifyInclusion(leaf, 2 ** 40 - 1, 2 ** 40 + 1, [left], root), refused);
  });
  it('chains 33 left-edge siblings for leaf 0 of a tree of 2^33 leaves', () => {
    const proof = Array.from({ length: 33 }, (_, i) => h(`sibling ${i}`));
    let r = h('leaf 0');
    for (const p of proof) r = hashChildren(r, p);
    assert.equal(toHex(rootFromInclusionProof(h('leaf 0'), 0, 2 ** 33, proof)), toHex(r));
    assert.throws(() => rootFromInclusionProof(h('leaf 0'), 0, 2 ** 33, proof.slice(1)), refused);
    assert.throws(() => rootFromInclusionProof(h('leaf 0'), 0, 2 ** 33 + 2 ** 32, proof), refused);
  });
  it('verifies consistency from 2^40 to 2^40 + 1 leaves', () => {
    const old = h('old root');
    const leaf = h('new leaf');
    verifyConsistency(2 ** 40, 2 ** 40 + 1, [leaf], old, hashChildren(old, leaf));
    assert.throws(() => verifyConsistency(2 ** 40, 2 ** 40 + 1, [leaf], old, hashChildren(leaf, old)), refused);
    // From 2^40 + 1 the old root is not a node of the new tree, so one node cannot suffice.
    assert.throws(() => verifyConsistency(2 ** 40 + 1, 2 ** 40 + 2, [leaf], old, hashChildren(old, leaf)), refused);
  });
});
