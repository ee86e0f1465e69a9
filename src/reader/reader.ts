/**
 * The reader: runs a tap over any link, decides offline, records the event durably, answers inside
 * the channel (docs/reader.md §3). One Reader serves taps one after another; each tap has its own
 * protocol session, so whatever a tap ends with (a forged credential, a relay, a garbled frame, a
 * card pulled away) the next tap starts clean. State that outlives a tap (uses, anti-passback,
 * events) changes only through the event journal, and only for a decision the reader made.
 */
import type { Clock } from '../core/clock.ts';
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { validateRequest, type TapRequest } from '../tap/messages.ts';
import { ReaderSession } from '../tap/reader-session.ts';
import type { TapRandomness } from '../tap/random.ts';
import { ReplayCache } from '../tap/replay-cache.ts';
import { withDeadline, type TapLink } from '../tap/link.ts';
import type { ReaderKeyMaterial } from '../tap/types.ts';
import type { ReaderConfig } from './config.ts';
import { decide, type EngineDecision } from './engine.ts';
import type { ReaderEvent } from './events.ts';
import type { ReaderState } from './state.ts';
import type { TrustCache } from './trust-cache.ts';

/** Where events go: the persisted EventQueue on a device, a MemoryEventSink in tests and benchmarks. */
export interface EventSink {
  readonly state: ReaderState;
  append(e: Omit<ReaderEvent, 'seq'>): ReaderEvent;
}

export interface ReaderOptions {
  readonly config: ReaderConfig;
  readonly identity: ReaderKeyMaterial;
  readonly trust: TrustCache;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly replayCache?: ReplayCache;
  /** Only the test-vector test passes another source. */
  readonly random?: TapRandomness;
}

export interface TapOptions {
  /** One of the configured resources (default: the first). */
  readonly resource?: string;
  /** Zones of this journey (default: the configured zone). */
  readonly zones?: readonly string[];
}

export interface TapOutcome {
  readonly allow: boolean;
  /** GRANTED, a decision reason, or the tap code of what went wrong. */
  readonly reason: string;
  readonly code?: string;
  readonly by: 'reader' | 'wallet';
  readonly event: ReaderEvent;
  readonly usesLeft?: number;
  /** The decision reached the wallet inside the channel (false when the wallet left before M5). */
  readonly answered: boolean;
}

export class Reader {
  readonly #o: ReaderOptions;
  readonly #replay: ReplayCache;
  readonly #requests = new Map<string, TapRequest>();

  constructor(opts: ReaderOptions) {
    this.#o = opts;
    this.#replay = opts.replayCache ?? new ReplayCache();
  }

  get config(): ReaderConfig {
    return this.#o.config;
  }

  /** The request a tap sends, from the configuration (validated once per distinct request). */
  request(opts: TapOptions = {}): TapRequest {
    const c = this.#o.config;
    const resource = opts.resource ?? (opts.zones === undefined ? c.resources[0] : undefined);
    if (opts.resource !== undefined && !c.resources.includes(opts.resource)) throw new CityTrustError('READER_CONFIG_INVALID', `${opts.resource} is not a resource of this reader`);
    const zones = opts.zones ?? (resource === undefined && c.zone !== undefined ? [c.zone] : undefined);
    const key = JSON.stringify([resource, zones]);
    let r = this.#requests.get(key);
    if (r === undefined) {
      r = validateRequest({
        ...(resource !== undefined && { resource }),
        ...(zones !== undefined && { zones: [...zones] }),
        ...(c.class !== undefined && { class: c.class }),
        ...(c.requiredAttributes !== undefined && { attributes: [...c.requiredAttributes] }),
        ...(c.userVerification && { userVerification: true }),
      });
      this.#requests.set(key, r);
    }
    return r;
  }

  /** One tap over `link`. Never throws for what the wallet or the air does; see the outcome. */
  async tap(link: TapLink, opts: TapOptions = {}): Promise<TapOutcome> {
    const timed = withDeadline(link, this.#o.config.tapDeadlineMs);
    try {
      return await this.#tap(timed, opts);
    } finally {
      timed.done();
    }
  }

  async #tap(timed: TapLink, opts: TapOptions): Promise<TapOutcome> {
    const { config, clock } = this.#o;
    const request = this.request(opts);
    const session = new ReaderSession({ identity: this.#o.identity, request, replayCache: this.#replay, ...(this.#o.random !== undefined && { random: this.#o.random }) });
    const where = { site: config.site, ...(request.resource !== undefined && { resource: request.resource }), ...(request.zones !== undefined && { zones: request.zones }) };
    let decision: EngineDecision;
    try {
      const m2 = await timed.exchange(session.hello());
      const m4 = await timed.exchange(await session.authenticate(m2));
      const reply = session.reply(m4);
      if (reply.kind === 'decline') {
        session.abort();
        const event = this.#o.events.append({ at: clock.now(), ...where, allow: false, reason: reply.reason, code: 'TAP_DECLINED', by: 'wallet', session: session.sessionId });
        return { allow: false, reason: reply.reason, code: 'TAP_DECLINED', by: 'wallet', event, answered: false };
      }
      decision = decide(reply, { config, request, trust: this.#o.trust, state: this.#o.events.state, now: clock.now() });
    } catch (e) {
      session.abort();
      const code = isCityTrustError(e) ? e.code : 'TAP_MESSAGE_MALFORMED';
      const peer = code === 'TAP_DECLINED' ? String((e as CityTrustError).details?.reason ?? code) : undefined;
      const reason = peer ?? (code.startsWith('TAP_') ? code : 'TAP_MESSAGE_MALFORMED');
      const by = peer !== undefined ? 'wallet' : 'reader';
      const event = this.#o.events.append({ at: clock.now(), ...where, allow: false, reason, code, by, ...(session.sessionId !== '' && { session: session.sessionId }) });
      return { allow: false, reason, code, by, event, answered: false };
    }
    // The decision is on disk before anyone hears it: a grant counts (uses, anti-passback) even if
    // the reader crashes right after the door opened.
    const event = this.#o.events.append({
      at: clock.now(),
      ...where,
      allow: decision.allow,
      reason: decision.reason,
      by: 'reader',
      session: session.sessionId,
      ...(decision.code !== undefined && { code: decision.code }),
      ...(decision.credentialId !== undefined && { credentialId: decision.credentialId, issuer: decision.issuer as string, credentialExp: decision.credentialExp as number }),
      ...(decision.usesCounted === true && { usesCounted: true }),
      ...(decision.statusStale === true && { statusStale: true }),
    });
    let answered = true;
    try {
      await timed.exchange(session.finish({ allow: decision.allow, reason: decision.reason, ...(decision.usesLeft !== undefined && { usesLeft: decision.usesLeft }) }));
    } catch {
      // The holder pulled the phone away after the decision: it stands and is recorded.
      answered = false;
    }
    return {
      allow: decision.allow,
      reason: decision.reason,
      by: 'reader',
      event,
      answered,
      ...(decision.code !== undefined && { code: decision.code }),
      ...(decision.usesLeft !== undefined && { usesLeft: decision.usesLeft }),
    };
  }
}
