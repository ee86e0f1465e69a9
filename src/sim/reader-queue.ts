/**
 * The simulator's reader event queue: the reader SDK's EventSink and the UploadQueue that
 * ReaderOnline.upload() drains, kept in memory (a real reader uses the persisted EventQueue;
 * hundreds of simulated readers writing files at 500 taps/s would measure the disk, not the city).
 * Events stay queued until the server acknowledges them over HTTP.
 */
import { randomBytes } from 'node:crypto';
import { ReaderState, type EventSink, type ReaderEvent, type UploadQueue } from '../reader/index.ts';

export class SimReaderQueue implements EventSink, UploadQueue {
  readonly state = new ReaderState();
  readonly instance = randomBytes(8).toString('hex');
  #pending: ReaderEvent[] = [];
  #seq = 0;
  /** Events dropped because the queue was full (a reader offline for too long). */
  dropped = 0;
  readonly #max: number;

  constructor(max = 100_000) {
    this.#max = max;
  }

  append(e: Omit<ReaderEvent, 'seq'>): ReaderEvent {
    const event = Object.freeze({ ...e, seq: ++this.#seq }) as ReaderEvent;
    this.state.apply(event);
    this.#pending.push(event);
    if (this.#pending.length > this.#max) {
      this.#pending.shift();
      this.dropped++;
    }
    return event;
  }

  pending(limit = 1000): ReaderEvent[] {
    return this.#pending.slice(0, limit);
  }

  acknowledge(lastSeq: number): number {
    const before = this.#pending.length;
    this.#pending = this.#pending.filter((e) => e.seq > lastSeq);
    return before - this.#pending.length;
  }

  get size(): number {
    return this.#pending.length;
  }
}
