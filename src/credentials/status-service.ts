/**
 * Status lists on the server: random index allocation, the published Status List Token, and
 * change notifications for online readers (docs/status-list.md).
 *
 * The list is a view of the credentials table: its bits are rebuilt from the rows whose status is
 * not active, so a status change and its list can never disagree. Each change bumps the list's
 * version; the next GET signs a new token (a few ms), so a revocation is visible at once, well
 * within the 1 s the design asks. Listeners (the SSE endpoint) hear of every new version, from
 * this instance at once and from other instances through a poll of the versions (every 250 ms
 * while anyone listens).
 */
import { createHash, randomBytes } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';
import { createStatusListToken, StatusList, statusUri, STATUS } from './status-list.ts';
import type { IssuerKeys } from './issuer-keys.ts';
import { StatusSlots } from './status-slots.ts';
import { seconds, settingsOf, type CredentialDeps, type CredentialSettings } from './settings.ts';

export const STATUS_BITS = 2;
const LIST_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export interface StatusChange {
  readonly list: string;
  readonly version: number;
}

/** The trust list changed (an issuer key created, rotated or retired, a new root certificate): `version` names the new state. */
export interface TrustChange {
  readonly trust: string;
}

/** A slot reserved for one credential on a tenant's open list. */
export interface StatusSlot {
  readonly list: { readonly id: string; readonly size: number };
  readonly idx: number;
}

export interface PublishedStatusList {
  readonly list: string;
  readonly version: number;
  readonly token: Uint8Array;
  readonly ttl: number;
}

function newListId(): string {
  // 10 base32 characters (50 random bits): short in every credential, unguessable enough to list.
  return Array.from(randomBytes(10), (b) => LIST_ID_ALPHABET[b & 31]).join('');
}

export class StatusLists {
  readonly #deps: CredentialDeps;
  readonly #keys: IssuerKeys;
  readonly #settings: CredentialSettings;
  readonly #open = new Map<string, Promise<{ id: string; size: number }>>();
  readonly #slots = new Map<string, Promise<StatusSlots>>();
  /** Lists the database counts as full (other instances allocate from them too). */
  readonly #full = new Set<string>();
  readonly #tokens = new Map<string, { version: number; at: number; token: Promise<Uint8Array> }>();
  readonly #listeners = new Set<(c: StatusChange) => void>();
  readonly #trustListeners = new Set<(c: TrustChange) => void>();
  #trustVersion: string | undefined;
  readonly #seen = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  #since = 0;

  constructor(deps: CredentialDeps, keys: IssuerKeys) {
    this.#deps = deps;
    this.#keys = keys;
    this.#settings = settingsOf(deps);
  }

  /** The tenant's list that takes new credentials, created when there is none. */
  openList(tenant: string): Promise<{ id: string; size: number }> {
    let p = this.#open.get(tenant);
    if (!p) {
      p = this.#findOrCreate(tenant).catch((e: unknown) => {
        this.#open.delete(tenant);
        throw e;
      });
      this.#open.set(tenant, p);
    }
    return p;
  }

  async #findOrCreate(tenant: string): Promise<{ id: string; size: number }> {
    const { store, clock } = this.#deps;
    const row = await store.db.selectFrom('status_lists').select(['id', 'size']).where('tenant_id', '=', tenant).where('state', '=', 'open').orderBy('created_at', 'desc').executeTakeFirst();
    if (row) return { id: row.id, size: Number(row.size) };
    const id = newListId();
    const size = this.#settings.statusListSize;
    await store.db.insertInto('status_lists').values({ id, tenant_id: tenant, bits: STATUS_BITS, size, allocated: 0, version: 0, state: 'open', created_at: clock.now(), updated_at: clock.now() }).execute();
    await this.#deps.audit.append({ actor: 'system:credentials', tenant, action: 'credentials.status_list.create', subject: id, details: { size, bits: STATUS_BITS } });
    return { id, size };
  }

  /**
   * A uniformly random free slot on the tenant's open list, reserved in memory (./status-slots.ts).
   * The credential row that uses it is written in the issuing transaction; give the slot back
   * with `release` when that never happens. A slot another instance took first stays marked.
   */
  async reserve(tenant: string): Promise<StatusSlot> {
    for (;;) {
      const open = this.openList(tenant);
      const list = await open;
      const slots = await this.#slotsOf(list);
      if (!this.#full.has(list.id) && slots.taken < this.#limit(list.size)) return { list, idx: slots.take() };
      await this.#close(tenant, list.id, open);
    }
  }

  /** Entries a list of `size` takes before it counts as full (at least one). */
  #limit(size: number): number {
    return Math.max(1, Math.floor(size * this.#settings.statusListFill));
  }

  /** Gives back a reserved slot whose credential was not stored. */
  release(slot: StatusSlot): void {
    void this.#slots.get(slot.list.id)?.then((s) => s.release(slot.idx));
  }

  /** Loads the taken indices of a list once; afterwards this instance tracks them in memory. */
  #slotsOf(list: { id: string; size: number }): Promise<StatusSlots> {
    let p = this.#slots.get(list.id);
    if (!p) {
      p = (async () => {
        const rows = await this.#deps.store.db.selectFrom('credentials').select('status_idx').where('status_list_id', '=', list.id).execute();
        return new StatusSlots(list.size, rows.map((r) => Number(r.status_idx)));
      })();
      p.catch(() => this.#slots.delete(list.id));
      this.#slots.set(list.id, p);
    }
    return p;
  }

  /** A list at its fill limit takes no more credentials; the next reservation opens a new one. */
  async #close(tenant: string, listId: string, open: Promise<unknown>): Promise<void> {
    await this.#deps.store.db.updateTable('status_lists').set({ state: 'full' }).where('id', '=', listId).where('state', '=', 'open').execute();
    // Only the caller that still sees this list as open forgets it; a newer list stays.
    if (this.#open.get(tenant) === open) this.#open.delete(tenant);
    this.#slots.delete(listId);
    this.#full.delete(listId);
  }

  /** Counts `n` new credentials on a list inside the issuing transaction; a list past its fill stops taking more. */
  async allocated(trx: Transaction<Database>, listId: string, n: number): Promise<void> {
    const r = await trx
      .updateTable('status_lists')
      .set((eb) => ({ allocated: eb('allocated', '+', n) }))
      .where('id', '=', listId)
      .returning(['allocated', 'size'])
      .executeTakeFirstOrThrow();
    if (Number(r.allocated) >= this.#limit(Number(r.size))) {
      await trx.updateTable('status_lists').set({ state: 'full' }).where('id', '=', listId).execute();
      this.#full.add(listId);
    }
  }

  /** Records that a credential on `listId` changed status (inside the same transaction). */
  async changed(trx: Transaction<Database>, listId: string): Promise<number> {
    const r = await trx
      .updateTable('status_lists')
      .set((eb) => ({ version: eb('version', '+', 1), updated_at: this.#deps.clock.now() }))
      .where('id', '=', listId)
      .returning('version')
      .executeTakeFirstOrThrow();
    return Number(r.version);
  }

  /** Tells listeners of this instance; called after the transaction committed. */
  notify(change: StatusChange): void {
    this.#seen.set(change.list, Math.max(this.#seen.get(change.list) ?? 0, change.version));
    for (const l of this.#listeners) l(change);
  }

  /** The signed token of a list at its current version; re-signed when the version moved or half the ttl passed. */
  async publish(listId: string): Promise<PublishedStatusList> {
    const { store, clock } = this.#deps;
    if (typeof listId !== 'string' || !/^[a-z0-9]{4,32}$/.test(listId)) throw new CityTrustError('STATUS_LIST_NOT_FOUND', 'no such status list');
    const row = await store.db.selectFrom('status_lists').select(['tenant_id', 'size', 'bits', 'version']).where('id', '=', listId).executeTakeFirst();
    if (!row) throw new CityTrustError('STATUS_LIST_NOT_FOUND', 'no such status list');
    const version = Number(row.version);
    const ttl = this.#settings.statusTtlSeconds;
    const cached = this.#tokens.get(listId);
    if (cached && cached.version === version && clock.now() - cached.at < (ttl * 1000) / 2) {
      return { list: listId, version, token: await cached.token, ttl };
    }
    const token = this.#build(listId, row.tenant_id, Number(row.size), Number(row.bits) as 2);
    this.#tokens.set(listId, { version, at: clock.now(), token });
    token.catch(() => this.#tokens.delete(listId));
    return { list: listId, version, token: await token, ttl };
  }

  async #build(listId: string, tenant: string, size: number, bits: 2): Promise<Uint8Array> {
    const rows = await this.#deps.store.db.selectFrom('credentials').select(['status_idx', 'status']).where('status_list_id', '=', listId).where('status', '!=', 'active').execute();
    const list = StatusList.empty(size, bits);
    for (const r of rows) list.set(Number(r.status_idx), r.status === 'revoked' ? STATUS.INVALID : STATUS.SUSPENDED);
    const key = await this.#keys.current(tenant);
    const now = seconds(this.#deps.clock);
    return createStatusListToken({ uri: statusUri(listId), list, iat: now, exp: now + this.#settings.statusTokenSeconds, ttl: this.#settings.statusTtlSeconds }, key.signer, key.kid);
  }

  /** Subscribes to new list versions; returns the unsubscribe function. */
  subscribe(listener: (c: StatusChange) => void): () => void {
    this.#listeners.add(listener);
    this.#startPolling();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#trustListeners.size === 0) this.stop();
    };
  }

  /**
   * Subscribes to trust-list changes (issuer keys and the credential root's certificate, from this
   * instance or another on the same database, seen by the same 250 ms poll); returns the unsubscribe
   * function. Listeners hear only a version name: readers fetch and verify the signed list themselves.
   */
  subscribeTrust(listener: (c: TrustChange) => void): () => void {
    this.#trustListeners.add(listener);
    this.#startPolling();
    return () => {
      this.#trustListeners.delete(listener);
      if (this.#listeners.size === 0 && this.#trustListeners.size === 0) this.stop();
    };
  }

  /** A digest of what the trust list is built from: every issuer key row's state and certificate, and the credential roots. */
  async trustVersion(): Promise<string> {
    const db = this.#deps.store.db;
    const keys = await db.selectFrom('credential_issuer_keys').select(['kid', 'state', 'cert_exp', 'retired_at']).orderBy('kid').execute();
    const roots = await db.selectFrom('credential_roots').select(['id', 'kid']).orderBy('id').execute();
    const h = createHash('sha256');
    for (const k of keys) h.update(`${k.kid}|${k.state}|${Number(k.cert_exp)}|${k.retired_at === null ? '' : Number(k.retired_at)}\n`);
    for (const r of roots) h.update(`${r.id}|${Buffer.from(r.kid).toString('hex')}\n`);
    return h.digest('hex').slice(0, 16);
  }

  async #pollTrust(): Promise<void> {
    if (this.#trustListeners.size === 0) return;
    const v = await this.trustVersion();
    const before = this.#trustVersion;
    this.#trustVersion = v;
    if (before !== undefined && before !== v) for (const l of this.#trustListeners) l({ trust: v });
  }

  #startPolling(): void {
    if (this.#timer) return;
    // The trust version the first poll sees is the baseline, not a change.
    void this.trustVersion().then((v) => (this.#trustVersion ??= v), () => undefined);
    this.#since = this.#deps.clock.now() - 1000;
    this.#timer = setInterval(() => void this.#poll(), 250);
    this.#timer.unref();
  }

  /** Picks up versions made by other server instances on the same database. */
  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const since = this.#since;
      this.#since = this.#deps.clock.now() - 1000;
      const rows = await this.#deps.store.db.selectFrom('status_lists').select(['id', 'version']).where('updated_at', '>=', since).execute();
      for (const r of rows) {
        const v = Number(r.version);
        if ((this.#seen.get(r.id) ?? -1) < v) this.notify({ list: r.id, version: v });
      }
      await this.#pollTrust();
    } catch {
      // A failed poll is retried on the next tick; listeners lose nothing but latency.
    } finally {
      this.#polling = false;
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#trustVersion = undefined;
  }
}
