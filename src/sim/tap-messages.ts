/** What the demo's main thread and its tap workers (./tap-worker.ts) tell each other. */
import type { KeyObject } from 'node:crypto';
import type { CardKind } from './scenarios/residents.ts';

/** A reader as the worker builds it: its certified key travels to the worker once, at start-up. */
export interface ReaderSpec {
  readonly tenant: string;
  readonly id: string;
  readonly config: Record<string, unknown>;
  readonly chain: readonly Uint8Array[];
  readonly privateKey: KeyObject;
  /** Listens to the status push (the tunnel validator does not: its link is down). */
  readonly push: boolean;
}

/** A phone: the wallet's sealed records and their storage key, reopened in the worker. */
export interface CardSpec {
  readonly kind: CardKind;
  readonly tenant: string;
  readonly holder: string;
  readonly validUntil: number;
  readonly records: ReadonlyMap<string, Uint8Array>;
  readonly storageKey: Uint8Array;
}

export type ToWorker =
  | { readonly type: 'init'; readonly readers: readonly ReaderSpec[]; readonly anchors: readonly Uint8Array[]; readonly root: KeyObject }
  | { readonly type: 'start'; readonly cards: readonly CardSpec[]; readonly rate: number; readonly incidents: boolean }
  | { readonly type: 'tap'; readonly id: number; readonly card: number; readonly reader: string }
  | { readonly type: 'stop' };

export type FromWorker =
  | { readonly type: 'ready' }
  | {
      readonly type: 'stats';
      readonly counts: Readonly<Record<string, number>>;
      /** This worker's taps so far, and for how long its tap schedule has run (until it stopped). */
      readonly taps: number;
      readonly ranMs: number;
      readonly queued: number; readonly pushes: Readonly<Record<string, number>>;
    }
  | { readonly type: 'say'; readonly line: string }
  | { readonly type: 'tapped'; readonly id: number; readonly reason: string }
  | { readonly type: 'stopped' }
  | { readonly type: 'failed'; readonly message: string };
