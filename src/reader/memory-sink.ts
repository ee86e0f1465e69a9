/** An in-memory event sink: tests, the simulator and benchmarks (nothing survives the process). */
import type { ReaderEvent } from './events.ts';
import type { EventSink } from './reader.ts';
import { ReaderState } from './state.ts';

export class MemoryEventSink implements EventSink {
  readonly state = new ReaderState();
  readonly events: ReaderEvent[] = [];
  /** Keep at most this many events (the state keeps counting). */
  readonly #keep: number;
  #seq = 0;

  constructor(keep = 10_000) {
    this.#keep = keep;
  }

  append(e: Omit<ReaderEvent, 'seq'>): ReaderEvent {
    const event = Object.freeze({ ...e, seq: ++this.#seq }) as ReaderEvent;
    this.state.apply(event);
    this.events.push(event);
    if (this.events.length > this.#keep) this.events.shift();
    return event;
  }
}
