/**
 * Time is injected everywhere: domain code asks a Clock, tests fix it.
 * Nothing outside this file reads Date.now() directly.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
};

/** A clock tests move by hand. */
export class FixedClock implements Clock {
  #t: number;
  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.#t = typeof start === 'number' ? start : start.getTime();
  }
  now(): number {
    return this.#t;
  }
  set(t: number | Date): void {
    this.#t = typeof t === 'number' ? t : t.getTime();
  }
  advance(ms: number): void {
    this.#t += ms;
  }
}

export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
