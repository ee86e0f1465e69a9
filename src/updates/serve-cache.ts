/**
 * A small cache for served metadata. Versioned files (`<N>.<role>.json`) never change, so they
 * stay until evicted; the newest-version names (`timestamp.json`, `<role>.json`) are kept for
 * `updates.metadataCacheMs`, which bounds how long another instance's new timestamp takes to
 * be served here. Devices poll timestamp.json, so this is the hot path of update checks.
 */
import type { Clock } from '../core/clock.ts';

const MAX_ENTRIES = 2048;

export class MetadataCache {
  readonly #clock: Clock;
  readonly #ttl: number;
  readonly #map = new Map<string, { body: Uint8Array; at: number; immutable: boolean }>();

  constructor(clock: Clock, ttlMs: number) {
    this.#clock = clock;
    this.#ttl = ttlMs;
  }

  async get(repo: string, file: string, load: () => Promise<{ body: Uint8Array; immutable: boolean }>): Promise<Uint8Array> {
    const key = `${repo}/${file}`;
    const hit = this.#map.get(key);
    const now = this.#clock.now();
    if (hit && (hit.immutable || now - hit.at < this.#ttl)) return hit.body;
    const v = await load();
    if (this.#map.size >= MAX_ENTRIES) this.#map.delete(this.#map.keys().next().value!);
    this.#map.set(key, { body: v.body, at: now, immutable: v.immutable });
    return v.body;
  }

  /** After a local change: the newest-version names of this repository must be read again. */
  invalidate(repo: string): void {
    for (const [k, v] of this.#map) if (!v.immutable && k.startsWith(`${repo}/`)) this.#map.delete(k);
  }
}
