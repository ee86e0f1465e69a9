/**
 * RFC 9162 §2.1 Merkle tree hashing and the verification of proofs received from outside.
 *
 * Everything here is pure and device-safe (node:crypto only). Verification functions throw a
 * CityTrustError and return nothing on success, so that a forgotten return value can never
 * turn a failed proof into an accepted one:
 *   AUDIT_RANGE_INVALID  the index or sizes are impossible (index ≥ size, size1 > size2, ...)
 *   AUDIT_PROOF_INVALID  the proof is malformed or does not lead to the given root
 *
 * Indices and sizes are JavaScript numbers and must be safe integers (< 2^53). The bit
 * arithmetic below avoids the 32-bit bitwise operators so that it stays exact up to there.
 */
import { hash } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { bytesEqual } from '../core/bytes.ts';

/** Every hash in the tree is SHA-256 (RFC 9162 §2.1: the log's hash algorithm). */
export const HASH_SIZE = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HASH_SIZE);
  out.set(hash('sha256', data, 'buffer'));
  return out;
}

/** RFC 9162 §2.1.1: MTH({}) = HASH(), the root of the empty tree. */
export function emptyRoot(): Uint8Array {
  return sha256(new Uint8Array(0));
}

/** RFC 9162 §2.1.1: MTH({d(0)}) = HASH(0x00 || d(0)). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + data.length);
  buf[0] = LEAF_PREFIX;
  buf.set(data, 1);
  return sha256(buf);
}

/** RFC 9162 §2.1.1: an interior node is HASH(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) throw new CityTrustError('INPUT_INVALID', `child hashes must be ${HASH_SIZE} bytes`);
  const buf = new Uint8Array(1 + 2 * HASH_SIZE);
  hashChildrenInto(left, right, buf, buf, 0);
  return buf.slice(0, HASH_SIZE);
}

/**
 * The allocation-free form used by the in-memory tree: `scratch` is a caller-owned
 * 65-byte buffer, the result is written to `out` at `offset`. Both inputs must be 32 bytes.
 * @internal
 */
export function hashChildrenInto(left: Uint8Array, right: Uint8Array, scratch: Uint8Array, out: Uint8Array, offset: number): void {
  scratch[0] = NODE_PREFIX;
  scratch.set(left, 1);
  scratch.set(right, 1 + HASH_SIZE);
  out.set(hash('sha256', scratch, 'buffer'), offset);
}

// ---- exact integer helpers for 0 ≤ x < 2^53 -------------------------------------------

const TWO_32 = 2 ** 32;

/** @internal */
export function isSafeIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Number of bits needed to write x (0 for 0). @internal */
export function bitLength(x: number): number {
  if (x < TWO_32) return 32 - Math.clz32(x);
  return 64 - Math.clz32(Math.floor(x / TWO_32));
}

/** True when x is a power of two (1, 2, 4, ...). @internal */
export function isPowerOfTwo(x: number): boolean {
  return x > 0 && 2 ** (bitLength(x) - 1) === x;
}

/** RFC 9162 §2.1.1: k, the largest power of two smaller than n (n ≥ 2). @internal */
export function largestPowerOfTwoBelow(n: number): number {
  return 2 ** (bitLength(n - 1) - 1);
}

function isOdd(x: number): boolean {
  return x % 2 === 1;
}

function half(x: number): number {
  return Math.floor(x / 2);
}

// ---- verification -----------------------------------------------------------------------

function rangeError(message: string): CityTrustError {
  return new CityTrustError('AUDIT_RANGE_INVALID', message);
}

function proofError(message: string): CityTrustError {
  return new CityTrustError('AUDIT_PROOF_INVALID', message);
}

function checkHash(h: unknown, what: string): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw proofError(`${what} must be a ${HASH_SIZE}-byte hash`);
  }
}

function checkProofArray(proof: unknown): asserts proof is readonly Uint8Array[] {
  if (!Array.isArray(proof)) throw proofError('proof must be an array of hashes');
  // RFC 9162 proofs hold about one node per tree level: under 64 for any safe-integer size.
  if (proof.length > 64) throw proofError('proof is longer than any tree of safe-integer size needs');
  for (const p of proof) checkHash(p, 'every proof node');
}

/**
 * RFC 9162 §2.1.3.2 steps 1–5 without the final root comparison: the root that `proof`
 * leads to for `leafHash` at `index` in a tree of `treeSize` leaves.
 */
export function rootFromInclusionProof(leafHash: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[]): Uint8Array {
  if (!isSafeIndex(index) || !isSafeIndex(treeSize)) throw rangeError('index and tree size must be non-negative safe integers');
  // Step 1: leaf_index must be below tree_size (this also refuses the empty tree).
  if (index >= treeSize) throw rangeError('leaf index is not below the tree size');
  checkHash(leafHash, 'leaf hash');
  checkProofArray(proof);

  // Steps 2–3.
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHash;
  // Step 4.
  for (const p of proof) {
    // 4a: a node beyond the root means the proof is too long.
    if (sn === 0) throw proofError('inclusion proof has more nodes than the tree size allows');
    if (isOdd(fn) || fn === sn) {
      // 4b: p is a left sibling.
      r = hashChildren(p, r);
      // 4b-ii: on the right border a node without a right sibling moves up unchanged.
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = hashChildren(r, p);
    }
    // 4c.
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5 (first half): a path that stops below the root is too short.
  if (sn !== 0) throw proofError('inclusion proof has fewer nodes than the tree size needs');
  return r;
}

/** RFC 9162 §2.1.3.2: throws unless `proof` shows `leafHash` at `index` in the tree with `root`. */
export function verifyInclusion(leafHash: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array): void {
  const computed = rootFromInclusionProof(leafHash, index, treeSize, proof);
  // Step 5: compare with the expected root. Roots are public, so no constant-time compare.
  if (!(root instanceof Uint8Array) || !bytesEqual(computed, root)) {
    throw proofError('inclusion proof does not lead to the expected root');
  }
}

/**
 * RFC 9162 §2.1.4.2: throws unless `proof` shows that the tree of `size1` leaves with `root1`
 * is a prefix of the tree of `size2` leaves with `root2`.
 *
 * The RFC defines the algorithm for 0 < size1 < size2. At the edges we follow the common
 * practice (transparency-dev/merkle): size1 = size2 needs an empty proof and equal roots;
 * size1 = 0 is refused, since every tree extends the empty one and a "proof" of that
 * proves nothing a client could rely on.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  if (!isSafeIndex(size1) || !isSafeIndex(size2)) throw rangeError('tree sizes must be non-negative safe integers');
  if (size1 > size2) throw rangeError('the first tree size is larger than the second');
  if (size1 === 0) throw rangeError('a consistency proof from the empty tree is meaningless');
  checkProofArray(proof);
  if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) throw proofError('roots must be byte arrays');
  if (size1 === size2) {
    // Nothing is hashed here, so the roots are compared as given, whatever their length.
    if (proof.length !== 0) throw proofError('equal tree sizes need an empty consistency proof');
    if (!bytesEqual(root1, root2)) throw proofError('equal tree sizes but different roots');
    return;
  }
  checkHash(root1, 'first root');
  checkHash(root2, 'second root');

  // Step 1.
  if (proof.length === 0) throw proofError('consistency proof is empty');
  // Step 2: when size1 is a power of two its root is a node of the larger tree and the
  // RFC omits it from the proof (§2.1.4.1), so the verifier puts it back.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  // Step 3.
  let fn = size1 - 1;
  let sn = size2 - 1;
  // Step 4.
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5.
  let fr = path[0] as Uint8Array;
  let sr = fr;
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) throw proofError('consistency proof has more nodes than the tree sizes allow');
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      // 6b-iii.
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  if (sn !== 0) throw proofError('consistency proof has fewer nodes than the tree sizes need');
  if (!bytesEqual(fr, root1)) throw proofError('consistency proof does not lead to the first root');
  if (!bytesEqual(sr, root2)) throw proofError('consistency proof does not lead to the second root');
}
