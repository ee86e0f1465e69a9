/**
 * What a transport gives the protocol. Every step of a tap is a request from the reader and an
 * answer from the wallet (M1→M2, M3→M4, M5→empty), which maps one to one onto a C-APDU/R-APDU pair,
 * a BLE write/notify pair or a TCP frame pair. Transports move bytes; they never parse messages.
 */
import { CityTrustError } from '../core/errors.ts';
import { tapError } from './errors.ts';

/** The reader's side of a link: send one message, receive the wallet's answer. */
export interface TapLink {
  exchange(message: Uint8Array): Promise<Uint8Array>;
  close?(): void | Promise<void>;
}

/** The wallet's side: answer one message. */
export interface TapResponder {
  handle(message: Uint8Array): Promise<Uint8Array>;
}

export type AirDirection = 'reader-to-wallet' | 'wallet-to-reader';

/** One frame as it went over the air (an APDU, a BLE packet), for the link model. */
export interface AirFrame {
  readonly direction: AirDirection;
  readonly bytes: number;
}

/** Frames a transport sent during a tap, in order. */
export class AirLog {
  readonly frames: AirFrame[] = [];

  record(direction: AirDirection, bytes: number): void {
    this.frames.push({ direction, bytes });
  }

  get totalBytes(): number {
    return this.frames.reduce((n, f) => n + f.bytes, 0);
  }

  clear(): void {
    this.frames.length = 0;
  }
}

/**
 * Wraps a link so that each exchange must finish within `ms` (TAP_TIMEOUT). Timers here are I/O
 * deadlines, not domain time, so they use the event loop's clock.
 */
export function withDeadline(link: TapLink, ms: number): TapLink {
  if (!Number.isFinite(ms) || ms <= 0) throw new CityTrustError('INPUT_INVALID', 'a tap deadline is a positive number of milliseconds');
  return {
    exchange(message) {
      return new Promise<Uint8Array>((resolve, reject) => {
        const timer = setTimeout(() => reject(tapError('TAP_TIMEOUT', `the wallet did not answer within ${ms} ms`)), ms);
        link.exchange(message).then(
          (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          (e: unknown) => {
            clearTimeout(timer);
            reject(e);
          },
        );
      });
    },
    ...(link.close && { close: () => link.close?.() }),
  };
}
