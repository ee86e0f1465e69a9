/**
 * The in-memory MerkleTree against a literal, recursive transcription of RFC 9162
 * §2.1.1 (MTH), §2.1.3.1 (PATH) and §2.1.4.1 (PROOF/SUBPROOF), and against our verifiers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { isCityTrustError } from '../../src/core/errors.ts';
import { toHex } from '../../src/core/bytes.ts';
import { emptyRoot, hashChildren, hashLeaf, verifyConsistency, verifyInclusion } from '../../src/audit/merkle.ts';
import { MerkleTree } from '../../src/audit/tree.ts';

// ---- reference: RFC 9162 §2.1 as written, over leaf data, with its own SHA-256 calls ----

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function k(n: number): number {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
}

function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha256();
  if (d.length === 1) return sha256(Uint8Array.of(0), d[0] as Uint8Array);
  const s = k(d.length);
  return sha256(Uint8Array.of(1), mth(d.slice(0, s)), mth(d.slice(s)));
}

function path(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length === 1) return [];
  const s = k(d.length);
  if (m < s) return [...path(m, d.slice(0, s)), mth(d.slice(s))];
  return [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
}

function subproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const s = k(d.length);
  if (m <= s) return [...subproof(m, d.slice(0, s), b), mth(d.slice(s))];
  return [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))];
}

function proof(m: number, d: Uint8Array[]): Uint8Array[] {
  return subproof(m, d, true);
}

// ---- helpers -----------------------------------------------------------------------------

function leafData(i: number): Uint8Array {
  return new TextEncoder().encode(`leaf ${i}`);
}

function build(n: number): { tree: MerkleTree; data: Uint8Array[] } {
  const data = Array.from({ length: n }, (_, i) => leafData(i));
  const tree = new MerkleTree();
  tree.appendMany(data.map(hashLeaf));
  return { tree, data };
}

const hex = (xs: Uint8Array[]) => xs.map(toHex);
const code = (c: 'AUDIT_RANGE_INVALID' | 'AUDIT_PROOF_INVALID' | 'INPUT_INVALID') => (e: unknown) => isCityTrustError(e, c);

const MAX = 70;
const { tree: big, data: bigData } = build(MAX);

describe('RFC 9162 §2.1.1 hashing', () => {
  it('hashes the empty tree to SHA-256 of nothing', () => {
    assert.equal(toHex(emptyRoot()), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(toHex(new MerkleTree().root()), toHex(emptyRoot()));
  });
  it('prefixes leaves with 0x00 and interior nodes with 0x01', () => {
    const a = hashLeaf(Uint8Array.of(0xaa));
    assert.equal(toHex(a), toHex(sha256(Uint8Array.of(0x00, 0xaa))));
    assert.equal(toHex(hashChildren(a, a)), toHex(sha256(Uint8Array.of(0x01), a, a)));
  });
  it('hashes the empty leaf to the value RFC 6962 test logs publish', () => {
    // transparency-dev/merkle rfc6962_test.go: leaf hash of the empty string.
    assert.equal(toHex(hashLeaf(new Uint8Array(0))), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  });
});

describe('MerkleTree matches the RFC 9162 reference for every size 1..70', () => {
  it('gives the same root for every prefix size, including 0', () => {
    for (let n = 0; n <= MAX; n++) assert.equal(toHex(big.root(n)), toHex(mth(bigData.slice(0, n))), `size ${n}`);
  });

  it('gives the same inclusion proof for every index of every size, and the proof verifies', () => {
    for (let n = 1; n <= MAX; n++) {
      const root = big.root(n);
      for (let m = 0; m < n; m++) {
        const got = big.inclusionProof(m, n);
        assert.deepEqual(hex(got), hex(path(m, bigData.slice(0, n))), `PATH(${m}, D[${n}])`);
        verifyInclusion(big.leafHash(m), m, n, got, root);
      }
    }
  });

  it('gives the same consistency proof for every pair of sizes, and the proof verifies', () => {
    for (let n = 1; n <= MAX; n++) {
      for (let m = 1; m <= n; m++) {
        const got = big.consistencyProof(m, n);
        assert.deepEqual(hex(got), hex(proof(m, bigData.slice(0, n))), `PROOF(${m}, D[${n}])`);
        verifyConsistency(m, n, got, big.root(m), big.root(n));
      }
    }
  });

  it('answers the same for a tree built one append at a time as for one built in bulk', () => {
    const t = new MerkleTree();
    for (let i = 0; i < 33; i++) assert.equal(t.append(hashLeaf(leafData(i))), i);
    assert.equal(t.size, 33);
    assert.equal(toHex(t.root()), toHex(big.root(33)));
    assert.deepEqual(hex(t.inclusionProof(17)), hex(big.inclusionProof(17, 33)));
  });

  it('keeps answering proofs against old sizes after the tree has grown', () => {
    const { tree } = build(5);
    const before = hex(tree.inclusionProof(2, 5));
    const rootBefore = toHex(tree.root(5));
    tree.appendMany([6, 7, 8].map((i) => hashLeaf(leafData(i))));
    assert.deepEqual(hex(tree.inclusionProof(2, 5)), before);
    assert.equal(toHex(tree.root(5)), rootBefore);
  });
});

describe('proofs that do not match are rejected by the verifiers', () => {
  it('rejects an inclusion proof for a neighbouring leaf or a wrong root', () => {
    const p = big.inclusionProof(10, 40);
    assert.throws(() => verifyInclusion(big.leafHash(11), 10, 40, p, big.root(40)), code('AUDIT_PROOF_INVALID'));
    assert.throws(() => verifyInclusion(big.leafHash(10), 10, 40, p, big.root(41)), code('AUDIT_PROOF_INVALID'));
    assert.throws(() => verifyInclusion(big.leafHash(10), 10, 40, p.slice(1), big.root(40)), code('AUDIT_PROOF_INVALID'));
    assert.throws(() => verifyInclusion(big.leafHash(10), 40, 40, p, big.root(40)), code('AUDIT_RANGE_INVALID'));
  });
  it('rejects a consistency proof against the wrong sizes or roots', () => {
    const p = big.consistencyProof(13, 50);
    assert.throws(() => verifyConsistency(13, 50, p, big.root(12), big.root(50)), code('AUDIT_PROOF_INVALID'));
    assert.throws(() => verifyConsistency(13, 50, p, big.root(13), big.root(51)), code('AUDIT_PROOF_INVALID'));
    assert.throws(() => verifyConsistency(13, 51, p, big.root(13), big.root(51)), code('AUDIT_PROOF_INVALID'));
    assert.throws(() => verifyConsistency(50, 13, p, big.root(50), big.root(13)), code('AUDIT_RANGE_INVALID'));
  });
  it('refuses sizes and indices that are not non-negative safe integers', () => {
    const p = big.inclusionProof(0, 2);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, Infinity]) {
      assert.throws(() => verifyInclusion(big.leafHash(0), bad, 2, p, big.root(2)), code('AUDIT_RANGE_INVALID'));
      assert.throws(() => verifyConsistency(1, bad, [], big.root(1), big.root(2)), code('AUDIT_RANGE_INVALID'));
    }
  });
});

describe('MerkleTree refuses bad input without changing state', () => {
  it('refuses a leaf hash that is not 32 bytes', () => {
    const { tree } = build(3);
    const root = toHex(tree.root());
    assert.throws(() => tree.append(new Uint8Array(31)), code('INPUT_INVALID'));
    assert.throws(() => tree.appendMany([hashLeaf(leafData(9)), new Uint8Array(33)]), code('INPUT_INVALID'));
    assert.equal(tree.size, 3);
    assert.equal(toHex(tree.root()), root);
  });
  it('refuses indices and sizes beyond the tree', () => {
    const { tree } = build(4);
    assert.throws(() => tree.leafHash(4), code('AUDIT_RANGE_INVALID'));
    assert.throws(() => tree.root(5), code('AUDIT_RANGE_INVALID'));
    assert.throws(() => tree.inclusionProof(3, 3), code('AUDIT_RANGE_INVALID'));
    assert.throws(() => tree.inclusionProof(0, 5), code('AUDIT_RANGE_INVALID'));
    assert.throws(() => tree.inclusionProof(-1), code('AUDIT_RANGE_INVALID'));
    assert.throws(() => tree.consistencyProof(0, 4), code('AUDIT_RANGE_INVALID'));
    assert.throws(() => tree.consistencyProof(3, 2), code('AUDIT_RANGE_INVALID'));
    assert.throws(() => tree.consistencyProof(1, 5), code('AUDIT_RANGE_INVALID'));
  });
  it('returns copies, so a caller cannot corrupt the stored hashes', () => {
    const { tree } = build(4);
    const root = toHex(tree.root());
    tree.leafHash(0).fill(0);
    tree.inclusionProof(0)[0]?.fill(0);
    tree.root().fill(0);
    assert.equal(toHex(tree.root()), root);
    assert.equal(toHex(tree.leafHash(0)), toHex(hashLeaf(leafData(0))));
  });
  it('gives an empty consistency proof between equal sizes', () => {
    assert.deepEqual(big.consistencyProof(7, 7), []);
  });
});

describe('MerkleTree on random sizes (property)', () => {
  it('answers inclusion and consistency proofs that verify for random sizes across chunk boundaries', () => {
    // One shared tree past the first 1 MiB chunk (2^15 leaves), so chunked storage is exercised.
    const n = 2 ** 15 + 300;
    const tree = new MerkleTree();
    tree.appendMany(Array.from({ length: n }, (_, i) => hashLeaf(leafData(i))));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: n }).chain((size2) =>
          fc.tuple(fc.constant(size2), fc.integer({ min: 1, max: size2 }), fc.integer({ min: 0, max: size2 - 1 })),
        ),
        ([size2, size1, index]) => {
          const root2 = tree.root(size2);
          verifyInclusion(tree.leafHash(index), index, size2, tree.inclusionProof(index, size2), root2);
          verifyConsistency(size1, size2, tree.consistencyProof(size1, size2), tree.root(size1), root2);
        },
      ),
      { numRuns: 300 },
    );
  });
  it('matches the reference root for random small trees', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 8 }), { minLength: 0, maxLength: 40 }), (data) => {
        const t = new MerkleTree();
        t.appendMany(data.map(hashLeaf));
        assert.equal(toHex(t.root()), toHex(mth(data)));
      }),
      { numRuns: 200 },
    );
  });
});
