/**
 * Key-use accounting. Every use increments an in-memory counter (no I/O on the hot path);
 * a timer appends one `vault.key.use` audit event per (key, actor) at most once a second,
 * and only when there was use. A failed append keeps the counts for the next round.
 */
import type { AuditSink } from '../audit/types.ts';
import type { Logger } from '../core/log.ts';

export type UseKind = 'sign' | 'verify' | 'encrypt' | 'decrypt' | 'derive' | 'mac' | 'wrap' | 'unwrap';

/**
 * The actor the audit log's checkpoint signer uses. Its uses are not counted: each one is
 * already public in the log as a signed checkpoint, and counting it would append an event,
 * which grows the log, which makes a new checkpoint — a one-event-a-second loop forever.
 */
export const CHECKPOINT_ACTOR = 'system:audit-checkpoint';

interface Counter {
  keyId: string;
  tenant: string | null;
  actor: string;
  counts: Partial<Record<UseKind, number>>;
}

export class UsageMeter {
  readonly #audit: AuditSink;
  readonly #log: Logger;
  #pending = new Map<string, Counter>();
  #last: Counter | undefined;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(audit: AuditSink, log: Logger, intervalMs = 1000) {
    this.#audit = audit;
    this.#log = log;
    if (intervalMs > 0) {
      this.#timer = setInterval(() => void this.flush(), intervalMs);
      // The meter must never keep a process alive on its own.
      this.#timer.unref();
    }
  }

  count(keyId: string, tenant: string | null, actor: string, kind: UseKind): void {
    if (actor === CHECKPOINT_ACTOR) return;
    // Fast path: the same key and actor as the previous call (a hot loop) skips the map lookup.
    let c = this.#last;
    if (c === undefined || c.keyId !== keyId || c.actor !== actor) {
      const k = `${keyId}\n${actor}`;
      c = this.#pending.get(k);
      if (!c) {
        c = { keyId, tenant, actor, counts: {} };
        this.#pending.set(k, c);
      }
      this.#last = c;
    }
    c.counts[kind] = (c.counts[kind] ?? 0) + 1;
  }

  /** Appends what was counted since the last flush; flushes never overlap. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushNow());
    return this.#flushing;
  }

  async #flushNow(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#last = undefined;
    for (const c of batch.values()) {
      try {
        await this.#audit.append({ actor: c.actor, tenant: c.tenant, action: 'vault.key.use', subject: c.keyId, details: { counts: c.counts } });
      } catch (e) {
        this.#log.error({ err: e, keyId: c.keyId }, 'vault: appending key-use counts failed; keeping them for the next flush');
        const k = `${c.keyId}\n${c.actor}`;
        const now = this.#pending.get(k);
        if (now) for (const [kind, n] of Object.entries(c.counts) as [UseKind, number][]) now.counts[kind] = (now.counts[kind] ?? 0) + n;
        else this.#pending.set(k, c);
      }
    }
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}
