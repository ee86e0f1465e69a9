/**
 * A software secure element: P-256 keys generated inside it, used only through it (sign, key
 * agreement), never handed out. A user-verification gate (a callback standing for fingerprint,
 * face or PIN) guards signing with a per-use policy such as "verified within the last 30 s".
 * On a phone the same interface is backed by StrongBox/TEE (Android) or the Secure Enclave (iOS);
 * here the keys persist as PKCS#8 inside a record sealed by the storage key (docs/wallet.md).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { utf8 } from '../core/bytes.ts';
import type { Clock } from '../core/clock.ts';
import { createSignature, ecdhSharedSecret, exportRawPublicKey, generateKeyPair, type CoseKeyAgreement } from '../crypto/index.ts';
import type { SealedRecords } from './storage.ts';

/** Asks the holder to verify (biometrics or PIN); resolves true when they did. */
export type UserVerifier = (request: { readonly reason: string; readonly keyAlias: string }) => Promise<boolean>;

export interface SignPolicy {
  /** Require a user verification at most this many seconds old (0 = verify for this use). Absent: no gate. */
  readonly userVerificationSeconds?: number;
  readonly reason?: string;
}

const ALIAS = /^[a-z0-9._-]{1,64}$/;
const RECORD = 'se-keys';

export class SoftwareSecureElement {
  readonly #keys = new Map<string, KeyObject>();
  readonly #records: SealedRecords;
  readonly #clock: Clock;
  readonly #verifyUser: UserVerifier;
  #lastVerifiedAt = -Infinity;

  private constructor(records: SealedRecords, clock: Clock, verifyUser: UserVerifier) {
    this.#records = records;
    this.#clock = clock;
    this.#verifyUser = verifyUser;
  }

  static async open(o: { records: SealedRecords; clock: Clock; verifyUser: UserVerifier }): Promise<SoftwareSecureElement> {
    const se = new SoftwareSecureElement(o.records, o.clock, o.verifyUser);
    const raw = await o.records.read(RECORD);
    if (raw !== undefined) {
      const stored = JSON.parse(utf8.decode(raw)) as Record<string, string>;
      for (const [alias, pkcs8] of Object.entries(stored)) se.#keys.set(alias, createPrivateKey({ key: Buffer.from(pkcs8, 'base64'), format: 'der', type: 'pkcs8' }));
    }
    return se;
  }

  async #persist(): Promise<void> {
    const out: Record<string, string> = {};
    for (const [alias, k] of this.#keys) out[alias] = k.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    await this.#records.write(RECORD, utf8.encode(JSON.stringify(out)));
  }

  /** Generates a key inside the element; returns its public point (SEC 1, uncompressed). */
  async createKey(alias: string): Promise<Uint8Array> {
    if (!ALIAS.test(alias)) throw new CityTrustError('INPUT_INVALID', 'key alias is 1..64 of a-z, 0-9, ._-');
    if (this.#keys.has(alias)) throw new CityTrustError('CONFLICT', 'a key with this alias exists');
    this.#keys.set(alias, generateKeyPair('P-256').privateKey);
    await this.#persist();
    return this.publicPoint(alias);
  }

  #key(alias: string): KeyObject {
    const k = this.#keys.get(alias);
    if (!k) throw new CityTrustError('WALLET_KEY_NOT_FOUND', 'no key under this alias');
    return k;
  }

  publicKey(alias: string): KeyObject {
    return createPublicKey(this.#key(alias));
  }

  publicPoint(alias: string): Uint8Array {
    return exportRawPublicKey(this.publicKey(alias), 'uncompressed');
  }

  /** Runs the user-verification gate now, whatever the policy. */
  async verifyUser(reason: string, keyAlias: string): Promise<void> {
    const ok = await this.#verifyUser({ reason, keyAlias });
    if (ok !== true) throw new CityTrustError('WALLET_USER_VERIFICATION_REQUIRED', 'the holder did not verify');
    this.#lastVerifiedAt = this.#clock.now();
  }

  /** ES256 (r ‖ s) over `data`, after the gate when the policy asks for it. */
  async sign(alias: string, data: Uint8Array, policy: SignPolicy = {}): Promise<Uint8Array> {
    const key = this.#key(alias);
    const max = policy.userVerificationSeconds;
    if (max !== undefined) {
      const fresh = max > 0 && this.#clock.now() - this.#lastVerifiedAt <= max * 1000;
      if (!fresh) await this.verifyUser(policy.reason ?? 'use a credential', alias);
    }
    return createSignature('ES256', key, data, 'raw');
  }

  /** ECDH inside the element, for opening provisioning envelopes (the secret is wiped by the caller's KDF). */
  agreement(alias: string): CoseKeyAgreement {
    const key = this.#key(alias);
    return { curve: 'P-256', deriveSecret: (peer) => ecdhSharedSecret(key, peer) };
  }

  aliases(): string[] {
    return [...this.#keys.keys()];
  }
}
