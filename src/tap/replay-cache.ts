/**
 * Ephemeral keys seen in recent taps. An honest peer draws a fresh key per tap, so a key seen again
 * is a replayed recording (TAP_REPLAYED). This is for diagnosis and early refusal only: a replay
 * the cache has forgotten still fails by construction, at the first sealed message.
 */
import { CityTrustError } from '../core/errors.ts';

export class ReplayCache {
  readonly #capacity: number;
  readonly #seen = new Set<string>();

  constructor(capacity = 4096) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new CityTrustError('INPUT_INVALID', 'the replay cache capacity is a positive integer');
    this.#capacity = capacity;
  }

  /** Records `key`; returns false when it was already there. */
  remember(key: Uint8Array): boolean {
    const id = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64');
    if (this.#seen.has(id)) return false;
    if (this.#seen.size >= this.#capacity) this.#seen.delete(this.#seen.values().next().value as string);
    this.#seen.add(id);
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }
}
