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

/** A link whose exchanges each must finish within a deadline; `done()` releases its timer. */
export interface DeadlineLink extends TapLink {
  done(): void;
}

/**
 * Wraps a link so that each exchange must finish within `ms` (TAP_TIMEOUT). One timer serves the
 * whole tap, re-armed per exchange (timers are I/O deadlines, not domain time, so they use the
 * event loop's clock). Call done() when the tap is over.
 */
export function withDeadline(link: TapLink, ms: number): DeadlineLink {
  if (!Number.isFinite(ms) || ms <= 0) throw new CityTrustError('INPUT_INVALID', 'a tap deadline is a positive number of milliseconds');
  let pending: ((e: unknown) => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fire = (): void => {
    const reject = pending;
    pending = undefined;
    reject?.(tapError('TAP_TIMEOUT', `the wallet did not answer within ${ms} ms`));
  };
  return {
    exchange(message) {
      if (timer === undefined) {
        timer = setTimeout(fire, ms);
        timer.unref?.();
      } else timer.refresh();
      return new Promise<Uint8Array>((resolve, reject) => {
        pending = reject;
        link.exchange(message).then(
          (v) => {
            pending = undefined;
            resolve(v);
          },
          (e: unknown) => {
            pending = undefined;
            reject(e);
          },
        );
      });
    },
    done() {
      if (timer !== undefined) clearTimeout(timer);
      pending = undefined;
    },
    ...(link.close && { close: () => link.close?.() }),
  };
}
