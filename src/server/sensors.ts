/**
 * Tamper sensors reaching the server over HTTP: the enclosure monitor (a small daemon on the
 * machine, reading the case switch, temperature and supply voltage) posts readings, and the
 * vault's TamperMonitor zeroizes on the first reading outside the safe ranges. Once readings
 * have started, a silence longer than the heartbeat is itself treated as tampering: cutting
 * the sensor line must not be a way to switch the alarm off.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { SimulatedSensors, TamperMonitor, type SensorReading } from '../vault/tamper.ts';
import type { TamperResponsive } from '../vault/types.ts';

export class HttpSensorFeed {
  readonly #feed = new SimulatedSensors();
  readonly #monitor: TamperMonitor;
  readonly #vault: TamperResponsive;
  readonly #clock: Clock;
  readonly #heartbeatMs: number;
  #last: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #silenced = false;

  constructor(vault: TamperResponsive, deps: { clock: Clock; logger: Logger; heartbeatMs: number }) {
    this.#vault = vault;
    this.#clock = deps.clock;
    this.#heartbeatMs = deps.heartbeatMs;
    this.#monitor = new TamperMonitor(vault, this.#feed, deps.logger);
    if (this.#heartbeatMs > 0) {
      this.#timer = setInterval(() => void this.checkHeartbeat(), Math.max(50, Math.floor(this.#heartbeatMs / 4)));
      this.#timer.unref();
    }
  }

  /** Feeds one reading to the monitor; resolves once any tamper response it caused has finished. */
  async report(reading: SensorReading): Promise<void> {
    this.#last = this.#clock.now();
    this.#feed.emit(reading);
    await this.#monitor.response;
  }

  /** Zeroizes when readings started and then stopped for longer than the heartbeat. */
  async checkHeartbeat(): Promise<void> {
    if (this.#heartbeatMs === 0 || this.#last === undefined || this.#silenced) return;
    const silent = this.#clock.now() - this.#last;
    if (silent <= this.#heartbeatMs) return;
    this.#silenced = true;
    await this.#vault.tamper({ actor: 'sensor:heartbeat', tenant: null }, 'sensor', `tamper sensors silent for ${silent} ms (heartbeat ${this.#heartbeatMs} ms)`);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#monitor.stop();
  }
}
