/**
 * The taken entries of one status list, held in memory by the instance that allocates from it.
 *
 * Herd privacy (Token Status List §12.4) asks for indices drawn uniformly at random, so a list
 * fills in no order that tells a reader when a credential was issued. Drawing is rejection
 * sampling over a bitmap: no query per credential, and a list stops taking credentials at its
 * fill limit (default half), where a draw needs two tries on average. The unique index
 * (status_list_id, status_idx) stays the arbiter: another instance may take a slot this one
 * believes free, and the issuer then marks it and draws again.
 */
import { randomInt } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';

/** Draws before falling back to a scan; at a fill of ½ all of them miss with probability 2⁻²⁵⁶. */
const MAX_DRAWS = 256;

export class StatusSlots {
  readonly size: number;
  readonly #bits: Uint8Array;
  #taken = 0;

  constructor(size: number, taken: Iterable<number> = []) {
    if (!Number.isSafeInteger(size) || size <= 0) throw new CityTrustError('INPUT_INVALID', 'a status list size is a positive integer');
    this.size = size;
    this.#bits = new Uint8Array(Math.ceil(size / 8));
    for (const i of taken) this.mark(i);
  }

  get taken(): number {
    return this.#taken;
  }

  has(i: number): boolean {
    return ((this.#bits[i >> 3] as number) & (1 << (i & 7))) !== 0;
  }

  /** Marks `i` taken (a row exists or another instance holds it); false when it already was. */
  mark(i: number): boolean {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.size) throw new CityTrustError('STATUS_LIST_INDEX_OUT_OF_RANGE', 'the index lies outside the status list');
    if (this.has(i)) return false;
    this.#bits[i >> 3] = (this.#bits[i >> 3] as number) | (1 << (i & 7));
    this.#taken++;
    return true;
  }

  /** Frees a slot whose credential was never stored. */
  release(i: number): void {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.size || !this.has(i)) return;
    this.#bits[i >> 3] = (this.#bits[i >> 3] as number) & ~(1 << (i & 7));
    this.#taken--;
  }

  /** A uniformly random free slot (node:crypto), now taken. */
  take(): number {
    if (this.#taken >= this.size) throw new CityTrustError('UNAVAILABLE', 'the status list is full');
    for (let n = 0; n < MAX_DRAWS; n++) {
      const i = randomInt(0, this.size);
      if (this.mark(i)) return i;
    }
    // Reached only on a nearly full list: the first free slot after a random start.
    const start = randomInt(0, this.size);
    for (let k = 0; k < this.size; k++) {
      const i = (start + k) % this.size;
      if (this.mark(i)) return i;
    }
    throw new CityTrustError('UNAVAILABLE', 'the status list is full');
  }
}
