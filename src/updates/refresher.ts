/**
 * The server's refresh timer: re-signs online metadata before it expires (docs/updates.md,
 * "Expiry and refresh"). Devices refuse expired metadata (freeze protection), so a repository
 * that stops refreshing stops updating its devices: failures are logged as errors.
 */
import type { Logger } from 'pino';
import type { Updates } from './repository.ts';

export class UpdateRefresher {
  readonly #updates: Updates;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(updates: Updates, logger: Logger, intervalMs: number) {
    this.#updates = updates;
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    if (this.#intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.tick(), this.#intervalMs);
    this.#timer.unref();
  }

  async tick(): Promise<void> {
    if (this.#running) return this.#running;
    this.#running = (async () => {
      try {
        for (const r of await this.#updates.refresh()) this.#logger.info({ repo: r.repo, roles: r.roles }, 'updates: metadata re-signed before expiry');
      } catch (e) {
        this.#logger.error({ err: e }, 'updates: refresh failed');
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
