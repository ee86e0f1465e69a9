/**
 * What ingest keeps in memory per meter: the stored state plausibility compares against, the
 * last counters (with the digests of recent frames, to tell a redelivery from a replay) and
 * the session keys of its key epochs, re-derived through the vault after a restart. Loaded on
 * first use, evicted least-recently-used; the database stays the authority.
 */
import type { webcrypto, KeyObject } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { fromHex, toHex } from '../core/bytes.ts';
import { importSpkiPublicKey } from '../crypto/index.ts';
import type { Store } from '../store/db.ts';
import type { KeyVault } from '../vault/types.ts';
import type { MeteringKeys } from './keys.ts';
import { meteringCaller } from './keys.ts';
import type { MeterClass } from './plausibility.ts';
import { KDF_SALT, SESSION_KEY_LENGTH, kdfInfo, sessionKeyObject } from './suite.ts';

export interface Epoch {
  readonly keyId: Uint8Array;
  readonly sessionKey: KeyObject;
  /** The certificate key as a WebCrypto key: verification runs on the libuv pool, off the event loop. */
  readonly verifyKey: webcrypto.CryptoKey;
  /** The same key for the worker pool (src/metering/verify-pool.ts). */
  readonly publicKey: KeyObject;
  readonly serial: string;
  readonly spki: Uint8Array;
  readonly notAfter: number;
  readonly ephemeralPublic: Uint8Array;
  readonly kaKeyId: string;
  readonly counter: number;
}

export interface MeterEntry {
  readonly tenant: string;
  readonly id: string;
  readonly cls: MeterClass;
  readonly systemTitle: Uint8Array;
  lastCounter: number;
  lastTime: number | null;
  lastImport: number | null;
  lastExport: number | null;
  relay: 'connected' | 'disconnected' | 'unknown';
  /** Digest and arrival of the most recent frames by counter. */
  readonly recent: Map<number, { digest: Uint8Array; at: number }>;
  readonly epochs: Map<string, Promise<Epoch | undefined>>;
}

const RECENT = 64;

export function remember(e: MeterEntry, counter: number, digest: Uint8Array, at: number): void {
  e.recent.set(counter, { digest, at });
  if (e.recent.size > RECENT) {
    const oldest = e.recent.keys().next().value;
    if (oldest !== undefined) e.recent.delete(oldest);
  }
}

export async function toVerifyKey(spki: Uint8Array): Promise<webcrypto.CryptoKey> {
  return importSpkiPublicKey('P-256', spki).toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
}

export class MeterCache {
  readonly #store: Store;
  readonly #vault: KeyVault;
  readonly #keys: MeteringKeys;
  readonly #max: number;
  readonly #entries = new Map<string, Promise<MeterEntry | undefined>>();

  constructor(deps: { store: Store; vault: KeyVault; keys: MeteringKeys; maxEntries: number }) {
    this.#store = deps.store;
    this.#vault = deps.vault;
    this.#keys = deps.keys;
    this.#max = deps.maxEntries;
  }

  get(tenant: string, id: string): Promise<MeterEntry | undefined> {
    const k = `${tenant}/${id}`;
    let p = this.#entries.get(k);
    if (p) {
      // LRU: move to the back.
      this.#entries.delete(k);
      this.#entries.set(k, p);
      return p;
    }
    p = this.#load(tenant, id);
    this.#entries.set(k, p);
    p.then((e) => e === undefined && this.#entries.get(k) === p && this.#entries.delete(k)).catch(() => this.#entries.delete(k));
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return p;
  }

  /** Forget a meter (after a failed commit its in-memory state may be ahead of the database). */
  evict(tenant: string, id: string): void {
    this.#entries.delete(`${tenant}/${id}`);
  }

  async #load(tenant: string, id: string): Promise<MeterEntry | undefined> {
    const r = await this.#store.db.selectFrom('meters').select(['class', 'system_title', 'last_counter', 'last_time', 'last_import', 'last_export', 'relay']).where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    if (!r) return undefined;
    const n = (v: number | null) => (v === null ? null : Number(v));
    return {
      tenant,
      id,
      cls: r.class as MeterClass,
      systemTitle: new Uint8Array(r.system_title),
      lastCounter: Number(r.last_counter),
      lastTime: n(r.last_time),
      lastImport: n(r.last_import),
      lastExport: n(r.last_export),
      relay: r.relay,
      recent: new Map(),
      epochs: new Map(),
    };
  }

  /** The epoch of a key id: from memory, or re-derived from its stored row; undefined if never established. */
  epoch(e: MeterEntry, keyId: Uint8Array): Promise<Epoch | undefined> {
    const k = toHex(keyId);
    let p = e.epochs.get(k);
    if (!p) {
      p = this.#loadEpoch(e, keyId);
      e.epochs.set(k, p);
      p.then((x) => x === undefined && e.epochs.get(k) === p && e.epochs.delete(k)).catch(() => e.epochs.delete(k));
    }
    return p;
  }

  installEpoch(e: MeterEntry, epoch: Epoch): void {
    e.epochs.set(toHex(epoch.keyId), Promise.resolve(epoch));
  }

  async #loadEpoch(e: MeterEntry, keyId: Uint8Array): Promise<Epoch | undefined> {
    const r = await this.#store.db.selectFrom('meter_key_epochs').selectAll().where('tenant_id', '=', e.tenant).where('meter_id', '=', e.id).where('key_id', '=', keyId).executeTakeFirst();
    if (!r) return undefined;
    const spki = new Uint8Array(r.cert_spki);
    const ephemeralPublic = new Uint8Array(r.ephemeral_public);
    const sessionKey = await this.deriveSessionKey(e.tenant, e.systemTitle, ephemeralPublic, r.ka_key_id);
    return {
      keyId: new Uint8Array(r.key_id),
      sessionKey,
      verifyKey: await toVerifyKey(spki),
      publicKey: importSpkiPublicKey('P-256', spki),
      serial: r.cert_serial,
      spki,
      notAfter: Number(r.cert_not_after),
      ephemeralPublic,
      kaKeyId: r.ka_key_id,
      counter: Number(r.counter),
    };
  }

  /** Head-end side of the agreement: the vault runs ECDH with the tenant's key-agreement key, then HKDF. */
  async deriveSessionKey(tenant: string, systemTitle: Uint8Array, ephemeralPublic: Uint8Array, kaKeyIdHex: string): Promise<KeyObject> {
    const keys = await this.#keys.get(tenant);
    const ids = await this.#keys.keyIds(tenant);
    // A meter that agreed with a key the head-end no longer uses cannot be served; it must re-provision.
    if (ids.keyAgreement !== kaKeyIdHex) throw new CityTrustError('METER_KEY_UNKNOWN', 'the meter agreed with a head-end key that is not current', { details: { reason: 'head-end-key' } });
    const bytes = await this.#vault.deriveKey(meteringCaller(tenant), keys.kaKeyId, { peerPublicKey: ephemeralPublic, salt: KDF_SALT, info: kdfInfo(systemTitle, ephemeralPublic, fromHex(kaKeyIdHex)), length: SESSION_KEY_LENGTH });
    return sessionKeyObject(bytes);
  }
}
