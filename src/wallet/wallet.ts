/**
 * The holder wallet: one software secure element, a multi-application credential store (a metro
 * ticket, a car key, an event pass and a campus card side by side, each from its own tenant and
 * registration), and the sync client. Everything persists sealed under the storage key.
 *
 * Sync (docs/provisioning.md): nonce → sign [id, nonce, ack] with the registration's SE key →
 * POST sync → open each envelope inside the SE → store it once (by delivery id) → persist →
 * remember the highest sequence; the next sync acks it. A crash anywhere in between makes the
 * server send the same deliveries again, and they are stored once.
 */
import { CityTrustError } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import { bytesEqual, fromBase64Url, toBase64Url, utf8 } from '../core/bytes.ts';
import { decodeCbor, encodeCbor, exportRawPublicKey } from '../crypto/index.ts';
import { credentialId, decodeClaims, decodeProvisioningMessage, openEnvelope, verifyCredential, type CredentialClaims, type CredentialTrust, type ProvisioningMessage, type VerifiedCredential } from '../credentials/device.ts';
import { SealedRecords, type WalletStorage } from './storage.ts';
import { SoftwareSecureElement, type UserVerifier } from './secure-element.ts';

/** What the wallet needs from the server (HTTP in production, the service directly in tests). */
export interface SyncTransport {
  nonce(walletId: string): Promise<{ nonce: string }>;
  sync(walletId: string, body: { nonce: string; ack: number; signature: string }): Promise<{ deliveries: readonly { seq: number; envelope: string }[]; more: boolean }>;
}

export interface Registration {
  readonly tenant: string;
  readonly walletId: string;
  readonly keyAlias: string;
  /** Highest delivery sequence stored durably; acked on the next sync. */
  lastSeq: number;
  readonly deliveries: string[];
}

export interface StoredCredential {
  readonly id: string;
  readonly tenant: string;
  /** base64url of the COSE_Sign1. */
  readonly credential: string;
  status: 'valid' | 'revoked' | 'suspended';
  readonly receivedAt: number;
  readonly product?: string;
  readonly userVerificationSeconds?: number;
}

interface State {
  registrations: Record<string, Registration>;
  credentials: Record<string, StoredCredential>;
}

const STATE = 'wallet-state';

/** HTTP transport over fetch: the server's /v1/wallets/{id}/nonce and /sync. */
export function httpTransport(baseUrl: string, fetchImpl: typeof fetch = fetch): SyncTransport {
  const post = async (path: string, body?: unknown) => {
    const res = await fetchImpl(new URL(path, baseUrl), { method: 'POST', headers: body === undefined ? {} : { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const json = (await res.json()) as { code?: string; message?: string };
    if (!res.ok) throw new CityTrustError((json.code as 'INTERNAL') ?? 'INTERNAL', json.message ?? `HTTP ${res.status}`);
    return json;
  };
  return {
    nonce: async (id) => (await post(`/v1/wallets/${id}/nonce`)) as { nonce: string },
    sync: async (id, body) => (await post(`/v1/wallets/${id}/sync`, body)) as unknown as Awaited<ReturnType<SyncTransport['sync']>>,
  };
}

export class Wallet {
  readonly se: SoftwareSecureElement;
  readonly #records: SealedRecords;
  readonly #clock: Clock;
  #state: State;

  private constructor(se: SoftwareSecureElement, records: SealedRecords, clock: Clock, state: State) {
    this.se = se;
    this.#records = records;
    this.#clock = clock;
    this.#state = state;
  }

  static async open(o: { storage: WalletStorage; storageKey: Uint8Array; clock: Clock; verifyUser: UserVerifier }): Promise<Wallet> {
    const records = new SealedRecords(o.storage, o.storageKey);
    const se = await SoftwareSecureElement.open({ records, clock: o.clock, verifyUser: o.verifyUser });
    const raw = await records.read(STATE);
    const state = raw === undefined ? { registrations: {}, credentials: {} } : (JSON.parse(utf8.decode(raw)) as State);
    return new Wallet(se, records, o.clock, state);
  }

  async #save(): Promise<void> {
    await this.#records.write(STATE, utf8.encode(JSON.stringify(this.#state)));
  }

  /**
   * Step 1 of registering with a tenant: a fresh SE key for this tenant (separate keys keep
   * tenants from linking the holder) and the proof over the server's challenge.
   */
  async registrationProof(tenant: string, challenge: string): Promise<{ publicKey: string; signature: string; keyAlias: string }> {
    const keyAlias = `reg-${tenant}-${this.se.aliases().length}`;
    const point = await this.se.createKey(keyAlias);
    const tbs = encodeCbor(['citytrust/wallet-register/v1', tenant, fromBase64Url(challenge), point]);
    return { publicKey: toBase64Url(point), signature: toBase64Url(await this.se.sign(keyAlias, tbs)), keyAlias };
  }

  /** Step 2: remember the wallet id the server assigned. */
  async completeRegistration(tenant: string, walletId: string, keyAlias: string): Promise<void> {
    this.#state.registrations[walletId] = { tenant, walletId, keyAlias, lastSeq: 0, deliveries: [] };
    await this.#save();
  }

  registrations(): Registration[] {
    return Object.values(this.#state.registrations);
  }

  /** Syncs one registration until the server has nothing more; returns the ids of new or changed credentials. */
  async sync(walletId: string, transport: SyncTransport): Promise<string[]> {
    const reg = this.#state.registrations[walletId];
    if (!reg) throw new CityTrustError('WALLET_NOT_FOUND', 'this wallet is not registered here');
    const changed: string[] = [];
    for (let round = 0; round < 100; round++) {
      const { nonce } = await transport.nonce(walletId);
      const tbs = encodeCbor(['citytrust/wallet-sync/v1', walletId, fromBase64Url(nonce), reg.lastSeq]);
      const signature = toBase64Url(await this.se.sign(reg.keyAlias, tbs));
      const res = await transport.sync(walletId, { nonce, ack: reg.lastSeq, signature });
      // Every delivery is opened and checked before any is applied: a bad one refuses the whole
      // answer with its code and changes nothing. Envelopes are anonymous (ECDH-ES), so whoever
      // relays the sync could seal one to this key; what it may say is held to the registration's
      // tenant — a relay can never touch another application's credentials in this wallet.
      const own = this.se.publicPoint(reg.keyAlias);
      const opened: { seq: number; m: ProvisioningMessage; claims?: CredentialClaims }[] = [];
      for (const d of res.deliveries) {
        if (!Number.isSafeInteger(d.seq) || d.seq <= 0) throw new CityTrustError('INPUT_INVALID', 'a delivery sequence is a positive integer');
        const m = decodeProvisioningMessage(await openEnvelope(fromBase64Url(d.envelope), { walletId, agreement: this.se.agreement(reg.keyAlias) }));
        if (m.tenant !== reg.tenant) throw new CityTrustError('CREDENTIAL_ISSUER_MISMATCH', 'a delivery names another tenant than this registration');
        if (m.kind === 'credential') {
          const claims = decodeClaims(payloadOf(m.credential));
          if (claims.iss !== reg.tenant) throw new CityTrustError('CREDENTIAL_ISSUER_MISMATCH', 'a delivered credential is issued by another tenant than this registration');
          if (!bytesEqual(exportRawPublicKey(claims.holderKey, 'uncompressed'), own)) throw new CityTrustError('CREDENTIAL_HOLDER_MISMATCH', 'a delivered credential is bound to another holder key');
          opened.push({ seq: d.seq, m, claims });
        } else opened.push({ seq: d.seq, m });
      }
      const ours = (id: string): StoredCredential | undefined => {
        const c = this.#state.credentials[id];
        return c !== undefined && c.tenant === reg.tenant ? c : undefined;
      };
      for (const { seq, m, claims } of opened) {
        if (!reg.deliveries.includes(m.deliveryId)) {
          reg.deliveries.push(m.deliveryId);
          if (m.kind === 'credential' && claims !== undefined) {
            const id = credentialId(claims.cti);
            if (ours(id) !== undefined || this.#state.credentials[id] === undefined) {
              this.#state.credentials[id] = {
                id,
                tenant: reg.tenant,
                credential: toBase64Url(m.credential),
                status: 'valid',
                receivedAt: this.#clock.now(),
                ...(claims.grants.product !== undefined && { product: claims.grants.product }),
                ...(claims.grants.userVerificationSeconds !== undefined && { userVerificationSeconds: claims.grants.userVerificationSeconds }),
              };
              if (m.replaces !== undefined && ours(m.replaces) !== undefined) delete this.#state.credentials[m.replaces];
              changed.push(id);
            }
          } else if (m.kind === 'status') {
            const c = ours(m.credentialId);
            if (c !== undefined) {
              c.status = m.status;
              changed.push(m.credentialId);
            }
          }
        }
        reg.lastSeq = Math.max(reg.lastSeq, seq);
      }
      // Persist before the next request acks: an ack must never run ahead of what is stored.
      if (reg.deliveries.length > 1000) reg.deliveries.splice(0, reg.deliveries.length - 1000);
      await this.#save();
      // Stop once a round brought nothing new; the next sync (or this last round) carries the ack.
      if (!res.more && res.deliveries.length === 0) break;
    }
    return [...new Set(changed)];
  }

  /** Every credential, or a tenant's, across all applications. */
  credentials(tenant?: string): StoredCredential[] {
    return Object.values(this.#state.credentials).filter((c) => tenant === undefined || c.tenant === tenant);
  }

  /** Verifies a stored credential against a trust list the wallet fetched. */
  verify(id: string, trust: CredentialTrust): VerifiedCredential {
    const c = this.#state.credentials[id];
    if (!c) throw new CityTrustError('CREDENTIAL_NOT_FOUND', 'no such credential in this wallet');
    return verifyCredential(fromBase64Url(c.credential), { trust, now: this.#clock.now() });
  }

  /**
   * Proof of possession for a presentation (tap): the holder key signs `challenge` under the
   * credential's user-verification policy (grants.userVerificationSeconds).
   */
  async present(id: string, challenge: Uint8Array): Promise<{ credential: Uint8Array; signature: Uint8Array }> {
    const c = this.#state.credentials[id];
    if (!c) throw new CityTrustError('CREDENTIAL_NOT_FOUND', 'no such credential in this wallet');
    if (c.status !== 'valid') throw new CityTrustError('CREDENTIAL_STATE_INVALID', `the credential is ${c.status}`);
    const reg = Object.values(this.#state.registrations).find((r) => r.tenant === c.tenant);
    if (!reg) throw new CityTrustError('WALLET_NOT_FOUND', 'no registration holds this credential');
    const signature = await this.se.sign(reg.keyAlias, challenge, { ...(c.userVerificationSeconds !== undefined && { userVerificationSeconds: c.userVerificationSeconds }), reason: `use ${c.product ?? 'credential'}` });
    return { credential: fromBase64Url(c.credential), signature };
  }
}

/**
 * The claims of a credential that came out of an authenticated envelope from our issuer. Its
 * signature is for readers to check (and verify() with a trust list); here we only file it.
 */
function payloadOf(sign1: Uint8Array): Uint8Array {
  const v = decodeCbor(sign1[0] === 0xd2 ? sign1.subarray(1) : sign1, { maxBytes: 4096, maxDepth: 8, maxItems: 512, allowedTags: [] });
  if (!Array.isArray(v) || !(v[2] instanceof Uint8Array)) throw new CityTrustError('CREDENTIAL_MALFORMED', 'not a COSE_Sign1');
  return v[2];
}
