/**
 * A pool of PKCS#11 sessions: one session per concurrent operation, because a session runs
 * one cryptographic operation at a time (PKCS#11 v2.40 §5.6: C_SignInit … C_Sign on one
 * session must not interleave with another operation on it). Callers wait in FIFO order.
 */
import type { PKCS11, Handle } from 'pkcs11js';

export class SessionPool {
  readonly #free: Handle[] = [];
  readonly #all: Handle[] = [];
  readonly #waiting: ((s: Handle) => void)[] = [];
  readonly #lib: PKCS11;
  #closed = false;

  constructor(lib: PKCS11, slot: Handle, size: number, flags: number) {
    this.#lib = lib;
    for (let i = 0; i < size; i++) {
      const s = lib.C_OpenSession(slot, flags);
      this.#all.push(s);
      this.#free.push(s);
    }
  }

  get any(): Handle {
    return this.#all[0]!;
  }

  async use<T>(fn: (session: Handle) => Promise<T> | T): Promise<T> {
    if (this.#closed) throw new Error('session pool closed');
    const s = this.#free.pop() ?? (await new Promise<Handle>((resolve) => this.#waiting.push(resolve)));
    try {
      return await fn(s);
    } finally {
      const next = this.#waiting.shift();
      if (next) next(s);
      else this.#free.push(s);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#all) {
      try {
        this.#lib.C_CloseSession(s);
      } catch {
        // Already closed by C_CloseAllSessions or a token removal.
      }
    }
  }
}
