/**
 * Tamper sensors. A monitor watches readings from a sensor feed (enclosure switch, temperature,
 * supply voltage) against configured safe ranges and zeroizes the vault on the first reading
 * outside them — HSMs do the same on enclosure opening or on the temperature and voltage
 * excursions used in fault and cold-boot attacks (FIPS 140-3, EFP/EFT).
 */
import type { Logger } from '../core/log.ts';
import type { TamperResponsive } from './types.ts';

export type SensorReading =
  | { readonly sensor: 'enclosure'; readonly closed: boolean }
  | { readonly sensor: 'temperature'; readonly celsius: number }
  | { readonly sensor: 'voltage'; readonly volts: number };

export interface SensorFeed {
  /** Calls the listener for every reading; returns a function that stops the feed. */
  subscribe(listener: (reading: SensorReading) => void): () => void;
}

export interface SafeRanges {
  readonly temperature: { readonly min: number; readonly max: number };
  readonly voltage: { readonly min: number; readonly max: number };
}

/** Defaults for a server-room enclosure on a 3.3 V sensor rail; configure for the real hardware. */
export const DEFAULT_SAFE_RANGES: SafeRanges = {
  temperature: { min: -10, max: 60 },
  voltage: { min: 3.0, max: 3.6 },
};

/** Why a reading is unsafe, or undefined when it is within range. NaN and non-numbers are unsafe. */
export function unsafeReason(r: SensorReading, ranges: SafeRanges): string | undefined {
  switch (r.sensor) {
    case 'enclosure':
      return r.closed === true ? undefined : 'enclosure opened';
    case 'temperature': {
      const { min, max } = ranges.temperature;
      return typeof r.celsius === 'number' && r.celsius >= min && r.celsius <= max ? undefined : `temperature ${r.celsius} °C outside ${min}..${max}`;
    }
    case 'voltage': {
      const { min, max } = ranges.voltage;
      return typeof r.volts === 'number' && r.volts >= min && r.volts <= max ? undefined : `supply ${r.volts} V outside ${min}..${max}`;
    }
    default:
      return 'unknown sensor reading';
  }
}

/** Connects a feed to a vault. `stop()` detaches it. */
export class TamperMonitor {
  readonly #stop: () => void;
  #fired = false;
  /** Resolves when the triggered zeroization has finished (undefined until one fires). */
  response: Promise<void> | undefined;

  constructor(vault: TamperResponsive, feed: SensorFeed, log: Logger, ranges: SafeRanges = DEFAULT_SAFE_RANGES) {
    this.#stop = feed.subscribe((reading) => {
      if (this.#fired) return;
      const reason = unsafeReason(reading, ranges);
      if (reason === undefined) return;
      this.#fired = true;
      // Synchronous up to the in-memory wipe: zeroization does not wait for the event loop.
      this.response = vault.tamper({ actor: `sensor:${reading.sensor}`, tenant: null }, 'sensor', reason).catch((e: unknown) => {
        log.error({ err: e }, 'vault: tamper response could not finish removing files or auditing');
      });
    });
  }

  stop(): void {
    this.#stop();
  }
}

/** A sensor feed the demo and tests drive by hand. */
export class SimulatedSensors implements SensorFeed {
  readonly #listeners = new Set<(r: SensorReading) => void>();

  subscribe(listener: (reading: SensorReading) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(reading: SensorReading): void {
    for (const l of [...this.#listeners]) l(reading);
  }
}
