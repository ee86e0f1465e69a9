/**
 * Server side of readers (docs/reader.md §7): authenticate a reader message by the certificate the
 * city issued it (PKI: issued here, good, in validity, device active; reader or gate profile; the
 * device is the reader the path names) and its signature; store uploaded events once each; keep
 * the dashboard counters; put every batch and every alert into the audit log; and answer trust
 * requests with the current trust list and status lists.
 */
import { CityTrustError, isCityTrustError } from '../../core/errors.ts';
import type { Clock } from '../../core/clock.ts';
import type { AuditSink } from '../../audit/types.ts';
import type { Store } from '../../store/db.ts';
import { coseVerifierKey, importSpkiPublicKey, sha256 } from '../../crypto/index.ts';
import { parseCertificate } from '../../pki/validate-cert.ts';
import type { ClientIdentity } from '../../pki/pki.ts';
import { EVENTS_TYP, openReaderMessage, readerChainOf, TRUST_TYP, type ReaderMessage } from '../../reader/upload.ts';
import type { ReaderEvent } from '../../reader/events.ts';

/** Refusals that point at an attack or a forgery, as opposed to ordinary denials and lost links. */
export function isAlert(e: Pick<ReaderEvent, 'allow' | 'reason' | 'by'>): boolean {
  if (e.allow) return false;
  if (e.reason === 'HOLDER_PROOF_INVALID' || e.reason === 'CREDENTIAL_INVALID') return true;
  const benign = ['TAP_TIMEOUT', 'TAP_TRANSPORT_CLOSED', 'TAP_NO_MATCHING_CREDENTIAL', 'TAP_DECLINED', 'TAP_USER_VERIFICATION_REQUIRED', 'TAP_FRAME_TRUNCATED'];
  return e.reason.startsWith('TAP_') && !benign.includes(e.reason);
}

export interface ReaderIngestDeps {
  readonly store: Store;
  readonly audit: AuditSink;
  readonly clock: Clock;
  readonly pki: { authenticateClient(der: Uint8Array | undefined): Promise<ClientIdentity> };
  readonly credentials: {
    readonly trustLists: { current(): Promise<{ token: Uint8Array }> };
    readonly statusLists: { publish(listId: string): Promise<{ token: Uint8Array }> };
  };
  /** How far a message's iat may be from the server clock (default 600 s). */
  readonly maxSkewSeconds?: number;
}

export interface ReaderInfo {
  tenant: string;
  id: string;
  site: string;
  profile: string;
  firstSeen: number;
  lastSeen: number;
  lastUploadAt: number | null;
  lastSeq: number;
  events: number;
  granted: number;
  denied: number;
  alerts: number;
}

export interface ReaderEventInfo {
  seq: number;
  at: number;
  receivedAt: number;
  site: string;
  allow: boolean;
  reason: string;
  code: string | null;
  by: string;
  resource: string | null;
  zones: string[] | null;
  credentialId: string | null;
  issuer: string | null;
  statusStale: boolean;
  session: string | null;
  alert: boolean;
}

interface Authenticated {
  readonly tenant: string;
  readonly site: string;
  readonly profile: string;
  readonly message: ReaderMessage;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class ReaderIngest {
  readonly #d: ReaderIngestDeps;
  /** Refusals by tenant and reason for the dashboard (stats()), once seeded; undefined before. */
  #denials: Map<string, Map<string, number>> | undefined;
  /** Uploads between their transaction's start and their count. */
  #ingesting = 0;
  /** Seeds under way, and whether an upload overlapped one. */
  #seeding = 0;
  #seedDirty = false;

  constructor(deps: ReaderIngestDeps) {
    this.#d = deps;
  }

  /** Who signed `bytes`: the reader `id` with a current certificate of ours, or READER_UPLOAD_UNAUTHENTICATED. */
  async #authenticate(id: string, bytes: Uint8Array, typ: typeof EVENTS_TYP | typeof TRUST_TYP): Promise<Authenticated> {
    if (!ID.test(id)) throw new CityTrustError('READER_NOT_FOUND', 'no such reader');
    const leaf = readerChainOf(bytes)[0] as Uint8Array;
    let who: ClientIdentity;
    try {
      who = await this.#d.pki.authenticateClient(leaf);
    } catch (e) {
      throw new CityTrustError('READER_UPLOAD_UNAUTHENTICATED', 'the certificate is not a current reader certificate of this city', { cause: e, ...(isCityTrustError(e) && { details: { reason: e.code } }) });
    }
    if ((who.profile !== 'reader' && who.profile !== 'gate') || who.deviceId !== id || who.tenant === null) {
      throw new CityTrustError('READER_UPLOAD_UNAUTHENTICATED', 'the certificate belongs to another device or is not a reader certificate');
    }
    const key = coseVerifierKey('ES256', importSpkiPublicKey('P-256', parseCertificate(leaf).spkiDer));
    const message = openReaderMessage(bytes, key, typ);
    if (message.readerId !== id || message.tenant !== who.tenant) throw new CityTrustError('READER_UPLOAD_UNAUTHENTICATED', 'the message names another reader than its certificate');
    const skew = this.#d.maxSkewSeconds ?? 600;
    if (Math.abs(message.iat - Math.floor(this.#d.clock.now() / 1000)) > skew) throw new CityTrustError('READER_UPLOAD_STALE', `the message was signed more than ${skew} s from the server time`);
    return { tenant: who.tenant, site: who.device?.site ?? '', profile: who.profile, message };
  }

  /** Stores a signed batch: new events once each, counters, audit. Idempotent for a re-upload. */
  async ingest(id: string, bytes: Uint8Array): Promise<{ accepted: number; duplicates: number; lastSeq: number }> {
    const a = await this.#authenticate(id, bytes, EVENTS_TYP);
    const events = a.message.events as ReaderEvent[];
    const instance = a.message.instance as string;
    const now = this.#d.clock.now();
    const hash = sha256(bytes);
    const seqs = events.map((e) => e.seq);
    if (new Set(seqs).size !== seqs.length) throw new CityTrustError('READER_UPLOAD_INVALID', 'a batch repeats a sequence number');
    const lastSeq = Math.max(...seqs);
    this.#ingesting += 1;
    if (this.#seeding) this.#seedDirty = true;
    let counted = false;
    try {
    const fresh = await this.#d.store.transaction(async (trx) => {
      // Insert-or-ignore, and count what was actually inserted: two uploads of the same events racing
      // (a retry while the first is in flight, two server instances) store and count each event once.
      const inserted = new Set<number>();
      for (let i = 0; i < events.length; i += 200) {
        const rows = await trx
          .insertInto('reader_events')
          .values(
            events.slice(i, i + 200).map((e) => ({
              tenant_id: a.tenant,
              reader_id: id,
              instance,
              seq: e.seq,
              at: e.at,
              received_at: now,
              site: e.site,
              allow: e.allow ? 1 : 0,
              reason: e.reason,
              code: e.code ?? null,
              by_party: e.by,
              resource: e.resource ?? null,
              zones: e.zones ? JSON.stringify(e.zones) : null,
              credential_id: e.credentialId ?? null,
              issuer: e.issuer ?? null,
              status_stale: e.statusStale ? 1 : 0,
              session: e.session ?? null,
              batch_hash: hash,
            })),
          )
          .onConflict((oc) => oc.columns(['tenant_id', 'reader_id', 'instance', 'seq']).doNothing())
          .returning('seq')
          .execute();
        for (const r of rows) inserted.add(Number(r.seq));
      }
      const add = events.filter((e) => inserted.has(e.seq));
      if (add.length > 0) {
        await trx
          .insertInto('reader_event_batches')
          .values({ hash, tenant_id: a.tenant, reader_id: id, signed: bytes, first_seq: Math.min(...seqs), last_seq: lastSeq, count: add.length, received_at: now })
          .onConflict((oc) => oc.column('hash').doNothing())
          .execute();
      }
      const granted = add.filter((e) => e.allow).length;
      const alerts = add.filter(isAlert).length;
      await this.#touch(trx, a, id, now, { events: add.length, granted, denied: add.length - granted, alerts, lastSeq, upload: true });
      return add;
    });
    this.#countDenials(a.tenant, fresh);
    counted = true;
    if (fresh.length > 0) {
      const granted = fresh.filter((e) => e.allow).length;
      await this.#d.audit.append({
        actor: `device:${a.tenant}/${id}`,
        tenant: a.tenant,
        action: 'reader.events.upload',
        subject: id,
        details: { batch: Buffer.from(hash).toString('hex'), events: fresh.length, firstSeq: Math.min(...fresh.map((e) => e.seq)), lastSeq, granted, denied: fresh.length - granted },
      });
      for (const e of fresh.filter(isAlert)) {
        await this.#d.audit.append({
          actor: `device:${a.tenant}/${id}`,
          tenant: a.tenant,
          action: 'reader.tap.alert',
          subject: id,
          details: { seq: e.seq, at: e.at, reason: e.reason, code: e.code ?? null, by: e.by, session: e.session ?? null },
        });
      }
    }
    return { accepted: fresh.length, duplicates: events.length - fresh.length, lastSeq };
    } finally {
      if (!counted) this.#ingesting -= 1;
    }
  }

  /** After a commit: the new refusals go into the in-memory counters (see stats()). */
  #countDenials(tenant: string, fresh: readonly ReaderEvent[]): void {
    this.#ingesting -= 1;
    if (this.#seeding) this.#seedDirty = true;
    const counts = this.#denials;
    if (counts === undefined) return;
    let t = counts.get(tenant);
    if (!t) counts.set(tenant, (t = new Map()));
    for (const e of fresh) if (!e.allow) t.set(e.reason, (t.get(e.reason) ?? 0) + 1);
  }

  /** Refusals by tenant and reason, straight from the table. */
  async #denialsFromTable(scope: string | undefined, tenant: string | undefined): Promise<Map<string, Map<string, number>>> {
    let q = this.#d.store.db.selectFrom('reader_events').select(['tenant_id', 'reason', (eb) => eb.fn.countAll<number>().as('n')]).where('allow', '=', 0);
    if (scope !== undefined) q = q.where('tenant_id', '=', scope);
    if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
    const out = new Map<string, Map<string, number>>();
    for (const r of await q.groupBy(['tenant_id', 'reason']).execute()) {
      let t = out.get(r.tenant_id);
      if (!t) out.set(r.tenant_id, (t = new Map()));
      t.set(r.reason, Number(r.n));
    }
    return out;
  }

  /**
   * The refusal counters: read from the table once (all tenants), then kept on ingest. A seed that
   * overlapped an upload is not kept (it may or may not hold that upload's rows): that call answers
   * from its own query, and the next call seeds again.
   */
  async #denialCounts(scope: string | undefined, tenant: string | undefined): Promise<Map<string, Map<string, number>>> {
    if (this.#denials) return this.#denials;
    // The counters see only this instance's uploads: on PostgreSQL several instances may share the
    // events table, so there every call answers from the table (an embedded SQLite store has one server).
    if (this.#d.store.dialect !== 'sqlite') return this.#denialsFromTable(scope, tenant);
    this.#seeding += 1;
    this.#seedDirty = (this.#seeding > 1 && this.#seedDirty) || this.#ingesting > 0;
    try {
      const all = await this.#denialsFromTable(undefined, undefined);
      if (!this.#seedDirty && this.#ingesting === 0) this.#denials ??= all;
      return this.#denials ?? (await this.#denialsFromTable(scope, tenant));
    } finally {
      this.#seeding -= 1;
    }
  }

  async #touch(
    trx: Parameters<Parameters<Store['transaction']>[0]>[0],
    a: Authenticated,
    id: string,
    now: number,
    c: { events: number; granted: number; denied: number; alerts: number; lastSeq: number; upload: boolean },
  ): Promise<void> {
    // Insert-or-ignore, then add: concurrent first uploads of a reader create one row.
    await trx
      .insertInto('readers')
      .values({ tenant_id: a.tenant, id, site: a.site, profile: a.profile, first_seen: now, last_seen: now, last_upload_at: null, last_seq: 0, events_total: 0, granted_total: 0, denied_total: 0, alerts_total: 0 })
      .onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing())
      .execute();
    await trx
      .updateTable('readers')
      .set((eb) => ({
        site: a.site,
        profile: a.profile,
        last_seen: now,
        ...(c.upload && { last_upload_at: now }),
        last_seq: eb.case().when('last_seq', '<', c.lastSeq).then(c.lastSeq).else(eb.ref('last_seq')).end(),
        events_total: eb('events_total', '+', c.events),
        granted_total: eb('granted_total', '+', c.granted),
        denied_total: eb('denied_total', '+', c.denied),
        alerts_total: eb('alerts_total', '+', c.alerts),
      }))
      .where('tenant_id', '=', a.tenant)
      .where('id', '=', id)
      .execute();
  }

  /** The trust list and the current status lists of the tenants the reader accepts. */
  async trustBundle(id: string, bytes: Uint8Array): Promise<{ trustList: Uint8Array; statusLists: Uint8Array[] }> {
    const a = await this.#authenticate(id, bytes, TRUST_TYP);
    const tenants = a.message.tenants as string[];
    const lists = tenants.length === 0 ? [] : await this.#d.store.db.selectFrom('status_lists').select('id').where('tenant_id', 'in', tenants).orderBy('id').limit(256).execute();
    const trustList = (await this.#d.credentials.trustLists.current()).token;
    const statusLists: Uint8Array[] = [];
    for (const l of lists) statusLists.push((await this.#d.credentials.statusLists.publish(l.id)).token);
    await this.#d.store.transaction((trx) => this.#touch(trx, a, id, this.#d.clock.now(), { events: 0, granted: 0, denied: 0, alerts: 0, lastSeq: 0, upload: false }));
    return { trustList, statusLists };
  }

  async list(scope: string | undefined, tenant?: string): Promise<ReaderInfo[]> {
    let q = this.#d.store.db.selectFrom('readers').selectAll();
    if (scope !== undefined) q = q.where('tenant_id', '=', scope);
    if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
    const rows = await q.orderBy('tenant_id').orderBy('id').limit(1000).execute();
    return rows.map((r) => ({
      tenant: r.tenant_id,
      id: r.id,
      site: r.site,
      profile: r.profile,
      firstSeen: Number(r.first_seen),
      lastSeen: Number(r.last_seen),
      lastUploadAt: r.last_upload_at === null ? null : Number(r.last_upload_at),
      lastSeq: Number(r.last_seq),
      events: Number(r.events_total),
      granted: Number(r.granted_total),
      denied: Number(r.denied_total),
      alerts: Number(r.alerts_total),
    }));
  }

  /** Events of one reader, oldest first after `after` (a sequence number). A foreign reader answers READER_NOT_FOUND. */
  async events(scope: string | undefined, tenant: string, id: string, o: { after?: number; limit?: number } = {}): Promise<ReaderEventInfo[]> {
    if (scope !== undefined && scope !== tenant) throw new CityTrustError('READER_NOT_FOUND', 'no such reader');
    const reader = await this.#d.store.db.selectFrom('readers').select('id').where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    if (!reader) throw new CityTrustError('READER_NOT_FOUND', 'no such reader');
    const rows = await this.#d.store.db
      .selectFrom('reader_events')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('reader_id', '=', id)
      .where('seq', '>', o.after ?? 0)
      .orderBy('received_at')
      .orderBy('seq')
      .limit(Math.min(o.limit ?? 100, 1000))
      .execute();
    return rows.map((r) => {
      const e = { allow: r.allow === 1, reason: r.reason, by: r.by_party };
      return {
        seq: Number(r.seq),
        at: Number(r.at),
        receivedAt: Number(r.received_at),
        site: r.site,
        allow: e.allow,
        reason: r.reason,
        code: r.code,
        by: r.by_party,
        resource: r.resource,
        zones: r.zones === null ? null : (JSON.parse(r.zones) as string[]),
        credentialId: r.credential_id,
        issuer: r.issuer,
        statusStale: r.status_stale === 1,
        session: r.session,
        alert: isAlert(e as Pick<ReaderEvent, 'allow' | 'reason' | 'by'>),
      };
    });
  }

  /** Dashboard counters: totals over the readers in scope, and refusals by reason. */
  async stats(scope: string | undefined, tenant?: string): Promise<{ readers: number; events: number; granted: number; denied: number; alerts: number; byReason: Record<string, number> }> {
    const readers = await this.list(scope, tenant);
    const byReason = new Map<string, number>();
    for (const [t, reasons] of await this.#denialCounts(scope, tenant)) {
      if ((scope !== undefined && t !== scope) || (tenant !== undefined && t !== tenant)) continue;
      for (const [reason, n] of reasons) byReason.set(reason, (byReason.get(reason) ?? 0) + n);
    }
    return {
      readers: readers.length,
      events: readers.reduce((n, r) => n + r.events, 0),
      granted: readers.reduce((n, r) => n + r.granted, 0),
      denied: readers.reduce((n, r) => n + r.denied, 0),
      alerts: readers.reduce((n, r) => n + r.alerts, 0),
      byReason: Object.fromEntries([...byReason].filter(([, n]) => n > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    };
  }
}
