/** Counters the scenarios share, with per-second rates for the live summary. */
export class Stats {
  readonly #counts = new Map<string, number>();
  readonly #marks = new Map<string, { t: number; n: number }>();

  inc(name: string, by = 1): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.#counts.get(name) ?? 0;
  }

  /** Counters whose name starts with `prefix`, e.g. all denial reasons. */
  byPrefix(prefix: string): [string, number][] {
    return [...this.#counts].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]);
  }

  /** Events per second of `name` since the previous call for the same name. */
  rate(name: string, now: number): number {
    const n = this.get(name);
    const prev = this.#marks.get(name);
    this.#marks.set(name, { t: now, n });
    if (!prev || now <= prev.t) return 0;
    return ((n - prev.n) * 1000) / (now - prev.t);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}
