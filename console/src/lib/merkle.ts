/**
 * RFC 9162 §2.1 proof verification with WebCrypto's SHA-256, written apart from the server's
 * src/audit/merkle.ts on purpose: the console checks the server's proofs with code the
 * server does not run, in the person's own browser. It runs unchanged under node (test/console).
 *
 * Verification functions resolve to nothing on success and reject with a VerifyError, so a
 * forgotten return value can never turn a failed proof into an accepted one.
 * Indices and sizes are numbers below 2^53; the arithmetic avoids 32-bit bitwise operators.
 */
import { buf, bytesEqual, concatBytes } from './bytes.ts';
import { VerifyError } from './verify-error.ts';

export const HASH_SIZE = 32;
/** Under 64 nodes for any tree of safe-integer size; a longer "proof" is refused unread. */
const MAX_PROOF = 64;

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', buf(data)));
}

/** RFC 9162 §2.1.1: a leaf hash is HASH(0x00 || leaf bytes). */
export function hashLeaf(data: Uint8Array): Promise<Uint8Array> {
  return sha256(concatBytes(Uint8Array.of(0x00), data));
}

/** RFC 9162 §2.1.1: an interior node is HASH(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(concatBytes(Uint8Array.of(0x01), left, right));
}

const isSafeIndex = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isOdd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

function isPowerOfTwo(x: number): boolean {
  let v = x;
  while (v > 1 && !isOdd(v)) v = half(v);
  return v === 1;
}

function proofError(message: string): VerifyError {
  return new VerifyError('AUDIT_PROOF_INVALID', message);
}

function rangeError(message: string): VerifyError {
  return new VerifyError('AUDIT_RANGE_INVALID', message);
}

function checkHash(h: unknown, what: string): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw proofError(`${what} must be a ${HASH_SIZE}-byte hash`);
}

function checkProof(proof: unknown): asserts proof is readonly Uint8Array[] {
  if (!Array.isArray(proof)) throw proofError('proof must be an array of hashes');
  if (proof.length > MAX_PROOF) throw proofError('proof is longer than any tree of safe-integer size needs');
  for (const p of proof) checkHash(p, 'every proof node');
}

/** RFC 9162 §2.1.3.2 steps 1–4 and the size half of step 5: the root the proof leads to. */
export async function rootFromInclusionProof(leafHash: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[]): Promise<Uint8Array> {
  if (!isSafeIndex(index) || !isSafeIndex(treeSize)) throw rangeError('index and tree size must be non-negative safe integers');
  // Step 1.
  if (index >= treeSize) throw rangeError('leaf index is not below the tree size');
  checkHash(leafHash, 'leaf hash');
  checkProof(proof);
  // Steps 2–3.
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHash;
  // Step 4.
  for (const p of proof) {
    if (sn === 0) throw proofError('inclusion proof has more nodes than the tree size allows');
    if (isOdd(fn) || fn === sn) {
      r = await hashChildren(p, r);
      // A node on the right border without a right sibling moves up unchanged.
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = await hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5: a path that stops below the root is too short.
  if (sn !== 0) throw proofError('inclusion proof has fewer nodes than the tree size needs');
  return r;
}

/** RFC 9162 §2.1.3.2: rejects unless `proof` shows `leafHash` at `index` in the tree of `treeSize` with `root`. */
export async function verifyInclusion(leafHash: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array): Promise<void> {
  const computed = await rootFromInclusionProof(leafHash, index, treeSize, proof);
  if (!(root instanceof Uint8Array) || !bytesEqual(computed, root)) throw proofError('inclusion proof does not lead to the expected root');
}

/**
 * RFC 9162 §2.1.4.2: rejects unless the tree of `size1` leaves with `root1` is a prefix of the
 * tree of `size2` leaves with `root2`. Equal sizes need an empty proof and equal roots;
 * size1 = 0 is refused (every tree extends the empty one, so such a proof proves nothing).
 */
export async function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): Promise<void> {
  if (!isSafeIndex(size1) || !isSafeIndex(size2)) throw rangeError('tree sizes must be non-negative safe integers');
  if (size1 > size2) throw rangeError('the first tree size is larger than the second');
  if (size1 === 0) throw rangeError('a consistency proof from the empty tree is meaningless');
  checkProof(proof);
  if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) throw proofError('roots must be byte arrays');
  if (size1 === size2) {
    if (proof.length !== 0) throw proofError('equal tree sizes need an empty consistency proof');
    if (!bytesEqual(root1, root2)) throw proofError('equal tree sizes but different roots');
    return;
  }
  checkHash(root1, 'first root');
  checkHash(root2, 'second root');
  // Step 1.
  if (proof.length === 0) throw proofError('consistency proof is empty');
  // Step 2: a power-of-two first tree is a node of the second, left out of the proof (§2.1.4.1).
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
  let fr = path[0]!;
  let sr = fr;
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) throw proofError('consistency proof has more nodes than the tree sizes allow');
    if (isOdd(fn) || fn === sn) {
      fr = await hashChildren(c, fr);
      sr = await hashChildren(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = await hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  if (sn !== 0) throw proofError('consistency proof has fewer nodes than the tree sizes need');
  if (!bytesEqual(fr, root1)) throw proofError('consistency proof does not lead to the first root');
  if (!bytesEqual(sr, root2)) throw proofError('consistency proof does not lead to the second root');
}
