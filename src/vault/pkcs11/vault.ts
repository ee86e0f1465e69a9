/**
 * The PKCS#11 backend: keys are token objects in an HSM (SoftHSM2 in tests), generated there and
 * never extractable unless created so. The vault keeps only handles, public keys and metadata in
 * memory; metadata (label, tenant, usages, versions) lives on the token too, as one private
 * CKO_DATA object per key, so several server instances share one HSM consistently at start.
 *
 * Sealing is the token's login: the vault is unsealed while logged in with the user PIN. Backup
 * and restore are the HSM vendor's (key cloning between HSMs of one security domain), so this
 * backend does not implement KeyBackup; neither does it wrap keys out (VAULT_UNSUPPORTED).
 */
import { createHash, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import type { ECDH1, Handle, PKCS11 } from 'pkcs11js';
import type { AuditSink } from '../../audit/types.ts';
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/log.ts';
import { CityTrustError } from '../../core/errors.ts';
import { constantTimeEqual } from '../../core/bytes.ts';
import { ecdsaRawToDer } from '../../crypto/index.ts';
import * as policy from '../policy.ts';
import * as ops from '../ops.ts';
import { UsageMeter, type UseKind } from '../usage.ts';
import type {
  AeadCiphertext,
  CreateKeyOptions,
  DecryptInput,
  DeriveOptions,
  KeyInfo,
  KeyUsage,
  KeyVault,
  ListOptions,
  PublicKeyInfo,
  Signature,
  SignOptions,
  TamperResponsive,
  TamperSource,
  UnwrapOptions,
  VaultCaller,
  VaultStatus,
  VerifyOptions,
} from '../types.ts';
import { pk } from './binding.ts';
import { SessionPool } from './session-pool.ts';
import { APPLICATION, CKM_EDDSA, keyTemplates, metadataTemplate, unwrapEcPoint } from './templates.ts';

export interface Pkcs11VaultOptions {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly library: string;
  /** CKA token label of the token holding citytrust's keys. */
  readonly tokenLabel: string;
  readonly pin: string;
  /** Sessions in the pool, i.e. operations in flight at once (default 4). */
  readonly sessions?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly audit: AuditSink;
  readonly usageFlushMs?: number;
}

interface VersionHandles {
  readonly key: Handle;
  readonly publicHandle?: Handle;
  readonly publicKey?: KeyObject;
  readonly spki?: Uint8Array;
  readonly raw?: Uint8Array;
}

interface Entry {
  info: KeyInfo;
  meta: Handle;
  versions: Map<number, VersionHandles>;
}

const POINT_LENGTH = { 'ec-p256': 65, 'ec-p384': 97, ed25519: 32 } as const;

export class Pkcs11Vault implements KeyVault, TamperResponsive {
  readonly #lib: PKCS11;
  readonly #pool: SessionPool;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #audit: AuditSink;
  readonly #meter: UsageMeter;
  #entries = new Map<string, Entry>();
  #state: 'unsealed' | 'sealed' | 'tampered' = 'unsealed';
  #tamper: VaultStatus['tamper'];
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(lib: PKCS11, pool: SessionPool, o: Pkcs11VaultOptions) {
    this.#lib = lib;
    this.#pool = pool;
    this.#clock = o.clock;
    this.#log = o.logger.child({ component: 'vault', backend: 'pkcs11' });
    this.#audit = o.audit;
    this.#meter = new UsageMeter(o.audit, this.#log, o.usageFlushMs ?? 1000);
  }

  /** Loads the module, finds the token by label, opens the session pool and logs in. */
  static async open(o: Pkcs11VaultOptions): Promise<Pkcs11Vault> {
    const p = pk();
    const lib = new p.PKCS11();
    let pool: SessionPool | undefined;
    try {
      lib.load(o.library);
      // Operations run on libuv worker threads (C_SignAsync …) while the main thread starts others:
      // without CKF_OS_LOCKING_OK the module may assume one thread and corrupt its heap (v2.40 §5.4).
      lib.C_Initialize({ flags: p.CKF_OS_LOCKING_OK });
      const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === o.tokenLabel);
      if (!slot) throw new CityTrustError('VAULT_BACKEND_ERROR', `no PKCS#11 token labelled "${o.tokenLabel}"`);
      pool = new SessionPool(lib, slot, o.sessions ?? 4, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
      // Login is per application, not per session (PKCS#11 v2.40 §5.6.4): once covers the pool.
      lib.C_Login(pool.any, p.CKU_USER, o.pin);
      const v = new Pkcs11Vault(lib, pool, o);
      v.#loadAll();
      v.#log.info({ keys: v.#entries.size, token: o.tokenLabel }, 'vault: PKCS#11 token opened');
      return v;
    } catch (e) {
      pool?.close();
      try {
        lib.C_Finalize();
      } catch {
        // Not initialised.
      }
      if (e instanceof CityTrustError) throw e;
      throw new CityTrustError('VAULT_BACKEND_ERROR', 'opening the PKCS#11 token failed (library, token label or PIN)', { cause: e });
    }
  }

  status(): VaultStatus {
    return this.#state === 'tampered' ? { backend: 'pkcs11', state: 'tampered', tamper: this.#tamper } : { backend: 'pkcs11', state: this.#state };
  }

  // ---- metadata ------------------------------------------------------------------------------

  #find(session: Handle, template: { type: number; value?: number | boolean | string | Buffer }[]): Handle[] {
    this.#lib.C_FindObjectsInit(session, template);
    try {
      const out: Handle[] = [];
      for (;;) {
        const batch = this.#lib.C_FindObjects(session, 64);
        if (batch.length === 0) return out;
        out.push(...batch);
      }
    } finally {
      this.#lib.C_FindObjectsFinal(session);
    }
  }

  #loadAll(): void {
    const p = pk();
    const s = this.#pool.any;
    const metas = this.#find(s, [
      { type: p.CKA_CLASS, value: p.CKO_DATA },
      { type: p.CKA_APPLICATION, value: APPLICATION },
    ]);
    for (const meta of metas) {
      const [value] = this.#lib.C_GetAttributeValue(s, meta, [{ type: p.CKA_VALUE }]);
      let info: KeyInfo;
      try {
        info = JSON.parse(value!.value.toString('utf8')) as KeyInfo;
      } catch (e) {
        this.#log.error({ err: e }, 'vault: unreadable key metadata object on the token; skipped');
        continue;
      }
      const versions = new Map<number, VersionHandles>();
      if (info.destroyedAt === undefined) for (const v of info.versions) versions.set(v.version, this.#loadVersion(s, info, v.version));
      this.#entries.set(info.id, { info, meta, versions });
    }
  }

  #loadVersion(s: Handle, info: KeyInfo, version: number): VersionHandles {
    const p = pk();
    const id = Buffer.from(`${info.id}.v${version}`, 'latin1');
    const isPair = ops.isAsymmetric(info.type);
    const [key] = this.#find(s, [
      { type: p.CKA_ID, value: id },
      { type: p.CKA_CLASS, value: isPair ? p.CKO_PRIVATE_KEY : p.CKO_SECRET_KEY },
    ]);
    if (!key) throw new CityTrustError('VAULT_KEYSTORE_CORRUPT', `the token lacks the key object of ${info.id} version ${version}`);
    if (!ops.isAsymmetric(info.type)) return { key };
    const [pub] = this.#find(s, [
      { type: p.CKA_ID, value: id },
      { type: p.CKA_CLASS, value: p.CKO_PUBLIC_KEY },
    ]);
    if (!pub) throw new CityTrustError('VAULT_KEYSTORE_CORRUPT', `the token lacks the public key of ${info.id} version ${version}`);
    const [point] = this.#lib.C_GetAttributeValue(s, pub, [{ type: p.CKA_EC_POINT }]);
    const raw = new Uint8Array(unwrapEcPoint(point!.value, POINT_LENGTH[info.type]));
    const publicKey = info.type === 'ed25519'
      ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
      : ops.peerPublicKey(info.type, raw);
    return { key, publicHandle: pub, publicKey, raw, spki: ops.spkiOf(publicKey) };
  }

  #writeMeta(s: Handle, entry: Entry): void {
    // Replace rather than C_SetAttributeValue: not every token lets CKA_VALUE of a data object change.
    const fresh = this.#lib.C_CreateObject(s, metadataTemplate(entry.info.id, JSON.stringify(entry.info)));
    this.#lib.C_DestroyObject(s, entry.meta);
    entry.meta = fresh;
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  async createKey(caller: VaultCaller, options: CreateKeyOptions): Promise<KeyInfo> {
    this.#requireOpen();
    policy.checkCaller(caller);
    const spec = policy.checkCreateOptions(options);
    const id = policy.newKeyId();
    const now = this.#clock.now();
    const info: KeyInfo = policy.initialKeyInfo(id, caller, spec, now);
    await this.#exclusive(() =>
      this.#pool.use((s) => {
        const handles = this.#generate(s, info, 1);
        const meta = this.#lib.C_CreateObject(s, metadataTemplate(id, JSON.stringify(info)));
        this.#entries.set(id, { info, meta, versions: new Map([[1, handles]]) });
      }),
    );
    await this.#audit.append({ actor: caller.actor, tenant: info.tenant, action: 'vault.key.create', subject: id, details: { type: info.type, label: info.label, usages: info.usages, extractable: info.extractable, backend: 'pkcs11' } });
    return info;
  }

  #generate(s: Handle, info: KeyInfo, version: number): VersionHandles {
    const t = keyTemplates(info.type, info.id, version, info.usages, info.extractable);
    try {
      if (t.public) this.#lib.C_GenerateKeyPair(s, { mechanism: t.mechanism }, t.public, t.secretOrPrivate);
      else this.#lib.C_GenerateKey(s, { mechanism: t.mechanism }, t.secretOrPrivate);
    } catch (e) {
      throw new CityTrustError('VAULT_BACKEND_ERROR', `the token could not generate a ${info.type} key`, { cause: e });
    }
    return this.#loadVersion(s, info, version);
  }

  async getKey(caller: VaultCaller, keyId: string): Promise<KeyInfo> {
    return this.#entry(caller, keyId).info;
  }

  async listKeys(caller: VaultCaller, options: ListOptions = {}): Promise<KeyInfo[]> {
    this.#requireOpen();
    policy.checkCaller(caller);
    return [...this.#entries.values()]
      .map((e) => e.info)
      .filter((i) => i.tenant === caller.tenant && (options.includeDestroyed || i.destroyedAt === undefined))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async rotateKey(caller: VaultCaller, keyId: string): Promise<KeyInfo> {
    this.#entry(caller, keyId);
    let result!: KeyInfo;
    await this.#exclusive(() =>
      this.#pool.use((s) => {
        const e = this.#entry(caller, keyId);
        const version = e.info.currentVersion + 1;
        const info: KeyInfo = {
          ...e.info,
          currentVersion: version,
          versions: [...e.info.versions.map((v) => ({ ...v, state: 'retired' as const })), { version, state: 'active', createdAt: this.#clock.now() }],
        };
        const handles = this.#generate(s, info, version);
        this.#retire(s, e);
        e.versions.set(version, handles);
        e.info = info;
        this.#writeMeta(s, e);
        result = info;
      }),
    );
    await this.#audit.append({ actor: caller.actor, tenant: result.tenant, action: 'vault.key.rotate', subject: keyId, details: { version: result.currentVersion } });
    return result;
  }

  /** Best effort: the HSM also stops making with a retired version (the vault refuses it regardless). */
  #retire(s: Handle, e: Entry): void {
    const p = pk();
    const old = e.versions.get(e.info.currentVersion);
    if (!old) return;
    const flags = e.info.type === 'aes-256-gcm' ? [p.CKA_ENCRYPT, p.CKA_WRAP] : [p.CKA_SIGN];
    for (const type of flags) {
      try {
        this.#lib.C_SetAttributeValue(s, old.key, [{ type, value: false }]);
      } catch {
        // Some tokens refuse to change usage flags; policy.authorise still refuses the operation.
      }
    }
  }

  async destroyKey(caller: VaultCaller, keyId: string): Promise<void> {
    const first = this.#entry(caller, keyId, true);
    if (first.info.destroyedAt !== undefined) throw new CityTrustError('VAULT_KEY_DESTROYED', 'the key was already destroyed');
    await this.#exclusive(() =>
      this.#pool.use((s) => {
        const e = this.#entry(caller, keyId, true);
        for (const v of e.versions.values()) {
          this.#lib.C_DestroyObject(s, v.key);
          if (v.publicHandle) this.#lib.C_DestroyObject(s, v.publicHandle);
        }
        e.versions.clear();
        e.info = { ...e.info, destroyedAt: this.#clock.now() };
        this.#writeMeta(s, e);
      }),
    );
    await this.#audit.append({ actor: caller.actor, tenant: caller.tenant, action: 'vault.key.destroy', subject: keyId, details: { backend: 'pkcs11' } });
  }

  // ---- operations ----------------------------------------------------------------------------

  async publicKey(caller: VaultCaller, keyId: string, version?: number): Promise<PublicKeyInfo> {
    const e = this.#entry(caller, keyId);
    if (!ops.isAsymmetric(e.info.type)) throw new CityTrustError('VAULT_USAGE_DENIED', `a ${e.info.type} key has no public key`);
    const v = version ?? e.info.currentVersion;
    const h = e.versions.get(v);
    if (!h?.raw || !h.spki) throw new CityTrustError('VAULT_KEY_NOT_FOUND', `the key has no version ${String(v)}`);
    return { keyId, version: v, type: e.info.type, spki: h.spki, raw: h.raw };
  }

  async sign(caller: VaultCaller, keyId: string, data: Uint8Array, options: SignOptions = {}): Promise<Signature> {
    const { h, info, version } = this.#use(caller, keyId, 'sign', undefined, 'sign');
    policy.checkBytes('data', data, policy.LIMITS.data);
    const type = info.type as ops.AsymmetricType;
    ops.checkSignatureFormat(type, options.format);
    const p = pk();
    let signature: Uint8Array;
    if (type === 'ed25519') {
      signature = await this.#op((s) => {
        this.#lib.C_SignInit(s, { mechanism: CKM_EDDSA }, h.key);
        return this.#lib.C_SignAsync(s, Buffer.from(data), Buffer.alloc(64));
      });
    } else {
      // CKM_ECDSA signs a digest we compute (PKCS#11 v2.40 §2.3.6); the hash is fixed by the curve.
      const digest = createHash(type === 'ec-p256' ? 'sha256' : 'sha384').update(data).digest();
      const raw = await this.#op((s) => {
        this.#lib.C_SignInit(s, { mechanism: p.CKM_ECDSA }, h.key);
        return this.#lib.C_SignAsync(s, digest, Buffer.alloc(2 * ops.COORD_BYTES[type]));
      });
      signature = options.format === 'der' ? ecdsaRawToDer(new Uint8Array(raw), type === 'ec-p256' ? 'P-256' : 'P-384') : new Uint8Array(raw);
    }
    return { keyId, version, signature: new Uint8Array(signature) };
  }

  async verify(caller: VaultCaller, keyId: string, data: Uint8Array, signature: Uint8Array, options: VerifyOptions = {}): Promise<boolean> {
    const { h, info } = this.#use(caller, keyId, 'verify', options.version, 'verify');
    if (!ops.isAsymmetric(info.type)) throw new CityTrustError('VAULT_USAGE_DENIED', 'only key pairs verify signatures');
    policy.checkBytes('data', data, policy.LIMITS.data);
    policy.checkBytes('signature', signature, 1024);
    // Public-key work needs no secret, so it runs here instead of a round trip to the HSM.
    return ops.verifyWith(info.type, h.publicKey!, data, signature, options.format);
  }

  async encrypt(caller: VaultCaller, keyId: string, plaintext: Uint8Array, aad?: Uint8Array): Promise<AeadCiphertext> {
    const { h, version } = this.#use(caller, keyId, 'encrypt', undefined, 'encrypt');
    policy.checkBytes('plaintext', plaintext, policy.LIMITS.data);
    if (aad !== undefined) policy.checkBytes('aad', aad, policy.LIMITS.aad);
    const iv = randomBytes(ops.IV_BYTES);
    const out = await this.#op((s) => {
      this.#lib.C_EncryptInit(s, this.#gcm(iv, aad), h.key);
      return this.#lib.C_EncryptAsync(s, Buffer.from(plaintext), Buffer.alloc(plaintext.length + ops.TAG_BYTES));
    });
    return { keyId, version, iv: new Uint8Array(iv), ciphertext: new Uint8Array(out) };
  }

  async decrypt(caller: VaultCaller, keyId: string, input: DecryptInput, aad?: Uint8Array): Promise<Uint8Array> {
    if (input === null || typeof input !== 'object') throw new CityTrustError('VAULT_CIPHERTEXT_MALFORMED', 'decrypt needs { version, iv, ciphertext }');
    const { h } = this.#use(caller, keyId, 'decrypt', input.version, 'decrypt');
    ops.checkAeadInput(input.iv, input.ciphertext);
    policy.checkBytes('ciphertext', input.ciphertext, policy.LIMITS.data + ops.TAG_BYTES);
    if (aad !== undefined) policy.checkBytes('aad', aad, policy.LIMITS.aad);
    try {
      const out = await this.#pool.use((s) => {
        this.#lib.C_DecryptInit(s, this.#gcm(Buffer.from(input.iv), aad), h.key);
        return this.#lib.C_DecryptAsync(s, Buffer.from(input.ciphertext), Buffer.alloc(input.ciphertext.length));
      });
      return new Uint8Array(out);
    } catch (e) {
      throw new CityTrustError('VAULT_DECRYPT_FAILED', 'decryption failed: wrong key, additional data or altered ciphertext', { cause: e });
    }
  }

  #gcm(iv: Buffer, aad: Uint8Array | undefined) {
    const p = pk();
    return {
      mechanism: p.CKM_AES_GCM,
      parameter: { type: p.CK_PARAMS_AES_GCM, iv, ivBits: 96, aad: aad && aad.length > 0 ? Buffer.from(aad) : undefined, tagBits: 128 },
    };
  }

  async deriveKey(caller: VaultCaller, keyId: string, options: DeriveOptions): Promise<Uint8Array> {
    const { h, info } = this.#use(caller, keyId, 'derive', undefined, 'derive');
    const o = options ?? ({} as DeriveOptions);
    if (!Number.isInteger(o.length) || o.length < 16 || o.length > 64) throw new CityTrustError('INPUT_INVALID', 'derived length must be 16..64 bytes');
    const infoBytes = policy.checkBytes('info', o.info, 1024);
    const salt = o.salt === undefined ? new Uint8Array(0) : policy.checkBytes('salt', o.salt, 1024);
    const type = info.type as 'ec-p256' | 'ec-p384';
    const peer = ops.rawPublicKey(ops.peerPublicKey(type, o.peerPublicKey));
    const p = pk();
    const ecdh: ECDH1 = { type: p.CK_PARAMS_EC_DH, kdf: p.CKD_NULL, publicData: Buffer.from(peer) };
    const z = await this.#op((s) => {
      // CKD_NULL: the token returns the raw x-coordinate Z as a session object (SEC 1 §3.3.1);
      // it is extractable by construction, read once, destroyed, and fed to HKDF here.
      const secret = this.#lib.C_DeriveKey(
        s,
        { mechanism: p.CKM_ECDH1_DERIVE, parameter: ecdh },
        h.key,
        [
          { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
          { type: p.CKA_KEY_TYPE, value: p.CKK_GENERIC_SECRET },
          { type: p.CKA_TOKEN, value: false },
          { type: p.CKA_SENSITIVE, value: false },
          { type: p.CKA_EXTRACTABLE, value: true },
          { type: p.CKA_VALUE_LEN, value: ops.COORD_BYTES[type] },
        ],
      );
      try {
        return this.#lib.C_GetAttributeValue(s, secret, [{ type: p.CKA_VALUE }])[0]!.value;
      } finally {
        this.#lib.C_DestroyObject(s, secret);
      }
    });
    try {
      return ops.hkdf(z, salt, infoBytes, o.length);
    } finally {
      z.fill(0);
    }
  }

  async mac(caller: VaultCaller, keyId: string, data: Uint8Array): Promise<Uint8Array> {
    const { h } = this.#use(caller, keyId, 'mac', undefined, 'mac');
    policy.checkBytes('data', data, policy.LIMITS.data);
    return this.#hmac(h.key, data);
  }

  async verifyMac(caller: VaultCaller, keyId: string, data: Uint8Array, tag: Uint8Array, version?: number): Promise<boolean> {
    const { h, info } = this.#use(caller, keyId, 'verify', version, 'verify');
    if (info.type !== 'hmac-sha256') throw new CityTrustError('VAULT_USAGE_DENIED', 'only HMAC keys verify MACs');
    policy.checkBytes('data', data, policy.LIMITS.data);
    policy.checkBytes('tag', tag, 64);
    return constantTimeEqual(await this.#hmac(h.key, data), tag);
  }

  async #hmac(key: Handle, data: Uint8Array): Promise<Uint8Array> {
    const p = pk();
    const out = await this.#op((s) => {
      this.#lib.C_SignInit(s, { mechanism: p.CKM_SHA256_HMAC }, key);
      return this.#lib.C_SignAsync(s, Buffer.from(data), Buffer.alloc(32));
    });
    return new Uint8Array(out);
  }

  async wrapKey(caller: VaultCaller, wrappingKeyId: string, keyId: string): Promise<Uint8Array> {
    this.#use(caller, wrappingKeyId, 'wrap', undefined, 'wrap');
    this.#entry(caller, keyId);
    throw new CityTrustError('VAULT_UNSUPPORTED', 'the PKCS#11 backend does not wrap keys out; use the HSM vendor backup');
  }

  async unwrapKey(caller: VaultCaller, wrappingKeyId: string, _wrapped: Uint8Array, _options: UnwrapOptions): Promise<KeyInfo> {
    this.#use(caller, wrappingKeyId, 'unwrap', undefined, 'unwrap');
    throw new CityTrustError('VAULT_UNSUPPORTED', 'the PKCS#11 backend does not unwrap keys; use the HSM vendor backup');
  }

  // ---- tamper, close -------------------------------------------------------------------------

  /**
   * Destroys every citytrust object on the token and logs out. A real HSM's own tamper response
   * (enclosure mesh, voltage, temperature) zeroizes the whole device on its own; this is the
   * response to the tamper sources citytrust sees (API call, sensor feed).
   */
  tamper(caller: VaultCaller, source: TamperSource, reason: string): Promise<void> {
    const entries = this.#entries;
    this.#entries = new Map();
    this.#state = 'tampered';
    const safeReason = String(reason).slice(0, 200);
    this.#tamper = { at: this.#clock.now(), source, reason: safeReason };
    this.#log.fatal({ source, reason: safeReason }, 'vault: TAMPER — destroying token objects');
    const s = this.#pool.any;
    let destroyed = 0;
    for (const e of entries.values()) {
      for (const h of [...[...e.versions.values()].flatMap((v) => (v.publicHandle ? [v.key, v.publicHandle] : [v.key])), e.meta]) {
        try {
          this.#lib.C_DestroyObject(s, h);
          destroyed++;
        } catch (err) {
          this.#log.error({ err }, 'vault: could not destroy a token object during tamper response');
        }
      }
    }
    try {
      this.#lib.C_Logout(s);
    } catch {
      // Already logged out.
    }
    return this.#audit.append({ actor: caller.actor, tenant: null, action: 'vault.tamper', subject: 'pkcs11', details: { source, reason: safeReason, destroyed } }).then(() => undefined);
  }

  async close(): Promise<void> {
    await this.#meter.close();
    await this.#queue.catch(() => undefined);
    if (this.#state === 'unsealed') {
      try {
        this.#lib.C_Logout(this.#pool.any);
      } catch {
        // Already logged out.
      }
      this.#state = 'sealed';
    }
    this.#pool.close();
    try {
      this.#lib.C_Finalize();
    } catch {
      // Already finalised.
    }
  }

  flushUsage(): Promise<void> {
    return this.#meter.flush();
  }

  // ---- internals -----------------------------------------------------------------------------

  #requireOpen(): void {
    if (this.#state === 'tampered') throw new CityTrustError('VAULT_ZEROIZED', 'the vault destroyed its keys after a tamper event');
    if (this.#state === 'sealed') throw new CityTrustError('VAULT_SEALED', 'the PKCS#11 session is closed');
  }

  #entry(caller: VaultCaller, keyId: string, allowDestroyed = false): Entry {
    this.#requireOpen();
    policy.checkCaller(caller);
    policy.checkKeyId(keyId);
    const e = this.#entries.get(keyId);
    policy.assertVisible(caller, e?.info);
    if (!allowDestroyed && e!.info.destroyedAt !== undefined) throw new CityTrustError('VAULT_KEY_DESTROYED', 'the key was destroyed');
    return e!;
  }

  #use(caller: VaultCaller, keyId: string, usage: KeyUsage, version: number | undefined, kind: UseKind): { h: VersionHandles; info: KeyInfo; version: number } {
    const e = this.#entry(caller, keyId);
    const v = policy.authorise(e.info, usage, version);
    const h = e.versions.get(v);
    if (!h) throw new CityTrustError('VAULT_KEY_CORRUPT', `version ${v} is missing on the token`);
    this.#meter.count(keyId, e.info.tenant, caller.actor, kind);
    return { h, info: e.info, version: v };
  }

  async #op(fn: (s: Handle) => Buffer | Promise<Buffer>): Promise<Buffer> {
    try {
      return await this.#pool.use(fn);
    } catch (e) {
      throw new CityTrustError('VAULT_BACKEND_ERROR', 'the HSM failed the operation', { cause: e });
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
