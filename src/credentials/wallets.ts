/**
 * Wallet registry and the sync protocol on the server (docs/wallet.md, docs/provisioning.md).
 *
 * Registration: the wallet signs ["citytrust/wallet-register/v1", tenant, challenge, SE key] with
 * its secure-element key over a fresh server challenge; that proves it holds the key.
 * Sync: the wallet signs ["citytrust/wallet-sync/v1", wallet id, nonce, ack] over a fresh
 * single-use nonce. `ack` is the highest delivery sequence it has stored durably; the server
 * marks everything up to it delivered and answers with every delivery above it. A lost answer or
 * a lost ack only means the same deliveries come again, and the wallet keeps them once (by
 * delivery id): nothing is lost and nothing is duplicated.
 */
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Insertable, Transaction } from 'kysely';
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { bytesEqual, fromBase64Url, toBase64Url } from '../core/bytes.ts';
import { encodeCbor, exportRawPublicKey, importRawPublicKey, sha256, verifySignature } from '../crypto/index.ts';
import type { Database } from '../store/schema.ts';
import { keyIdOf } from './trust.ts';
import { encodeProvisioningMessage, type ProvisioningMessage } from './envelope.ts';
import { SealPool } from './seal-pool.ts';
import { settingsOf, type CredentialDeps, type CredentialSettings } from './settings.ts';

export const WALLET_ID = /^w_[0-9a-f]{24}$/;
export const ATTESTATION_FORMATS = ['none', 'android-key', 'apple-app-attest'] as const;
export type AttestationFormat = (typeof ATTESTATION_FORMATS)[number];
/** Most deliveries in one sync answer; the wallet syncs again while `more` is true. */
export const SYNC_PAGE = 100;
const MAX_OPEN_NONCES = 8;
/** 9 columns a row: well inside SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
const DELIVERY_ROWS_PER_INSERT = 500;

/** A sealed message for a wallet's queue (./issuer.ts). */
export interface Delivery {
  readonly walletId: string;
  readonly tenant: string;
  readonly credentialId: string;
  readonly envelope: Uint8Array;
  readonly deliveryId: string;
  readonly kind: 'credential' | 'status';
}

export interface Wallet {
  readonly id: string;
  readonly tenant: string;
  /** SEC 1 uncompressed point, base64url. */
  readonly publicKey: string;
  readonly kid: string;
  readonly attestationFormat: string;
  readonly label: string;
  readonly state: 'active' | 'inactive';
  readonly pendingDeliveries: number;
  readonly ackedSeq: number;
  readonly createdAt: number;
}

/** What sealing to a wallet needs, cached per wallet for a few seconds (./issuer.ts). */
export interface SealingKey {
  readonly key: KeyObject;
  readonly kid: Uint8Array;
  /** SEC 1 uncompressed point as registered. */
  readonly point: Uint8Array;
}

export interface SyncResult {
  readonly ackedSeq: number;
  readonly deliveries: readonly { readonly seq: number; readonly envelope: string }[];
  readonly more: boolean;
}

/** What the wallet signs to register (its SE key proves possession over the challenge). */
export function registrationToBeSigned(tenant: string, challenge: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return encodeCbor(['citytrust/wallet-register/v1', tenant, challenge, publicKey]);
}

/** What the wallet signs to sync: the ack is inside, so a relay can neither forge nor alter it. */
export function syncToBeSigned(walletId: string, nonce: Uint8Array, ack: number): Uint8Array {
  return encodeCbor(['citytrust/wallet-sync/v1', walletId, nonce, ack]);
}

function b64(field: string, s: unknown, code: 'INPUT_INVALID' | 'WALLET_KEY_INVALID' = 'INPUT_INVALID'): Uint8Array {
  if (typeof s !== 'string' || s.length > 8192) throw new CityTrustError(code, `${field} is base64url`);
  try {
    return fromBase64Url(s);
  } catch (e) {
    throw new CityTrustError(code, `${field} is base64url`, { cause: e });
  }
}

export class Wallets {
  readonly #deps: CredentialDeps;
  readonly #settings: CredentialSettings;
  readonly #keyCache = new Map<string, { at: number; tenant: string; value: SealingKey }>();
  readonly #keyLoads = new Map<string, Promise<SealingKey>>();
  readonly #sealer: SealPool;

  /** `sealer` seals envelopes (a worker pool); by default they are sealed inline. */
  constructor(deps: CredentialDeps, sealer: SealPool = new SealPool(0)) {
    this.#deps = deps;
    this.#settings = settingsOf(deps);
    this.#sealer = sealer;
  }

  async createChallenge(tenant: string, actor: string): Promise<{ challengeId: string; challenge: string; expiresAt: number }> {
    const { store, clock } = this.#deps;
    const challenge = new Uint8Array(randomBytes(32));
    const id = `wc_${randomBytes(12).toString('hex')}`;
    const expiresAt = clock.now() + this.#settings.challengeSeconds * 1000;
    await store.db.insertInto('wallet_challenges').values({ id, tenant_id: tenant, wallet_id: null, kind: 'register', challenge, expires_at: expiresAt, used_at: null, created_at: clock.now() }).execute();
    void actor;
    return { challengeId: id, challenge: toBase64Url(challenge), expiresAt };
  }

  async register(tenant: string, input: { challengeId: unknown; publicKey: unknown; signature: unknown; attestation?: unknown; label?: unknown }, actor: string): Promise<Wallet> {
    const { store, clock, audit } = this.#deps;
    const point = b64('publicKey', input.publicKey, 'WALLET_KEY_INVALID');
    let key: KeyObject;
    try {
      key = importRawPublicKey('P-256', point);
    } catch (e) {
      throw new CityTrustError('WALLET_KEY_INVALID', 'the secure-element key is not a P-256 point', { cause: e });
    }
    const signature = b64('signature', input.signature);
    const attestation = attestationOf(input.attestation);
    const label = input.label === undefined ? 'wallet' : input.label;
    if (typeof label !== 'string' || label.length === 0 || label.length > 100) throw new CityTrustError('INPUT_INVALID', 'label is 1..100 characters');
    if (typeof input.challengeId !== 'string' || !/^wc_[0-9a-f]{24}$/.test(input.challengeId)) throw new CityTrustError('WALLET_CHALLENGE_INVALID', 'unknown challenge');
    const ch = await store.db.selectFrom('wallet_challenges').selectAll().where('id', '=', input.challengeId).where('tenant_id', '=', tenant).where('kind', '=', 'register').executeTakeFirst();
    if (!ch || ch.used_at !== null || Number(ch.expires_at) <= clock.now()) throw new CityTrustError('WALLET_CHALLENGE_INVALID', 'the challenge is unknown, used or expired');
    // The key is registered in its canonical (uncompressed) form; the signature covers what the wallet sent.
    if (!verifySignature('ES256', key, registrationToBeSigned(tenant, new Uint8Array(ch.challenge), point), signature, 'raw')) {
      throw new CityTrustError('WALLET_PROOF_INVALID', 'the signature over the challenge does not verify with this key');
    }
    const id = `w_${randomBytes(12).toString('hex')}`;
    const raw = exportRawPublicKey(key, 'uncompressed');
    const kid = keyIdOf(key);
    const now = clock.now();
    await store.transaction(async (trx) => {
      const used = await trx.updateTable('wallet_challenges').set({ used_at: now }).where('id', '=', ch.id).where('used_at', 'is', null).executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1) throw new CityTrustError('WALLET_CHALLENGE_INVALID', 'the challenge was used meanwhile');
      await trx
        .insertInto('wallets')
        .values({ id, tenant_id: tenant, public_key: raw, kid, attestation_format: attestation.format, attestation: attestation.data, label, state: 'active', next_seq: 1, acked_seq: 0, created_at: now })
        .execute();
    });
    await audit.append({ actor, tenant, action: 'wallets.wallet.register', subject: id, details: { kid: Buffer.from(kid).toString('hex'), attestation: attestation.format } });
    return this.get(tenant, id);
  }

  async get(tenant: string | undefined, id: string): Promise<Wallet> {
    if (typeof id !== 'string' || !WALLET_ID.test(id)) throw new CityTrustError('WALLET_NOT_FOUND', 'no such wallet');
    let q = this.#deps.store.db.selectFrom('wallets').selectAll().where('id', '=', id);
    if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
    const r = await q.executeTakeFirst();
    if (!r) throw new CityTrustError('WALLET_NOT_FOUND', 'no such wallet');
    return toWallet(r);
  }

  async list(tenant: string | undefined, opts: { limit?: number } = {}): Promise<Wallet[]> {
    let q = this.#deps.store.db.selectFrom('wallets').selectAll();
    if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
    const rows = await q.orderBy('created_at', 'desc').limit(opts.limit ?? 100).execute();
    return rows.map(toWallet);
  }

  async deactivate(tenant: string | undefined, id: string, actor: string): Promise<Wallet> {
    const w = await this.get(tenant, id);
    await this.#deps.store.db.updateTable('wallets').set({ state: 'inactive' }).where('id', '=', id).execute();
    this.#keyCache.delete(id);
    await this.#deps.audit.append({ actor, tenant: w.tenant, action: 'wallets.wallet.deactivate', subject: id });
    return { ...w, state: 'inactive' };
  }

  /**
   * The wallet's key for sealing, checked active; foreign tenants see WALLET_NOT_FOUND. Cached
   * for a few seconds (keys never change; deactivation is re-checked in every enqueue).
   */
  async sealingKey(tenant: string, id: string): Promise<SealingKey> {
    if (typeof id !== 'string' || !WALLET_ID.test(id)) throw new CityTrustError('WALLET_NOT_FOUND', 'no such wallet');
    const hit = this.#keyCache.get(id);
    const now = this.#deps.clock.now();
    if (hit && hit.tenant === tenant && now - hit.at < 5000) return hit.value;
    // Concurrent issuances to one wallet share one reload instead of each importing the key.
    const key = `${tenant}/${id}`;
    let pending = this.#keyLoads.get(key);
    if (!pending) {
      pending = this.#loadSealingKey(tenant, id, hit?.tenant === tenant ? hit.value : undefined).finally(() => this.#keyLoads.delete(key));
      this.#keyLoads.set(key, pending);
    }
    const value = await pending;
    if (this.#keyCache.size > 10_000) this.#keyCache.clear();
    this.#keyCache.set(id, { at: now, tenant, value });
    return value;
  }

  async #loadSealingKey(tenant: string, id: string, previous: SealingKey | undefined): Promise<SealingKey> {
    const r = await this.#deps.store.db.selectFrom('wallets').select(['public_key', 'kid', 'state']).where('id', '=', id).where('tenant_id', '=', tenant).executeTakeFirst();
    if (!r) throw new CityTrustError('WALLET_NOT_FOUND', 'no such wallet');
    if (r.state !== 'active') throw new CityTrustError('WALLET_INACTIVE', 'the wallet was deactivated');
    const point = new Uint8Array(r.public_key);
    // The same key as before keeps its KeyObject, and with it the encodings cached for it (./claims.ts).
    if (previous && bytesEqual(previous.point, point) && bytesEqual(previous.kid, new Uint8Array(r.kid))) return previous;
    return Object.freeze({ key: importRawPublicKey('P-256', point), kid: new Uint8Array(r.kid), point });
  }

  /** Queues a sealed message inside the caller's transaction; returns its sequence number. */
  async enqueue(trx: Transaction<Database>, o: Delivery): Promise<number> {
    const [seq] = await this.enqueueMany(trx, [o]);
    if (seq === undefined) throw new CityTrustError('WALLET_INACTIVE', 'the wallet was deactivated');
    return seq;
  }

  /** Inside a transaction: true when the wallet is active, and its row is then locked until commit. */
  async lockActive(trx: Transaction<Database>, id: string): Promise<boolean> {
    const r = await trx.updateTable('wallets').set((eb) => ({ next_seq: eb.ref('next_seq') })).where('id', '=', id).where('state', '=', 'active').returning('id').executeTakeFirst();
    return r !== undefined;
  }

  /**
   * Queues many sealed messages inside the caller's transaction: one sequence update per wallet
   * and multi-row inserts. Returns each message's sequence number, or undefined where its wallet
   * was deactivated meanwhile (nothing is queued for it). The state check here, inside the
   * transaction, is what makes cached sealing keys safe.
   */
  async enqueueMany(trx: Transaction<Database>, items: readonly Delivery[]): Promise<(number | undefined)[]> {
    const byWallet = new Map<string, number[]>();
    items.forEach((o, i) => {
      const list = byWallet.get(o.walletId);
      if (list) list.push(i);
      else byWallet.set(o.walletId, [i]);
    });
    const seqs: (number | undefined)[] = new Array<number | undefined>(items.length).fill(undefined);
    const now = this.#deps.clock.now();
    const rows: Insertable<Database['wallet_deliveries']>[] = [];
    for (const [walletId, idx] of byWallet) {
      const r = await trx
        .updateTable('wallets')
        .set((eb) => ({ next_seq: eb('next_seq', '+', idx.length) }))
        .where('id', '=', walletId)
        .where('state', '=', 'active')
        .returning('next_seq')
        .executeTakeFirst();
      if (!r) continue;
      let seq = Number(r.next_seq) - idx.length;
      for (const i of idx) {
        const o = items[i] as Delivery;
        seqs[i] = seq;
        rows.push({ wallet_id: walletId, seq, id: o.deliveryId, tenant_id: o.tenant, credential_id: o.credentialId, kind: o.kind, envelope: o.envelope, created_at: now, delivered_at: null });
        seq++;
      }
    }
    for (let i = 0; i < rows.length; i += DELIVERY_ROWS_PER_INSERT) {
      await trx.insertInto('wallet_deliveries').values(rows.slice(i, i + DELIVERY_ROWS_PER_INSERT)).execute();
    }
    return seqs;
  }

  /** Seals a provisioning message to a wallet key (no state touched; on the seal workers when there are any). */
  seal(walletId: string, key: SealingKey, message: ProvisioningMessage): Promise<Uint8Array> {
    return this.#sealer.seal({ walletId, point: key.point, kid: key.kid, plaintext: encodeProvisioningMessage(message) });
  }

  /** A fresh single-use nonce for the next sync. No bearer token: possession of the SE key is the credential. */
  async nonce(id: string): Promise<{ nonce: string; expiresAt: number }> {
    const { store, clock } = this.#deps;
    const w = await this.get(undefined, id);
    if (w.state !== 'active') throw new CityTrustError('WALLET_INACTIVE', 'the wallet was deactivated');
    const nonce = new Uint8Array(randomBytes(32));
    const now = clock.now();
    const expiresAt = now + this.#settings.nonceSeconds * 1000;
    // Nonces are asked for without authentication, so at most a few are kept per wallet.
    const open = await store.db.selectFrom('wallet_challenges').select(['id', 'expires_at', 'used_at']).where('wallet_id', '=', id).where('kind', '=', 'sync').orderBy('created_at', 'desc').execute();
    const stale = open.filter((o, i) => i >= MAX_OPEN_NONCES - 1 || (o.used_at === null && Number(o.expires_at) <= now)).map((o) => o.id);
    if (stale.length > 0) await store.db.deleteFrom('wallet_challenges').where('id', 'in', stale).execute();
    await store.db
      .insertInto('wallet_challenges')
      .values({ id: `wn_${toHexDigest(nonce)}`, tenant_id: w.tenant, wallet_id: id, kind: 'sync', challenge: nonce, expires_at: expiresAt, used_at: null, created_at: now })
      .execute();
    return { nonce: toBase64Url(nonce), expiresAt };
  }

  /** The wallet's unspent, unexpired nonce (sync and holder statements); spending it is the caller's, in its own write. */
  async #liveNonce(walletId: string, nonce: Uint8Array): Promise<{ id: string }> {
    if (nonce.length !== 32) throw new CityTrustError('WALLET_NONCE_INVALID', 'unknown nonce');
    const row = await this.#deps.store.db.selectFrom('wallet_challenges').select(['id', 'used_at', 'expires_at']).where('id', '=', `wn_${toHexDigest(nonce)}`).where('wallet_id', '=', walletId).executeTakeFirst();
    if (!row) throw new CityTrustError('WALLET_NONCE_INVALID', 'unknown nonce');
    if (row.used_at !== null) throw new CityTrustError('WALLET_SYNC_REPLAYED', 'this nonce was already used');
    if (Number(row.expires_at) <= this.#deps.clock.now()) throw new CityTrustError('WALLET_NONCE_INVALID', 'the nonce has expired');
    return row;
  }

  /**
   * A holder's own statement, outside sync (consent to offers): the wallet signs `toBeSigned(nonce)`
   * with its SE key over a fresh single-use nonce from `nonce()`. The nonce is spent here, so a
   * statement cannot be replayed; a foreign wallet answers like a missing one.
   */
  async verifyHolderStatement(tenant: string, id: string, input: { nonce: unknown; signature: unknown }, toBeSigned: (nonce: Uint8Array) => Uint8Array): Promise<void> {
    const { store, clock } = this.#deps;
    const w = await this.get(tenant, id);
    if (w.state !== 'active') throw new CityTrustError('WALLET_INACTIVE', 'the wallet was deactivated');
    const nonce = b64('nonce', input.nonce);
    const signature = b64('signature', input.signature);
    const row = await this.#liveNonce(id, nonce);
    const key = importRawPublicKey('P-256', fromBase64Url(w.publicKey));
    if (!verifySignature('ES256', key, toBeSigned(nonce), signature, 'raw')) throw new CityTrustError('WALLET_PROOF_INVALID', 'the signature does not verify with the wallet key');
    const used = await store.db.updateTable('wallet_challenges').set({ used_at: clock.now() }).where('id', '=', row.id).where('used_at', 'is', null).executeTakeFirst();
    if (Number(used.numUpdatedRows) !== 1) throw new CityTrustError('WALLET_SYNC_REPLAYED', 'this nonce was already used');
  }

  async sync(id: string, input: { nonce: unknown; ack: unknown; signature: unknown }): Promise<SyncResult> {
    const { store, clock } = this.#deps;
    const w = await this.get(undefined, id);
    if (w.state !== 'active') throw new CityTrustError('WALLET_INACTIVE', 'the wallet was deactivated');
    const nonce = b64('nonce', input.nonce);
    const signature = b64('signature', input.signature);
    const ack = input.ack;
    if (typeof ack !== 'number' || !Number.isSafeInteger(ack) || ack < 0) throw new CityTrustError('INPUT_INVALID', 'ack is a non-negative integer');
    const row = await this.#liveNonce(id, nonce);
    const key = importRawPublicKey('P-256', fromBase64Url(w.publicKey));
    if (!verifySignature('ES256', key, syncToBeSigned(id, nonce, ack), signature, 'raw')) {
      throw new CityTrustError('WALLET_PROOF_INVALID', 'the sync signature does not verify with the wallet key');
    }
    const now = clock.now();
    return store.transaction(async (trx) => {
      const wr = await trx.selectFrom('wallets').select(['next_seq', 'acked_seq']).where('id', '=', id).executeTakeFirstOrThrow();
      if (ack > Number(wr.next_seq) - 1) throw new CityTrustError('WALLET_ACK_INVALID', 'the ack names a delivery that was never sent');
      const used = await trx.updateTable('wallet_challenges').set({ used_at: now }).where('id', '=', row.id).where('used_at', 'is', null).executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1) throw new CityTrustError('WALLET_SYNC_REPLAYED', 'this nonce was already used');
      if (ack > Number(wr.acked_seq)) {
        await trx.updateTable('wallet_deliveries').set({ delivered_at: now }).where('wallet_id', '=', id).where('seq', '<=', ack).where('delivered_at', 'is', null).execute();
        await trx.updateTable('wallets').set({ acked_seq: ack }).where('id', '=', id).execute();
      }
      const rows = await trx.selectFrom('wallet_deliveries').select(['seq', 'envelope']).where('wallet_id', '=', id).where('seq', '>', ack).orderBy('seq').limit(SYNC_PAGE + 1).execute();
      return {
        ackedSeq: Math.max(ack, Number(wr.acked_seq)),
        deliveries: rows.slice(0, SYNC_PAGE).map((r) => ({ seq: Number(r.seq), envelope: toBase64Url(new Uint8Array(r.envelope)) })),
        more: rows.length > SYNC_PAGE,
      };
    });
  }
}

function toHexDigest(nonce: Uint8Array): string {
  // The row id is a hash of the nonce, so the nonce itself is looked up without scanning.
  return Buffer.from(sha256(nonce).subarray(0, 16)).toString('hex');
}

function attestationOf(a: unknown): { format: AttestationFormat; data: Uint8Array | null } {
  if (a === undefined) return { format: 'none', data: null };
  if (a === null || typeof a !== 'object' || Array.isArray(a)) throw new CityTrustError('WALLET_ATTESTATION_INVALID', 'attestation is {format, data}');
  const { format, data } = a as Record<string, unknown>;
  if (typeof format !== 'string' || !(ATTESTATION_FORMATS as readonly string[]).includes(format)) throw new CityTrustError('WALLET_ATTESTATION_INVALID', 'unknown attestation format');
  if (format === 'none') {
    if (data !== undefined) throw new CityTrustError('WALLET_ATTESTATION_INVALID', 'format none carries no data');
    return { format: 'none', data: null };
  }
  try {
    const bytes = b64('attestation.data', data);
    if (bytes.length === 0 || bytes.length > 6144) throw new CityTrustError('WALLET_ATTESTATION_INVALID', 'attestation data is 1..6144 bytes');
    return { format: format as AttestationFormat, data: bytes };
  } catch (e) {
    if (isCityTrustError(e, 'WALLET_ATTESTATION_INVALID')) throw e;
    throw new CityTrustError('WALLET_ATTESTATION_INVALID', 'attestation data is base64url', { cause: e });
  }
}

function toWallet(r: Database['wallets'] extends infer T ? { [K in keyof T]: T[K] } : never): Wallet {
  return {
    id: r.id,
    tenant: r.tenant_id,
    publicKey: toBase64Url(new Uint8Array(r.public_key)),
    kid: Buffer.from(r.kid).toString('hex'),
    attestationFormat: r.attestation_format,
    label: r.label,
    state: r.state,
    pendingDeliveries: Number(r.next_seq) - 1 - Number(r.acked_seq),
    ackedSeq: Number(r.acked_seq),
    createdAt: Number(r.created_at),
  };
}
