/**
 * The reader's online side (docs/reader.md §7): upload queued events, refresh the trust cache, and
 * listen for status-list changes pushed by the server. Everything here can fail (the network is
 * down, the server refuses) without touching what the reader decides offline: events stay queued
 * until acknowledged, the trust cache keeps what it had until something verified replaces it.
 */
import type { Clock } from '../core/clock.ts';
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { fromBase64, toBase64 } from '../core/bytes.ts';
import type { ReaderKeyMaterial } from '../tap/types.ts';
import type { ReaderConfig } from './config.ts';
import type { ReaderEvent } from './events.ts';
import type { TrustCache, TrustUpdate } from './trust-cache.ts';
import { MAX_BATCH, signEventBatch, signTrustRequest } from './upload.ts';

/** What upload needs of a queue (EventQueue fits). */
export interface UploadQueue {
  readonly instance: string;
  pending(limit?: number): ReaderEvent[];
  acknowledge(lastSeq: number): number;
}

export interface ReaderOnlineOptions {
  readonly config: ReaderConfig;
  readonly identity: ReaderKeyMaterial;
  readonly trust: TrustCache;
  readonly queue: UploadQueue;
  readonly clock: Clock;
  readonly fetch?: typeof fetch;
}

/** How `run()` paces itself. Intervals are I/O pacing, not domain time: they use the event loop's timers. */
export interface RunOptions {
  /** Upload whatever is queued this often while things work (default 10 s). */
  readonly uploadEveryMs?: number;
  /** Refresh the trust list and status lists this often (default 5 min), measured on the reader clock. */
  readonly refreshEveryMs?: number;
  /** After failures the pause doubles from uploadEveryMs up to this (default 5 min). */
  readonly maxBackoffMs?: number;
  /** Listen to the server's status push alongside (default true). */
  readonly watch?: boolean;
  /** Each failure, for the reader's log; the loop goes on. */
  readonly onError?: (e: CityTrustError) => void;
  /** Each push applied (see watch()). */
  readonly onUpdate?: (u: TrustUpdate | CityTrustError) => void;
  /** Injected by tests; resolves after `ms` or when `signal` aborts. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const RUN_DEFAULTS = { uploadEveryMs: 10_000, refreshEveryMs: 300_000, maxBackoffMs: 300_000 } as const;

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function asError(e: unknown): CityTrustError {
  return isCityTrustError(e) ? e : new CityTrustError('READER_UPLOAD_FAILED', 'the reader could not reach the server', { cause: e });
}

export class ReaderOnline {
  readonly #o: ReaderOnlineOptions;
  readonly #fetch: typeof fetch;
  /** The last trust-list version a push announced and a refresh applied. */
  #trustVersion: string | undefined;

  constructor(o: ReaderOnlineOptions) {
    if (o.config.serverUrl === undefined) throw new CityTrustError('READER_CONFIG_INVALID', 'reader configuration "serverUrl" is needed to go online', { details: { key: 'serverUrl' } });
    this.#o = o;
    this.#fetch = o.fetch ?? fetch;
  }

  #by() {
    const { config, identity, clock } = this.#o;
    return { identity, readerId: config.readerId, tenant: config.tenant, iat: Math.floor(clock.now() / 1000) };
  }

  async #post(path: string, sign1: Uint8Array): Promise<unknown> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.#o.config.serverUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sign1: toBase64(sign1) }) });
    } catch (e) {
      throw new CityTrustError('READER_UPLOAD_FAILED', 'the server cannot be reached', { cause: e });
    }
    const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    if (!res.ok) throw new CityTrustError('READER_UPLOAD_FAILED', `the server answered ${res.status}${body.code ? ` ${body.code}` : ''}`, { details: { status: res.status, ...(body.code !== undefined && { reason: body.code }) } });
    return body;
  }

  /**
   * Uploads every queued event in signed batches, oldest first; each acknowledged batch is removed
   * from the queue. Stops at the first failure (what was not acknowledged stays queued).
   */
  async upload(batchSize = 500): Promise<{ uploaded: number; batches: number }> {
    let uploaded = 0;
    let batches = 0;
    for (;;) {
      const events = this.#o.queue.pending(Math.min(batchSize, MAX_BATCH));
      if (events.length === 0) return { uploaded, batches };
      const res = (await this.#post(`/v1/readers/${encodeURIComponent(this.#o.config.readerId)}/events`, await signEventBatch(this.#by(), this.#o.queue.instance, events))) as { lastSeq?: unknown };
      const last = events.at(-1)!.seq;
      // The server answers the highest sequence of the batch; anything else is not an acknowledgement.
      if (res.lastSeq !== last) throw new CityTrustError('READER_UPLOAD_FAILED', 'the server did not acknowledge the batch');
      uploaded += this.#o.queue.acknowledge(last);
      batches += 1;
    }
  }

  /**
   * The reader's online life until `signal` aborts: refresh the trust cache when due, upload
   * everything queued, pause, again. A reader that was offline catches up at its first successful
   * round: every event it decided meanwhile goes up, oldest first, in as many batches as it takes.
   * Failures never end the loop; the pause doubles up to maxBackoffMs and returns to uploadEveryMs
   * after a round that worked. Alongside, the status push is listened to (and reconnected, with a
   * refresh on the next round since pushes may have been missed).
   */
  async run(signal: AbortSignal, opts: RunOptions = {}): Promise<void> {
    const every = opts.uploadEveryMs ?? RUN_DEFAULTS.uploadEveryMs;
    const refreshEvery = opts.refreshEveryMs ?? RUN_DEFAULTS.refreshEveryMs;
    const maxBackoff = opts.maxBackoffMs ?? RUN_DEFAULTS.maxBackoffMs;
    const sleep = opts.sleep ?? sleepFor;
    let lastRefresh: number | undefined;
    const watching = (async () => {
      if (opts.watch === false) return;
      let failures = 0;
      while (!signal.aborted) {
        try {
          await this.watch(signal, opts.onUpdate);
          failures = 0;
        } catch (e) {
          failures += 1;
          opts.onError?.(asError(e));
        }
        lastRefresh = undefined;
        if (!signal.aborted) await sleep(Math.min(maxBackoff, every * 2 ** failures), signal);
      }
    })();
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (lastRefresh === undefined || this.#o.clock.now() - lastRefresh >= refreshEvery) {
          await this.refresh();
          lastRefresh = this.#o.clock.now();
        }
        await this.upload();
        failures = 0;
      } catch (e) {
        failures += 1;
        opts.onError?.(asError(e));
      }
      if (!signal.aborted) await sleep(failures === 0 ? every : Math.min(maxBackoff, every * 2 ** failures), signal);
    }
    await watching;
  }

  /** Fetches the trust list and the status lists of the accepted tenants, verifies and applies them. */
  async refresh(): Promise<TrustUpdate> {
    const res = (await this.#post(`/v1/readers/${encodeURIComponent(this.#o.config.readerId)}/trust`, await signTrustRequest(this.#by(), this.#o.config.trustedTenants))) as { trustList?: unknown; statusLists?: unknown };
    if (typeof res.trustList !== 'string' || !Array.isArray(res.statusLists) || !res.statusLists.every((s) => typeof s === 'string')) {
      throw new CityTrustError('READER_TRUST_CACHE_INVALID', 'the trust answer is not {trustList, statusLists}');
    }
    return this.#o.trust.update({ trustList: fromBase64(res.trustList), statusLists: (res.statusLists as string[]).map(fromBase64) }, this.#o.clock.now());
  }

  /**
   * Listens to the server's push (server-sent events, docs/status-list.md): applies each new version
   * of a status list the reader holds, and on a trust-list change refreshes (signed request) and
   * verifies the new trust list against the pinned root. Resolves when `signal` aborts or the stream
   * ends; the caller reconnects (and should refresh() once, since events may have been missed).
   */
  async watch(signal: AbortSignal, onUpdate?: (u: TrustUpdate | CityTrustError) => void): Promise<void> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.#o.config.serverUrl}/v1/status/events`, { signal, headers: { accept: 'text/event-stream' } });
    } catch (e) {
      if (signal.aborted) return;
      throw new CityTrustError('READER_UPLOAD_FAILED', 'the status event stream cannot be opened', { cause: e });
    }
    if (!res.ok || res.body === null) throw new CityTrustError('READER_UPLOAD_FAILED', `the status event stream answered ${res.status}`);
    const decoder = new TextDecoder();
    let buf = '';
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += decoder.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const lines = block.split('\n');
          const data = lines.find((l) => l.startsWith('data: '));
          if (data === undefined) continue;
          let parsed: { list?: unknown; trust?: unknown };
          try {
            parsed = JSON.parse(data.slice(6)) as { list?: unknown; trust?: unknown };
          } catch {
            continue;
          }
          if (parsed === null || typeof parsed !== 'object') continue;
          if (lines.includes('event: trust')) {
            // The push names a version only; the list itself comes from the signed refresh and is
            // verified against the pinned root like any other (a forged push changes nothing).
            if (typeof parsed.trust !== 'string' || !/^[0-9a-f]{8,64}$/.test(parsed.trust) || parsed.trust === this.#trustVersion) continue;
            const version = parsed.trust;
            const u = await this.refresh().catch((e: unknown) => (isCityTrustError(e) ? e : new CityTrustError('READER_UPLOAD_FAILED', 'refreshing the trust list failed', { cause: e })));
            if (!isCityTrustError(u)) this.#trustVersion = version;
            onUpdate?.(u);
            continue;
          }
          if (!lines.includes('event: status')) continue;
          const { list } = parsed;
          if (typeof list !== 'string' || !/^[a-z0-9]{4,32}$/.test(list) || this.#o.trust.statusList(`ct:${list}`) === undefined) continue;
          onUpdate?.(await this.#fetchList(list).catch((e: unknown) => (isCityTrustError(e) ? e : new CityTrustError('READER_UPLOAD_FAILED', 'fetching a status list failed', { cause: e }))));
        }
      }
    } catch (e) {
      if (!signal.aborted) throw new CityTrustError('READER_UPLOAD_FAILED', 'the status event stream broke', { cause: e });
    }
  }

  async #fetchList(list: string): Promise<TrustUpdate> {
    const res = await this.#fetch(`${this.#o.config.serverUrl}/v1/status/${list}`);
    if (!res.ok) throw new CityTrustError('READER_UPLOAD_FAILED', `the status list answered ${res.status}`);
    return this.#o.trust.update({ statusLists: [new Uint8Array(await res.arrayBuffer())] }, this.#o.clock.now());
  }
}
