/** The demo city: a world that scenarios set up and then animate until the run ends. */
import type { AppContext } from '../server/context.ts';
import type { Stats } from './stats.ts';

export interface SimOptions {
  residents: number;
  meters: number;
  /** Target taps per second across all readers. */
  rate: number;
  /** Seconds; undefined = until Ctrl-C. */
  duration: number | undefined;
}

export interface World {
  readonly ctx: AppContext;
  readonly options: SimOptions;
  readonly stats: Stats;
  /** The server's base URL, for scenarios that act as remote devices. */
  readonly baseUrl: string;
  /** A city-admin token the scenarios act with. */
  readonly adminToken: string;
  /** One line of narration for the terminal. */
  say(line: string): void;
  /** Aborted when the run ends; long-running scenario loops watch it. */
  readonly signal: AbortSignal;
}

export interface Scenario {
  readonly name: string;
  /** Creates what the scenario needs (idempotent across runs on the same data directory). */
  setup?(w: World): Promise<void>;
  /** Starts the scenario's activity; returns when it is running (not when it ends). */
  start?(w: World): Promise<void>;
  /** Lines for the live summary and the final report. */
  summary?(w: World): string[];
  stop?(w: World): Promise<void>;
}
