/**
 * In-memory RFC 9162 Merkle tree that answers roots and proofs for any size up to the
 * current one, so the server can prove entries against every checkpoint it ever signed.
 *
 * Storage: only perfect subtrees are kept. Level k, entry i is MTH of leaves
 * [i·2^k, (i+1)·2^k); level k holds floor(size / 2^k) entries. That is < 2 hashes per leaf
 * (64 bytes), in fixed-size chunks of one contiguous byte array each, never an object per
 * node: a million leaves take ~64 MiB and a chunk never moves once full.
 *
 * Any hash the RFC 9162 §2.1 recursion asks for is either such a perfect subtree (one lookup)
 * or a suffix [a, n) of the tree of size n (RFC 9162 §2.1.1 always splits at the largest power
 * of two below n, so the non-perfect part is always on the right). The suffixes of one size
 * are computed together and memoised; they never change because the log is append-only.
 * An inclusion or consistency proof is therefore O(log n) lookups.
 *
 * Not thread-safe and not durable: the durable log rebuilds it from stored leaf hashes.
 */
import { CityTrustError } from '../core/errors.ts';
import { HASH_SIZE, bitLength, emptyRoot, hashChildrenInto, isSafeIndex, largestPowerOfTwoBelow } from './merkle.ts';

/** Entries per chunk: 2^15 × 32 bytes = 1 MiB per chunk. */
const CHUNK_BITS = 15;
const CHUNK = 2 ** CHUNK_BITS;
const FIRST_CAPACITY = 64;
/**
 * Indices are split with 32-bit operators; 2^32 leaves would need 256 GiB of hashes,
 * far beyond one process, so the limit is never the binding one in practice.
 */
const MAX_LEAVES = 2 ** 32 - 1;
/** How many tree sizes keep their memoised suffix hashes. */
const SUFFIX_CACHE_SIZES = 16;

function rangeError(message: string): CityTrustError {
  return new CityTrustError('AUDIT_RANGE_INVALID', message);
}

/** One level of perfect-subtree hashes, stored in chunks. */
class Level {
  readonly chunks: Uint8Array[] = [];
  count = 0;

  get(i: number): Uint8Array {
    const chunk = this.chunks[i >>> CHUNK_BITS] as Uint8Array;
    const off = (i & (CHUNK - 1)) * HASH_SIZE;
    return chunk.subarray(off, off + HASH_SIZE);
  }

  /** Reserves the slot for the next entry and returns its chunk and byte offset. */
  slot(): { chunk: Uint8Array; offset: number } {
    const i = this.count;
    const c = i >>> CHUNK_BITS;
    const within = i & (CHUNK - 1);
    let chunk = this.chunks[c];
    if (chunk === undefined) {
      chunk = new Uint8Array((c === 0 ? FIRST_CAPACITY : CHUNK) * HASH_SIZE);
      this.chunks.push(chunk);
    } else if (within * HASH_SIZE >= chunk.length) {
      // Only the first chunk grows (doubling up to CHUNK), so small trees stay small.
      const grown = new Uint8Array(Math.min(chunk.length * 2, CHUNK * HASH_SIZE));
      grown.set(chunk);
      chunk = grown;
      this.chunks[c] = chunk;
    }
    this.count = i + 1;
    return { chunk, offset: within * HASH_SIZE };
  }

  bytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    return n;
  }
}

export class MerkleTree {
  readonly #levels: Level[] = [new Level()];
  readonly #scratch = new Uint8Array(1 + 2 * HASH_SIZE);
  /** size → (start of suffix → MTH(D[start:size])), insertion-ordered for eviction. */
  readonly #suffixes = new Map<number, Map<number, Uint8Array>>();
  #size = 0;

  /** Number of leaves. */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by hash storage (for metrics and capacity planning). */
  get storageBytes(): number {
    let n = 0;
    for (const l of this.#levels) n += l.bytes();
    return n;
  }

  /** Appends one leaf hash (RFC 9162 §2.1.1 HASH(0x00 || data)) and returns its index. */
  append(leafHash: Uint8Array): number {
    checkLeafHash(leafHash, 0);
    if (this.#size >= MAX_LEAVES) throw rangeError('the in-memory tree is full');
    return this.#appendUnchecked(leafHash);
  }

  /**
   * Appends leaf hashes in order and returns the index of the first. All are checked
   * before any is appended, so a bad one leaves the tree unchanged.
   */
  appendMany(leafHashes: readonly Uint8Array[]): number {
    if (!Array.isArray(leafHashes)) throw new CityTrustError('INPUT_INVALID', 'leaf hashes must be an array');
    leafHashes.forEach(checkLeafHash);
    if (this.#size + leafHashes.length > MAX_LEAVES) throw rangeError('the in-memory tree is full');
    const first = this.#size;
    for (const h of leafHashes) this.#appendUnchecked(h);
    return first;
  }

  /** A copy of the leaf hash at `index`. */
  leafHash(index: number): Uint8Array {
    this.#checkIndex(index, this.#size);
    return (this.#levels[0] as Level).get(index).slice();
  }

  /** RFC 9162 §2.1.1 MTH of the first `size` leaves (default: all). */
  root(size: number = this.#size): Uint8Array {
    this.#checkSize(size);
    if (size === 0) return emptyRoot();
    return this.#range(0, size).slice();
  }

  /** RFC 9162 §2.1.3.1 PATH(index, D[0:size]), nodes ordered from the leaf upwards. */
  inclusionProof(index: number, size: number = this.#size): Uint8Array[] {
    this.#checkSize(size);
    this.#checkIndex(index, size);
    const top: Uint8Array[] = [];
    let lo = 0;
    let hi = size;
    // The RFC recursion emits the sibling after the deeper path, so collect top-down and reverse.
    while (hi - lo > 1) {
      const k = largestPowerOfTwoBelow(hi - lo);
      if (index - lo < k) {
        top.push(this.#range(lo + k, hi));
        hi = lo + k;
      } else {
        top.push(this.#range(lo, lo + k));
        lo += k;
      }
    }
    return copyReversed(top);
  }

  /**
   * RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]). Equal sizes give the empty proof; size1 = 0
   * is refused like the verifier refuses it (it would prove nothing).
   */
  consistencyProof(size1: number, size2: number = this.#size): Uint8Array[] {
    this.#checkSize(size2);
    if (!isSafeIndex(size1) || size1 > size2) throw rangeError('the first tree size must not exceed the second');
    if (size1 === 0) throw rangeError('a consistency proof from the empty tree is meaningless');
    const top: Uint8Array[] = [];
    let lo = 0;
    let hi = size2;
    // SUBPROOF(m, D[lo:hi], b); b turns false once the path leaves the left edge.
    let onLeftEdge = true;
    while (size1 !== hi) {
      const k = largestPowerOfTwoBelow(hi - lo);
      if (size1 - lo <= k) {
        top.push(this.#range(lo + k, hi));
        hi = lo + k;
      } else {
        top.push(this.#range(lo, lo + k));
        lo += k;
        onLeftEdge = false;
      }
    }
    // SUBPROOF(m, D[m], false) = {MTH(D[m])}: the old root's node, unless it is the old root.
    if (!onLeftEdge) top.push(this.#range(lo, hi));
    return copyReversed(top);
  }

  #appendUnchecked(leafHash: Uint8Array): number {
    const index = this.#size;
    let level = this.#levels[0] as Level;
    let { chunk, offset } = level.slot();
    chunk.set(leafHash, offset);
    // Each time the new node completes a pair, their parent becomes a new perfect subtree.
    let i = index;
    for (let k = 0; i % 2 === 1; k++) {
      const left = level.get(i - 1);
      const right = chunk.subarray(offset, offset + HASH_SIZE);
      let up = this.#levels[k + 1];
      if (up === undefined) {
        up = new Level();
        this.#levels.push(up);
      }
      ({ chunk, offset } = up.slot());
      hashChildrenInto(left, right, this.#scratch, chunk, offset);
      level = up;
      i = (i - 1) / 2;
    }
    this.#size = index + 1;
    return index;
  }

  /**
   * MTH(D[a:b]) for a range the RFC recursion produces: a perfect aligned subtree, or a
   * suffix of the tree of size b. Returns a view into storage; callers copy before exposing.
   */
  #range(a: number, b: number): Uint8Array {
    const n = b - a;
    const k = bitLength(n) - 1;
    if (2 ** k === n && a % n === 0) return (this.#levels[k] as Level).get(a / n);
    const suffix = this.#suffixesOf(b).get(a);
    if (suffix === undefined) throw new CityTrustError('INTERNAL', 'Merkle range is neither a perfect subtree nor a suffix');
    return suffix;
  }

  /**
   * The hashes of every suffix [a, size) that starts at one of size's peaks (the perfect
   * subtrees of its binary decomposition), right to left: each is HASH(peak || next suffix).
   */
  #suffixesOf(size: number): Map<number, Uint8Array> {
    const hit = this.#suffixes.get(size);
    if (hit !== undefined) return hit;
    const peaks: { start: number; hash: Uint8Array }[] = [];
    let start = 0;
    for (let k = bitLength(size) - 1; k >= 0; k--) {
      const width = 2 ** k;
      if (Math.floor(size / width) % 2 === 1) {
        peaks.push({ start, hash: (this.#levels[k] as Level).get(start / width) });
        start += width;
      }
    }
    const out = new Map<number, Uint8Array>();
    let acc = (peaks[peaks.length - 1] as { hash: Uint8Array }).hash.slice();
    out.set((peaks[peaks.length - 1] as { start: number }).start, acc);
    for (let j = peaks.length - 2; j >= 0; j--) {
      const p = peaks[j] as { start: number; hash: Uint8Array };
      const h = new Uint8Array(HASH_SIZE);
      hashChildrenInto(p.hash, acc, this.#scratch, h, 0);
      out.set(p.start, h);
      acc = h;
    }
    if (this.#suffixes.size >= SUFFIX_CACHE_SIZES) {
      const oldest = this.#suffixes.keys().next().value as number;
      this.#suffixes.delete(oldest);
    }
    this.#suffixes.set(size, out);
    return out;
  }

  #checkSize(size: number): void {
    if (!isSafeIndex(size) || size > this.#size) throw rangeError('tree size must be between 0 and the current size');
  }

  #checkIndex(index: number, size: number): void {
    if (!isSafeIndex(index) || index >= size) throw rangeError('leaf index must be below the tree size');
  }
}

function checkLeafHash(h: unknown, i: number): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw new CityTrustError('INPUT_INVALID', `leaf hash ${i} must be ${HASH_SIZE} bytes`);
  }
}

function copyReversed(nodes: Uint8Array[]): Uint8Array[] {
  const out = new Array<Uint8Array>(nodes.length);
  for (let i = 0; i < nodes.length; i++) out[i] = (nodes[nodes.length - 1 - i] as Uint8Array).slice();
  return out;
}
