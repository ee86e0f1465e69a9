/** In-memory transport: the reader calls the wallet's responder directly (tests, simulator, benchmark). */
import type { AirLog, TapLink, TapResponder } from '../link.ts';

export interface MemoryLinkOptions {
  /** Records each message as one frame (no link-layer framing). */
  readonly log?: AirLog;
  /** Sees (and may replace) every message in flight: the attacker in the middle, in tests. */
  readonly intercept?: (message: Uint8Array, direction: 'reader-to-wallet' | 'wallet-to-reader') => Uint8Array | Promise<Uint8Array>;
}

export function memoryLink(responder: TapResponder, opts: MemoryLinkOptions = {}): TapLink {
  return {
    async exchange(message) {
      // Copies: neither side may keep a reference into the other's buffers.
      let out = new Uint8Array(message);
      if (opts.intercept) out = new Uint8Array(await opts.intercept(out, 'reader-to-wallet'));
      opts.log?.record('reader-to-wallet', out.length);
      let back = new Uint8Array(await responder.handle(out));
      if (opts.intercept) back = new Uint8Array(await opts.intercept(back, 'wallet-to-reader'));
      opts.log?.record('wallet-to-reader', back.length);
      return back;
    },
  };
}
