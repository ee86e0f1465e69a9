/**
 * Ingest of meter frames (docs/metering.md, ingest). For each frame, in this order:
 *
 *   1. parse (exact lengths per type) and find the meter named by the topic;
 *   2. the system title must be the meter's;
 *   3. identity: a key establishment carries the meter certificate, validated against the
 *      city PKI (meters CA, meter profile, the meter's URN, not revoked, device active); any
 *      other frame names an established key epoch, whose certificate is re-checked in bulk
 *      for every batch (revoked, expired, device no longer active);
 *   4. the ECDSA signature with the certificate key;
 *   5. the invocation counter: above the stored one, or an exact copy of a stored frame
 *      within the redelivery window (a duplicate: acknowledged, not stored again); anything
 *      else is METER_COUNTER_REPLAY;
 *   6. decryption (AES-GCM, IV = system title ‖ counter, AAD = header);
 *   7. plausibility of readings.
 *
 * Steps 1–4 run as frames arrive, in parallel across meters but in order per meter; the
 * signature check runs on the libuv pool. Steps 5–7 run in arrival order when a batch is
 * committed; the promise of each frame resolves only once its batch is durable, so a broker
 * acknowledges a frame (PUBACK) only after it is stored, and a failed commit leaves it
 * unacknowledged, to be redelivered. Every refusal is an alert, and nothing refused changes
 * any state.
 */
import { webcrypto } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { CityTrustError, isCityTrustError, type ErrorCode } from '../core/errors.ts';
import { bytesEqual, toHex } from '../core/bytes.ts';
import { sha256 } from '../crypto/index.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import type { KeyVault } from '../vault/types.ts';
import type { Devices } from '../devices/registry.ts';
import { isAlertKind, type AlertInput } from './alerts.ts';
import { parseUplinkFrame, type UplinkFrame, type UplinkType } from './frame.ts';
import type { MeterIdentityResolver, IdentityStatus } from './identity.ts';
import { identityKey, identityMessage } from './identity.ts';
import { MeterCache, remember, toVerifyKey, type Epoch, type MeterEntry } from './ingest-state.ts';
import { emptyWriteSet, storedFrame, writeBatch, type WriteSet } from './ingest-write.ts';
import type { MeteringKeys } from './keys.ts';
import { decodeAck, decodeKeyEstablishment, decodeReading, decodeTamper, STATUS } from './payload.ts';
import { checkReading, type PlausibilityKind, type PlausibilityRules } from './plausibility.ts';
import { openUplinkBody, sessionKeyId, verifyUplinkSignature } from './suite.ts';
import { parseMeterTopic } from './topics.ts';
import { VerifyPool } from './verify-pool.ts';

export interface IngestSettings extends PlausibilityRules {
  /** Most frames per commit. */
  readonly batchSize: number;
  /** An exact copy of a stored frame arriving within this time is a redelivery, later a replay. */
  readonly redeliveryWindowMs: number;
  /** Repeats of an alert within this time update one row. */
  readonly alertCoalesceMs: number;
  /** Meters whose state is kept in memory. */
  readonly cacheSize: number;
  /** Frames waiting for a commit before new ones are refused (the broker redelivers them). */
  readonly maxQueue: number;
  /**
   * Worker threads verifying signatures; 0 (default) = WebCrypto, which runs on the libuv pool
   * and measured faster here (bench/metering.ts --verify-threads).
   */
  readonly verifyThreads: number;
}

export const DEFAULT_INGEST_SETTINGS: IngestSettings = {
  batchSize: 2000,
  redeliveryWindowMs: 86_400_000,
  alertCoalesceMs: 60_000,
  cacheSize: 200_000,
  maxQueue: 50_000,
  verifyThreads: 0,
  maxClockSkewMs: 300_000,
  readingIntervalMs: 900_000,
  tolerance: 1.1,
};

export type IngestStatus = 'stored' | 'duplicate' | 'rejected' | 'ignored';

export interface IngestOutcome {
  readonly status: IngestStatus;
  readonly type?: UplinkType;
  readonly counter?: number;
  /** Why a frame was rejected or ignored. */
  readonly code?: ErrorCode;
  /** Plausibility alerts of a stored reading. */
  readonly anomalies?: readonly PlausibilityKind[];
}

export interface IngestStats {
  stored: number;
  duplicate: number;
  rejected: number;
  ignored: number;
  batches: number;
  /** Time spent in commits (ms): with `batches`, the commit latency. */
  commitMs: number;
}

interface Prepared {
  readonly frame: UplinkFrame;
  readonly entry: MeterEntry;
  readonly epoch: Epoch;
  readonly digest: Uint8Array;
  /** For a key establishment: the epoch it establishes. */
  readonly established?: Epoch;
}

interface Item {
  readonly tenant: string;
  readonly meterId: string;
  readonly receivedAt: number;
  readonly prep: Promise<Prepared>;
  /** Resolves (never rejects) when `prep` has settled. */
  readonly settled: Promise<void>;
  ready: boolean;
  resolve(o: IngestOutcome): void;
  reject(e: unknown): void;
}

/** The part of the device registry ingest needs: a tamper event makes the meter `compromised`. */
export type DeviceStates = Pick<Devices, 'get' | 'setState'>;

const subtle = webcrypto.subtle;
const ECDSA = { name: 'ECDSA', hash: 'SHA-256' } as const;

async function verifyAsync(frame: UplinkFrame, key: webcrypto.CryptoKey): Promise<boolean> {
  if (frame.signature.length !== 64) return false;
  try {
    return await subtle.verify(ECDSA, key, frame.signature, frame.signed);
  } catch {
    return false;
  }
}

/** Faults of the platform, not of the frame: the frame stays unacknowledged and comes again. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(['VAULT_SEALED', 'VAULT_ZEROIZED', 'VAULT_BACKEND_ERROR', 'STORE_UNAVAILABLE', 'UNAVAILABLE']);

function isTransient(e: unknown): boolean {
  return isCityTrustError(e) && TRANSIENT.has(e.code);
}

function refuse(code: ErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new CityTrustError(code, message, details ? { details } : undefined);
}

export class MeterIngest {
  readonly stats: IngestStats = { stored: 0, duplicate: 0, rejected: 0, ignored: 0, batches: 0, commitMs: 0 };
  readonly #store: Store;
  readonly #identity: MeterIdentityResolver;
  readonly #audit: AuditSink;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #s: IngestSettings;
  readonly #cache: MeterCache;
  readonly #pool: VerifyPool | undefined;
  readonly #tails = new Map<string, Promise<void>>();
  readonly #devices: DeviceStates | undefined;
  /** Meters whose tamper event this instance saw (tenant/meter): refused without waiting for the identity cache. */
  readonly #compromised = new Set<string>();
  #queue: Item[] = [];
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(deps: { store: Store; vault: KeyVault; keys: MeteringKeys; identity: MeterIdentityResolver; audit: AuditSink; clock: Clock; logger?: Logger; settings?: Partial<IngestSettings>; devices?: DeviceStates }) {
    this.#store = deps.store;
    this.#devices = deps.devices;
    this.#identity = deps.identity;
    this.#audit = deps.audit;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#s = { ...DEFAULT_INGEST_SETTINGS, ...deps.settings };
    this.#cache = new MeterCache({ store: deps.store, vault: deps.vault, keys: deps.keys, maxEntries: this.#s.cacheSize });
    this.#pool = this.#s.verifyThreads > 0 ? new VerifyPool(this.#s.verifyThreads) : undefined;
  }

  /** A frame from an MQTT topic; anything that is not a meter uplink topic is ignored. */
  submitTopic(topic: string, payload: Uint8Array): Promise<IngestOutcome> {
    const t = parseMeterTopic(topic);
    if (!t || t.direction !== 'up') return Promise.resolve({ status: 'ignored', code: 'INPUT_INVALID' });
    return this.submit(t.tenant, t.meterId, payload);
  }

  /**
   * Ingests one frame of the meter named by its topic. Resolves once the frame's batch is
   * durable (stored, duplicate, or rejected with its alert written); rejects only when the
   * batch could not be committed — then nothing of it was acknowledged.
   */
  submit(tenant: string, meterId: string, frame: Uint8Array): Promise<IngestOutcome> {
    if (this.#closed) return Promise.reject(new CityTrustError('UNAVAILABLE', 'ingest is closed'));
    if (this.#queue.length >= this.#s.maxQueue) return Promise.reject(new CityTrustError('UNAVAILABLE', 'ingest queue is full; the broker will redeliver'));
    const receivedAt = this.#clock.now();
    const key = `${tenant}/${meterId}`;
    const tail = this.#tails.get(key) ?? Promise.resolve();
    // In order per meter: a key establishment is in place before the frames that use it.
    const prep = tail.then(() => this.#prepare(tenant, meterId, frame, receivedAt));
    const done = prep.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, done);
    void done.then(() => {
      if (this.#tails.get(key) === done) this.#tails.delete(key);
    });
    return new Promise<IngestOutcome>((resolve, reject) => {
      const item: Item = { tenant, meterId, receivedAt, prep, settled: done, ready: false, resolve, reject };
      void done.then(() => (item.ready = true));
      this.#queue.push(item);
      this.#schedule();
    });
  }

  /** Resolves when every frame submitted so far is committed. */
  async drain(): Promise<void> {
    while (this.#flushing || this.#queue.length > 0) {
      if (!this.#flushing) this.#schedule();
      await this.#flushing;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.drain();
    await this.#pool?.close();
  }

  // ---- steps 1–4 ----

  async #prepare(tenant: string, meterId: string, bytes: Uint8Array, receivedAt: number): Promise<Prepared> {
    const frame = parseUplinkFrame(bytes);
    const entry = await this.#cache.get(tenant, meterId);
    if (!entry) refuse('METER_NOT_FOUND', 'no such meter');
    if (!bytesEqual(frame.systemTitle, entry.systemTitle)) refuse('METER_SYSTEM_TITLE_MISMATCH', 'the system title is not the one of this meter');
    const digest = sha256(frame.signed);
    if (frame.type === 'keyEstablishment') {
      const ke = decodeKeyEstablishment(frame.body);
      if (!bytesEqual(frame.keyId, sessionKeyId(ke.ephemeralPublicKey))) refuse('METER_FRAME_MALFORMED', 'the key id is not the one of the ephemeral key');
      const cert = await this.#identity.verifyCertificate(tenant, meterId, ke.certificate, receivedAt);
      if (!verifyUplinkSignature(frame, cert.publicKey)) refuse('METER_SIGNATURE_INVALID', 'the key establishment is not signed by the certified meter key');
      const sessionKey = await this.#cache.deriveSessionKey(tenant, entry.systemTitle, ke.ephemeralPublicKey, toHex(ke.headEndKeyId));
      const epoch: Epoch = {
        keyId: frame.keyId.slice(),
        sessionKey,
        verifyKey: await toVerifyKey(cert.spki),
        publicKey: cert.publicKey,
        serial: cert.serial,
        spki: cert.spki,
        notAfter: cert.notAfter,
        ephemeralPublic: ke.ephemeralPublicKey.slice(),
        kaKeyId: toHex(ke.headEndKeyId),
        counter: frame.counter,
      };
      // Usable at once by this meter's next frames; stored with this frame's batch.
      this.#cache.installEpoch(entry, epoch);
      return { frame, entry, epoch, digest, established: epoch };
    }
    const epoch = await this.#cache.epoch(entry, frame.keyId);
    if (!epoch) refuse('METER_KEY_UNKNOWN', 'no key with this id was established for the meter');
    const valid = this.#pool ? await this.#pool.verify({ id: epoch.serial, spki: epoch.spki, keyObject: epoch.publicKey }, frame.signed, frame.signature) : await verifyAsync(frame, epoch.verifyKey);
    if (!valid) refuse('METER_SIGNATURE_INVALID', 'the frame is not signed by the certified meter key');
    return { frame, entry, epoch, digest };
  }

  // ---- batching ----

  #schedule(): void {
    if (this.#flushing || this.#queue.length === 0) return;
    this.#flushing = (async () => {
      try {
        while (this.#queue.length > 0) {
          // Let the frames that arrived in this turn of the event loop join the batch.
          await new Promise<void>((r) => setImmediate(r));
          // Commit what is verified; frames still being verified join a later batch, so that
          // the commit (fsync) and the signature checks overlap. A meter's frames become ready
          // in their order (their checks are chained), so taking the ready ones keeps it.
          const batch: Item[] = [];
          const rest: Item[] = [];
          for (const i of this.#queue) (i.ready && batch.length < this.#s.batchSize ? batch : rest).push(i);
          if (batch.length === 0) {
            await this.#queue[0]!.settled;
            continue;
          }
          this.#queue = rest;
          await this.#flush(batch);
        }
      } finally {
        this.#flushing = undefined;
      }
    })();
  }

  async #flush(batch: Item[]): Promise<void> {
    const settled = await Promise.allSettled(batch.map((i) => i.prep));
    const now = this.#clock.now();
    // Step 3, in bulk: are the certificates and devices behind this batch still good?
    const keys = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [{ tenant: batch[i]!.tenant, meterId: batch[i]!.meterId, serial: s.value.epoch.serial }] : []));
    let statuses: Map<string, IdentityStatus>;
    try {
      statuses = keys.length > 0 ? await this.#identity.statusMany(keys, now) : new Map();
    } catch (e) {
      for (const i of batch) i.reject(e);
      return;
    }
    const w = emptyWriteSet();
    const outcomes: (IngestOutcome | { readonly defer: unknown })[] = [];
    const touched = new Set<MeterEntry>();
    // A meter whose frame hit a passing fault (vault sealed, store down) keeps its later frames
    // of this batch unacknowledged too: applying them would put its counter past the deferred one.
    const deferred = new Set<string>();
    const tampered = new Set<string>();
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]!;
      const s = settled[i]!;
      const meterKey = `${item.tenant}/${item.meterId}`;
      try {
        if (deferred.has(meterKey)) throw new CityTrustError('UNAVAILABLE', 'an earlier frame of this meter is waiting for redelivery');
        if (s.status === 'rejected') throw s.reason;
        const p = s.value;
        const st = statuses.get(identityKey({ tenant: item.tenant, meterId: item.meterId, serial: p.epoch.serial }));
        // A meter that reported tampering is refused at once, before the identity cache learns it.
        if (this.#compromised.has(meterKey) || tampered.has(meterKey)) refuse('METER_COMPROMISED', identityMessage('METER_COMPROMISED'));
        if (st !== 'ok') refuse(st ?? 'METER_IDENTITY_INVALID', identityMessage(st ?? 'METER_IDENTITY_INVALID'));
        touched.add(p.entry);
        const o = await this.#apply(item, p, w);
        // Its later frames in this batch are refused like those of any later batch.
        if (o.type === 'tamper') tampered.add(meterKey);
        outcomes.push(o);
      } catch (e) {
        if (isTransient(e)) {
          deferred.add(meterKey);
          outcomes.push({ defer: e });
        } else outcomes.push(this.#rejected(item, e, w));
      }
    }
    const began = performance.now();
    try {
      await writeBatch(this.#store, w, now, this.#s.alertCoalesceMs);
      this.stats.commitMs += performance.now() - began;
    } catch (e) {
      // The in-memory state ran ahead of what is stored: reload those meters from the database.
      for (const m of touched) this.#cache.evict(m.tenant, m.id);
      this.#logger?.error({ err: e, frames: batch.length }, 'metering: ingest batch failed; frames stay unacknowledged');
      const err = new CityTrustError('STORE_UNAVAILABLE', 'the ingest batch could not be stored', { cause: e });
      for (const i of batch) i.reject(err);
      return;
    }
    this.stats.batches++;
    for (const a of w.audits) await this.#audit.append(a).catch((e: unknown) => this.#logger?.error({ err: e }, 'metering: audit append failed'));
    // A tamper event (stored now, or a redelivery of one stored before) marks the device
    // compromised, which revokes its certificates. The frame is acknowledged only after that:
    // if it fails, the broker redelivers the frame and this runs again.
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i]!;
      if ('defer' in o || o.type !== 'tamper' || (o.status !== 'stored' && o.status !== 'duplicate')) continue;
      try {
        await this.#compromise(batch[i]!.tenant, batch[i]!.meterId);
      } catch (e) {
        this.#logger?.error({ err: e, tenant: batch[i]!.tenant, meter: batch[i]!.meterId }, 'metering: marking a tampered meter compromised failed; the frame stays unacknowledged');
        outcomes[i] = { defer: e };
      }
    }
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i]!;
      if ('defer' in o) {
        batch[i]!.reject(o.defer);
        continue;
      }
      this.stats[o.status]++;
      batch[i]!.resolve(o);
    }
  }

  async #compromise(tenant: string, meterId: string): Promise<void> {
    if (this.#devices) {
      const d = await this.#devices.get(tenant, tenant, meterId);
      if (d.state !== 'compromised' && d.state !== 'retired') await this.#devices.setState(tenant, tenant, meterId, 'compromised', `meter:${tenant}/${meterId}`);
    }
    this.#compromised.add(`${tenant}/${meterId}`);
  }

  #rejected(item: Item, e: unknown, w: WriteSet): IngestOutcome {
    if (!isCityTrustError(e)) {
      this.#logger?.error({ err: e, tenant: item.tenant, meter: item.meterId }, 'metering: unexpected ingest failure');
      return { status: 'rejected', code: 'INTERNAL' };
    }
    // An unknown meter has nowhere to hang an alert (and a stream of invented ids must not make rows).
    if (e.code === 'METER_NOT_FOUND' || e.code === 'METER_SETUP_MISSING') return { status: 'ignored', code: e.code };
    const kind = isAlertKind(e.code) ? e.code : 'METER_FRAME_MALFORMED';
    const details: Record<string, unknown> = { message: e.message, ...(e.details ?? {}) };
    const counter = typeof e.details?.counter === 'number' ? e.details.counter : undefined;
    w.alerts.push({ tenant: item.tenant, meterId: item.meterId, kind, ...(counter !== undefined ? { counter } : {}), details });
    if (e.code === 'METER_COUNTER_REPLAY' || e.code === 'METER_IDENTITY_INVALID') {
      w.audits.push({ actor: `meter:${item.tenant}/${item.meterId}`, tenant: item.tenant, action: 'metering.frame.refuse', subject: item.meterId, details: { code: e.code, ...(counter !== undefined ? { counter } : {}) } });
    }
    return { status: 'rejected', code: e.code };
  }

  // ---- steps 5–7 ----

  async #apply(item: Item, p: Prepared, w: WriteSet): Promise<IngestOutcome> {
    const { frame, entry } = p;
    const counter = frame.counter;
    if (counter <= entry.lastCounter) {
      const prev = entry.recent.get(counter) ?? (await storedFrame(this.#store, entry.tenant, entry.id, counter));
      if (prev && bytesEqual(prev.digest, p.digest) && item.receivedAt - prev.at <= this.#s.redeliveryWindowMs) {
        return { status: 'duplicate', type: frame.type, counter };
      }
      refuse('METER_COUNTER_REPLAY', `invocation counter ${counter} is not above ${entry.lastCounter}`, { counter, last: entry.lastCounter });
    }
    const base = { tenant_id: entry.tenant, meter_id: entry.id, counter, received_at: item.receivedAt, digest: p.digest };
    const actor = `meter:${entry.tenant}/${entry.id}`;
    let anomalies: PlausibilityKind[] | undefined;
    switch (frame.type) {
      case 'keyEstablishment': {
        const e = p.established!;
        const ke = decodeKeyEstablishment(frame.body);
        w.epochs.push({ tenant_id: entry.tenant, meter_id: entry.id, key_id: e.keyId, ephemeral_public: e.ephemeralPublic, ka_key_id: e.kaKeyId, cert_serial: e.serial, cert_spki: e.spki, cert_not_after: e.notAfter, counter, created_at: item.receivedAt });
        w.events.push({ ...base, type: 'key-establishment', meter_time: ke.time, details: JSON.stringify({ keyId: toHex(e.keyId), certificate: e.serial }) });
        break;
      }
      case 'reading': {
        const r = decodeReading(openUplinkBody(frame, p.epoch.sessionKey));
        const found = checkReading(r, counter, { counter: entry.lastCounter, time: entry.lastTime, importWh: entry.lastImport, exportWh: entry.lastExport }, entry.cls, item.receivedAt, this.#s);
        anomalies = found.map((a) => a.kind);
        for (const a of found) w.alerts.push({ tenant: entry.tenant, meterId: entry.id, kind: a.kind, counter, details: a.details });
        w.readings.push({ ...base, meter_time: r.time, import_wh: r.importWh, export_wh: r.exportWh, power_w: r.powerW, status: r.status, flags: anomalies.join(',') });
        entry.lastTime = r.time;
        entry.lastImport = r.importWh;
        entry.lastExport = r.exportWh;
        entry.relay = r.status & STATUS.relayConnected ? 'connected' : 'disconnected';
        break;
      }
      case 'tamper': {
        const t = decodeTamper(openUplinkBody(frame, p.epoch.sessionKey));
        w.events.push({ ...base, type: 'tamper', meter_time: t.time, details: JSON.stringify({ reason: t.reason, importWh: t.importWh, exportWh: t.exportWh }) });
        const alert: AlertInput = { tenant: entry.tenant, meterId: entry.id, kind: 'METER_TAMPER', counter, details: { reason: t.reason, deviceState: 'compromised' } };
        w.alerts.push(alert);
        w.audits.push({ actor, tenant: entry.tenant, action: 'metering.meter.tamper', subject: entry.id, details: { reason: t.reason, counter } });
        break;
      }
      case 'ack': {
        const a = decodeAck(openUplinkBody(frame, p.epoch.sessionKey));
        const commandId = `mc_${toHex(a.commandId)}`;
        w.events.push({ ...base, type: 'ack', meter_time: a.time, details: JSON.stringify({ commandId, commandCounter: a.commandCounter, result: a.result, relayConnected: a.relayConnected }) });
        w.acks.push({ tenant: entry.tenant, meterId: entry.id, commandId, commandCounter: a.commandCounter, result: a.result, relayConnected: a.relayConnected, counter });
        w.audits.push({ actor, tenant: entry.tenant, action: 'metering.command.ack', subject: commandId, details: { meter: entry.id, result: a.result, relayConnected: a.relayConnected } });
        entry.relay = a.relayConnected ? 'connected' : 'disconnected';
        break;
      }
    }
    entry.lastCounter = counter;
    remember(entry, counter, p.digest, item.receivedAt);
    w.meters.set(`${entry.tenant}/${entry.id}`, entry);
    return { status: 'stored', type: frame.type, counter, ...(anomalies && anomalies.length > 0 ? { anomalies } : {}) };
  }
}
