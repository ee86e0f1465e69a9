/**
 * What the reader remembers between taps: uses counted per credential and the last grant per site
 * and credential (anti-passback). It is a fold of the event journal: a snapshot plus the events
 * after it give the same state, so a crash between a grant and the next snapshot loses nothing.
 */
import { CityTrustError } from '../core/errors.ts';
import { decodeCbor, encodeCbor } from '../crypto/index.ts';
import type { ReaderEvent } from './events.ts';

export class ReaderState {
  /** Highest event seq folded in. */
  lastSeq = 0;
  readonly #uses = new Map<string, { n: number; exp: number }>();
  readonly #lastGrant = new Map<string, number>();

  apply(e: ReaderEvent): void {
    if (e.seq <= this.lastSeq) return;
    this.lastSeq = e.seq;
    if (!e.allow || e.credentialId === undefined) return;
    this.#lastGrant.set(`${e.site}\u0000${e.credentialId}`, e.at);
    if (e.usesCounted === true) {
      const u = this.#uses.get(e.credentialId);
      this.#uses.set(e.credentialId, { n: (u?.n ?? 0) + 1, exp: e.credentialExp ?? u?.exp ?? 0 });
    }
  }

  usesOf(credentialId: string): number {
    return this.#uses.get(credentialId)?.n ?? 0;
  }

  lastGrantAt(site: string, credentialId: string): number | undefined {
    return this.#lastGrant.get(`${site}\u0000${credentialId}`);
  }

  /** Forgets counts of expired credentials and grants older than the anti-passback window. `now` in ms. */
  prune(now: number, antiPassbackMs: number, skewSeconds: number): void {
    for (const [id, u] of this.#uses) if (u.exp > 0 && u.exp + skewSeconds < Math.floor(now / 1000)) this.#uses.delete(id);
    for (const [k, at] of this.#lastGrant) if (at + antiPassbackMs < now) this.#lastGrant.delete(k);
  }

  snapshot(): Uint8Array {
    return encodeCbor(
      new Map<number, unknown>([
        [1, this.lastSeq],
        [2, [...this.#uses].map(([id, u]) => [id, u.n, u.exp])],
        [3, [...this.#lastGrant].map(([k, at]) => [k, at])],
      ]),
    );
  }

  static fromSnapshot(bytes: Uint8Array): ReaderState {
    const s = new ReaderState();
    try {
      const m = decodeCbor(bytes, { maxBytes: 64 << 20, maxDepth: 4, maxItems: 4_000_000, allowedTags: [] });
      if (!(m instanceof Map) || typeof m.get(1) !== 'number' || !Array.isArray(m.get(2)) || !Array.isArray(m.get(3))) throw new Error('shape');
      s.lastSeq = m.get(1) as number;
      for (const [id, n, exp] of m.get(2) as [string, number, number][]) s.#uses.set(id, { n, exp });
      for (const [k, at] of m.get(3) as [string, number][]) s.#lastGrant.set(k, at);
    } catch (e) {
      throw new CityTrustError('READER_QUEUE_CORRUPT', 'the reader state snapshot cannot be read', { cause: e });
    }
    return s;
  }
}
