/**
 * The software backend: a sealed keystore in the data directory, the embedded default.
 *
 *   <dataDir>/vault/vault.meta        vault id, keystore salt, threshold, check value
 *   <dataDir>/vault/keys/<id>.key     one file per key, every version sealed under the master key
 *   <dataDir>/vault/unseal-failures   consecutive failed unseal attempts (a tamper source)
 *   <dataDir>/vault/TAMPERED          present after zeroization: when and why (no secrets)
 *
 * The master key exists only in memory between unseal and seal. One process owns a keystore;
 * several server instances share keys through the PKCS#11 backend instead.
 */
import { randomBytes } from 'node:crypto';
import { readFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AuditSink } from '../../audit/types.ts';
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/log.ts';
import { CityTrustError } from '../../core/errors.ts';
import { constantTimeEqual } from '../../core/bytes.ts';
import { ShareCollector } from '../shamir/collector.ts';
import { splitSecret } from '../shamir/shamir.ts';
import { encodeShare } from '../shamir/share-format.ts';
import { UsageMeter, type UseKind } from '../usage.ts';
import * as policy from '../policy.ts';
import * as ops from '../ops.ts';
import { openArchive, parseArchiveHeader, parseWrapped, sealArchive, wrapHeader, type BackupEntry } from '../backup-format.ts';
import type {
  AeadCiphertext,
  BackupResult,
  CreateKeyOptions,
  DecryptInput,
  DeriveOptions,
  KeyBackup,
  KeyImport,
  KeyInfo,
  KeyUsage,
  KeyVault,
  ListOptions,
  PublicKeyInfo,
  Sealable,
  Signature,
  SignOptions,
  TamperResponsive,
  TamperSource,
  UnwrapOptions,
  VaultCaller,
  VaultState,
  VaultStatus,
  VerifyOptions,
} from '../types.ts';
import { decodeKeyFile, deriveMasterKeys, encodeKeyFile, gcmOpen, gcmSeal, keyAad, makeMeta, masterMatches, parseMeta, wipeMasterKeys, type KeyRecord, type MasterKeys, type SealedVersion, type VaultMeta } from './format.ts';
import { ensureDir, listFiles, overwriteAndRemove, removeTempFiles, writeFileAtomic } from './files.ts';
import { liveFromMaterial, materialOf, secretOf, wipeLive, type LiveAsymmetric, type LiveVersion } from './live.ts';

export interface SoftwareVaultOptions {
  readonly dataDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly audit: AuditSink;
  /** Development only: a file holding the master key, read at open to unseal unattended. */
  readonly devUnsealKeyFile?: string;
  /** Consecutive failed unseal attempts that count as an attack (default 5). */
  readonly maxUnsealFailures?: number;
  /** How often key-use counts are appended to the audit log (default 1000 ms; 0 = only on flush/close). */
  readonly usageFlushMs?: number;
}

export interface InitOptions {
  readonly shares: number;
  readonly threshold: number;
  /** Development only: also write the master key to this file for unattended unseal. */
  readonly devUnsealKeyFile?: string;
}

export interface InitResult {
  readonly vaultId: string;
  /** Unseal shares, one per custodian: shown once, never stored by the vault. */
  readonly shares: string[];
}

interface Entry {
  record: KeyRecord;
  live: Map<number, LiveVersion>;
  corrupt: boolean;
}

const DEV_KEY_HEADER = 'citytrust-dev-unseal-v1';

export class SoftwareVault implements KeyVault, Sealable, TamperResponsive, KeyBackup, KeyImport {
  readonly #root: string;
  readonly #keysDir: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #audit: AuditSink;
  readonly #meter: UsageMeter;
  readonly #maxFailures: number;
  readonly #devUnsealKeyFile: string | undefined;

  #state: VaultState = 'uninitialised';
  #meta: VaultMeta | undefined;
  #master: Buffer | undefined;
  #sub: MasterKeys | undefined;
  #entries = new Map<string, Entry>();
  #collector: ShareCollector | undefined;
  #tamper: VaultStatus['tamper'];
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(o: SoftwareVaultOptions) {
    this.#root = join(o.dataDir, 'vault');
    this.#keysDir = join(this.#root, 'keys');
    this.#clock = o.clock;
    this.#log = o.logger.child({ component: 'vault' });
    this.#audit = o.audit;
    this.#meter = new UsageMeter(o.audit, this.#log, o.usageFlushMs ?? 1000);
    this.#maxFailures = o.maxUnsealFailures ?? 5;
    this.#devUnsealKeyFile = o.devUnsealKeyFile;
  }

  /** Opens the keystore in `dataDir/vault`: sealed if initialised, unsealed at once with a dev key file. */
  static async open(options: SoftwareVaultOptions): Promise<SoftwareVault> {
    const v = new SoftwareVault(options);
    await ensureDir(v.#keysDir);
    await removeTempFiles(v.#root);
    await removeTempFiles(v.#keysDir);
    const marker = await readFile(join(v.#root, 'TAMPERED'), 'utf8').catch(() => undefined);
    if (marker !== undefined) {
      v.#state = 'tampered';
      try {
        v.#tamper = JSON.parse(marker) as VaultStatus['tamper'];
      } catch {
        v.#tamper = { at: 0, source: 'api', reason: 'unknown (marker unreadable)' };
      }
      return v;
    }
    const meta = await readFile(join(v.#root, 'vault.meta')).catch(() => undefined);
    if (meta === undefined) return v;
    v.#meta = parseMeta(meta);
    v.#state = 'sealed';
    if (v.#devUnsealKeyFile !== undefined) await v.#devUnseal(v.#devUnsealKeyFile);
    return v;
  }

  status(): VaultStatus {
    const base = { backend: 'software' as const, state: this.#state };
    if (this.#state === 'sealed' && this.#meta) {
      return { ...base, unseal: this.#collector?.progress ?? { threshold: this.#meta.threshold, received: 0 } };
    }
    if (this.#state === 'tampered') return { ...base, tamper: this.#tamper };
    return base;
  }

  // ---- lifecycle: init, unseal, seal ---------------------------------------------------------

  /** Creates the master key, splits it into unseal shares and leaves the vault unsealed. */
  async init(caller: VaultCaller, options: InitOptions): Promise<InitResult> {
    policy.checkCaller(caller);
    if (caller.tenant !== null) throw new CityTrustError('AUTH_FORBIDDEN', 'only the city initialises the vault');
    if (this.#state === 'sealed' || this.#state === 'unsealed') throw new CityTrustError('VAULT_ALREADY_INITIALISED', 'the vault is already initialised');
    const { shares, threshold } = options;
    if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 1 || shares < threshold || shares > 255) {
      throw new CityTrustError('INPUT_INVALID', 'need 1 ≤ threshold ≤ shares ≤ 255');
    }
    return this.#exclusive(async () => {
      for (const f of await listFiles(this.#keysDir)) await overwriteAndRemove(join(this.#keysDir, f));
      const master = Buffer.alloc(32);
      master.set(randomBytes(32));
      const meta = { vaultId: randomBytes(16), salt: randomBytes(32), threshold, shares, createdAt: this.#clock.now() };
      const sub = deriveMasterKeys(master, meta.salt);
      const metaBytes = makeMeta(sub, meta);
      await writeFileAtomic(join(this.#root, 'vault.meta'), metaBytes);
      await overwriteAndRemove(join(this.#root, 'TAMPERED'));
      await overwriteAndRemove(join(this.#root, 'unseal-failures'));
      if (options.devUnsealKeyFile !== undefined) {
        await writeFileAtomic(options.devUnsealKeyFile, Buffer.from(`${DEV_KEY_HEADER}\n${Buffer.from(meta.vaultId).toString('hex')}\n${master.toString('hex')}\n`));
        await chmod(options.devUnsealKeyFile, 0o600);
        this.#log.warn('vault: DEVELOPMENT UNSEAL KEY FILE WRITTEN — the master key is on disk in clear; never use this outside a demo');
      }
      const points = splitSecret(master, shares, threshold);
      const texts = points.map((p) => encodeShare({ ...p, kind: 'unseal', setId: meta.vaultId.subarray(0, 8), threshold }));
      for (const p of points) p.y.fill(0);
      this.#meta = parseMeta(metaBytes);
      this.#master = master;
      this.#sub = sub;
      this.#entries = new Map();
      this.#tamper = undefined;
      this.#state = 'unsealed';
      await this.#audit.append({ actor: caller.actor, tenant: null, action: 'vault.init', subject: meta.vaultId.toString('hex'), details: { shares, threshold, devUnsealKey: options.devUnsealKeyFile !== undefined } });
      return { vaultId: meta.vaultId.toString('hex'), shares: texts };
    });
  }

  async unseal(share: string): Promise<{ threshold: number; received: number; unsealed: boolean }> {
    if (this.#state === 'tampered') this.#zeroized();
    if (this.#state === 'uninitialised' || !this.#meta) throw new CityTrustError('VAULT_NOT_INITIALISED', 'the vault is not initialised');
    if (this.#state === 'unsealed') throw new CityTrustError('VAULT_ALREADY_UNSEALED', 'the vault is already unsealed');
    const meta = this.#meta;
    this.#collector ??= new ShareCollector('unseal', meta.vaultId.subarray(0, 8), meta.threshold);
    // Malformed, corrupt, foreign and repeated shares throw here and leave the collection unchanged.
    const secret = this.#collector.add(share);
    if (!secret) return { ...this.#collector.progress, unsealed: false };
    this.#collector = undefined;
    const master = Buffer.alloc(32);
    master.set(secret);
    secret.fill(0);
    await this.#unsealWith(master, 'shares');
    return { threshold: meta.threshold, received: meta.threshold, unsealed: true };
  }

  resetUnseal(): void {
    this.#collector?.clear();
    this.#collector = undefined;
  }

  async seal(caller: VaultCaller): Promise<void> {
    policy.checkCaller(caller);
    this.#requireUnsealed();
    await this.#exclusive(async () => {
      await this.#meter.flush();
      this.#wipeMemory();
      this.#state = 'sealed';
    });
    this.#log.info('vault: sealed');
    await this.#audit.append({ actor: caller.actor, tenant: null, action: 'vault.seal', subject: this.#vaultIdHex() });
  }

  async #devUnseal(file: string): Promise<void> {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) return;
    const [head, id, hex] = text.split('\n');
    if (head !== DEV_KEY_HEADER || id === undefined || hex === undefined || !/^[0-9a-f]{64}$/.test(hex)) {
      throw new CityTrustError('VAULT_KEYSTORE_CORRUPT', 'the development unseal key file is malformed');
    }
    if (!constantTimeEqual(Buffer.from(id, 'hex'), this.#meta!.vaultId)) throw new CityTrustError('VAULT_SHARE_MISMATCH', 'the development unseal key file belongs to another vault');
    this.#log.warn({ file }, 'vault: UNSEALED FROM A DEVELOPMENT KEY FILE — the master key sits on disk in clear; this setup protects nothing');
    const master = Buffer.alloc(32);
    master.write(hex, 'hex');
    await this.#unsealWith(master, 'dev-key-file');
  }

  async #unsealWith(master: Buffer, how: string): Promise<void> {
    const meta = this.#meta!;
    const sub = deriveMasterKeys(master, meta.salt);
    if (!masterMatches(meta, sub)) {
      master.fill(0);
      wipeMasterKeys(sub);
      const failures = (await this.#readFailures()) + 1;
      await writeFileAtomic(join(this.#root, 'unseal-failures'), Buffer.from(String(failures)));
      this.#log.warn({ failures, limit: this.#maxFailures }, 'vault: unseal failed, the shares combine to a wrong key');
      await this.#audit.append({ actor: 'system', tenant: null, action: 'vault.unseal.fail', subject: this.#vaultIdHex(), details: { failures } });
      if (failures >= this.#maxFailures) {
        await this.tamper({ actor: 'system', tenant: null }, 'unseal-failures', `${failures} consecutive failed unseal attempts`);
        this.#zeroized();
      }
      throw new CityTrustError('VAULT_UNSEAL_FAILED', 'the shares do not open this vault', { details: { failures, limit: this.#maxFailures } });
    }
    const entries = new Map<string, Entry>();
    for (const name of await listFiles(this.#keysDir)) {
      if (!name.endsWith('.key')) continue;
      const entry = await this.#loadKeyFile(name, meta, sub);
      if (entry) entries.set(entry.record.info.id, entry);
    }
    this.#master = master;
    this.#sub = sub;
    this.#entries = entries;
    this.#state = 'unsealed';
    if ((await this.#readFailures()) > 0) await overwriteAndRemove(join(this.#root, 'unseal-failures'));
    this.#log.info({ keys: entries.size, how }, 'vault: unsealed');
    await this.#audit.append({ actor: 'system', tenant: null, action: 'vault.unseal', subject: this.#vaultIdHex(), details: { how, keys: entries.size } });
  }

  async #loadKeyFile(name: string, meta: VaultMeta, sub: MasterKeys): Promise<Entry | undefined> {
    const bytes = await readFile(join(this.#keysDir, name));
    let record: KeyRecord;
    try {
      record = decodeKeyFile(bytes, sub.fileMac, name);
    } catch (e) {
      // One damaged file must not keep every other key locked; it is reported and skipped.
      this.#log.error({ err: e, file: name }, 'vault: key file failed its integrity check; the key is unavailable');
      return undefined;
    }
    const live = new Map<number, LiveVersion>();
    let corrupt = false;
    const i = record.info;
    for (const v of record.versions) {
      const material = gcmOpen(sub.seal, v.nonce, v.sealed, keyAad(meta.vaultId, i.id, v.version, i.type, i.tenant, i.extractable, i.usages));
      if (!material) {
        corrupt = true;
        continue;
      }
      try {
        live.set(v.version, liveFromMaterial(i.type, material));
      } catch {
        corrupt = true;
      } finally {
        material.fill(0);
      }
    }
    if (corrupt) this.#log.error({ keyId: i.id }, 'vault: sealed key material failed to open; the key is unavailable');
    return { record, live, corrupt };
  }

  async #readFailures(): Promise<number> {
    const t = await readFile(join(this.#root, 'unseal-failures'), 'utf8').catch(() => '0');
    const n = Number(t);
    return Number.isSafeInteger(n) && n >= 0 ? n : this.#maxFailures;
  }

  // ---- tamper response -----------------------------------------------------------------------

  /**
   * Zeroizes. Everything in memory is overwritten or dropped synchronously, before the first
   * await, so no operation can run in between; then vault.meta (holding the keystore salt, without
   * which no key file can be opened even with every share) and the dev key file, then every key file,
   * are overwritten and removed; finally the event is audited.
   */
  tamper(caller: VaultCaller, source: TamperSource, reason: string): Promise<void> {
    const t0 = performance.now();
    const vaultId = this.#vaultIdHex();
    this.#wipeMemory();
    this.#collector?.clear();
    this.#collector = undefined;
    this.#meta = undefined;
    this.#state = 'tampered';
    const safeReason = String(reason).slice(0, 200);
    this.#tamper = { at: this.#clock.now(), source, reason: safeReason };
    const memoryMs = performance.now() - t0;
    this.#log.fatal({ source, reason: safeReason, memoryMs }, 'vault: TAMPER — keys zeroized');
    // Counts gathered before the event still reach the log (they are forensic evidence).
    const flushed = this.#meter.flush().catch(() => undefined);
    return this.#destroyFiles().then(async () => {
      await flushed;
      const filesMs = performance.now() - t0;
      await writeFileAtomic(join(this.#root, 'TAMPERED'), Buffer.from(JSON.stringify(this.#tamper)));
      await this.#audit.append({ actor: caller.actor, tenant: null, action: 'vault.tamper', subject: vaultId, details: { source, reason: safeReason, memoryMs, filesMs } });
    });
  }

  async #destroyFiles(): Promise<void> {
    await Promise.all([overwriteAndRemove(join(this.#root, 'vault.meta')), this.#devUnsealKeyFile ? overwriteAndRemove(this.#devUnsealKeyFile) : undefined]);
    const keyFiles = (await listFiles(this.#keysDir)).map((f) => join(this.#keysDir, f));
    const rootFiles = (await listFiles(this.#root)).filter((f) => f !== 'keys' && f !== 'TAMPERED').map((f) => join(this.#root, f));
    await Promise.all([...keyFiles, ...rootFiles].map((f) => overwriteAndRemove(f)));
  }

  #wipeMemory(): void {
    this.#master?.fill(0);
    this.#master = undefined;
    wipeMasterKeys(this.#sub);
    this.#sub = undefined;
    for (const e of this.#entries.values()) for (const v of e.live.values()) wipeLive(v);
    this.#entries = new Map();
  }

  // ---- key lifecycle -------------------------------------------------------------------------

  async createKey(caller: VaultCaller, options: CreateKeyOptions): Promise<KeyInfo> {
    this.#requireUnsealed();
    policy.checkCaller(caller);
    const spec = policy.checkCreateOptions(options);
    const material = ops.generateMaterial(spec.type);
    try {
      return await this.#addKey(caller, spec, material, 'vault.key.create');
    } finally {
      material.fill(0);
    }
  }

  async importKey(caller: VaultCaller, options: CreateKeyOptions & { readonly pkcs8OrRaw: Uint8Array }): Promise<KeyInfo> {
    this.#requireUnsealed();
    policy.checkCaller(caller);
    const spec = policy.checkCreateOptions(options);
    const material = policy.checkBytes('key material', options.pkcs8OrRaw, 4096, 1);
    liveFromMaterial(spec.type, material); // validates type and shape before anything is stored
    return this.#addKey(caller, spec, material, 'vault.key.import');
  }

  async #addKey(caller: VaultCaller, spec: policy.ValidKeySpec, material: Uint8Array, action: string, id = policy.newKeyId(), info?: KeyInfo): Promise<KeyInfo> {
    const keyInfo: KeyInfo = info ?? policy.initialKeyInfo(id, caller, spec, this.#clock.now());
    await this.#exclusive(async () => {
      this.#requireUnsealed();
      const sealed = this.#sealVersion(keyInfo, 1, material);
      const live = new Map([[1, liveFromMaterial(keyInfo.type, material)]]);
      await this.#persist({ info: keyInfo, versions: [sealed] });
      this.#entries.set(keyInfo.id, { record: { info: keyInfo, versions: [sealed] }, live, corrupt: false });
    });
    await this.#audit.append({ actor: caller.actor, tenant: keyInfo.tenant, action, subject: keyInfo.id, details: { type: keyInfo.type, label: keyInfo.label, usages: keyInfo.usages, extractable: keyInfo.extractable } });
    return keyInfo;
  }

  async getKey(caller: VaultCaller, keyId: string): Promise<KeyInfo> {
    return this.#entry(caller, keyId).record.info;
  }

  async listKeys(caller: VaultCaller, options: ListOptions = {}): Promise<KeyInfo[]> {
    this.#requireUnsealed();
    policy.checkCaller(caller);
    const out: KeyInfo[] = [];
    for (const e of this.#entries.values()) {
      const i = e.record.info;
      if (i.tenant !== caller.tenant) continue;
      if (i.destroyedAt !== undefined && !options.includeDestroyed) continue;
      out.push(i);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async rotateKey(caller: VaultCaller, keyId: string): Promise<KeyInfo> {
    this.#entry(caller, keyId);
    let result!: KeyInfo;
    await this.#exclusive(async () => {
      const e = this.#entry(caller, keyId);
      const old = e.record.info;
      const version = old.currentVersion + 1;
      const now = this.#clock.now();
      const info: KeyInfo = {
        ...old,
        currentVersion: version,
        versions: [...old.versions.map((v) => ({ ...v, state: 'retired' as const })), { version, state: 'active', createdAt: now }],
      };
      const material = ops.generateMaterial(old.type);
      try {
        const sealed = this.#sealVersion(info, version, material);
        const record = { info, versions: [...e.record.versions, sealed] };
        await this.#persist(record);
        e.live.set(version, liveFromMaterial(info.type, material));
        e.record = record;
      } finally {
        material.fill(0);
      }
      result = info;
    });
    await this.#audit.append({ actor: caller.actor, tenant: result.tenant, action: 'vault.key.rotate', subject: keyId, details: { version: result.currentVersion } });
    return result;
  }

  async destroyKey(caller: VaultCaller, keyId: string): Promise<void> {
    const first = this.#entry(caller, keyId, true);
    if (first.record.info.destroyedAt !== undefined) throw new CityTrustError('VAULT_KEY_DESTROYED', 'the key was already destroyed');
    await this.#exclusive(async () => {
      const e = this.#entry(caller, keyId, true);
      const info: KeyInfo = { ...e.record.info, destroyedAt: this.#clock.now() };
      // Overwrite the old file's bytes before the tombstone replaces its name.
      await overwriteAndRemove(this.#keyPath(keyId));
      await this.#persist({ info, versions: [] });
      for (const v of e.live.values()) wipeLive(v);
      this.#entries.set(keyId, { record: { info, versions: [] }, live: new Map(), corrupt: false });
    });
    await this.#audit.append({ actor: caller.actor, tenant: caller.tenant, action: 'vault.key.destroy', subject: keyId });
  }

  // ---- operations ----------------------------------------------------------------------------

  async publicKey(caller: VaultCaller, keyId: string, version?: number): Promise<PublicKeyInfo> {
    const e = this.#entry(caller, keyId);
    const info = e.record.info;
    if (!ops.isAsymmetric(info.type)) throw new CityTrustError('VAULT_USAGE_DENIED', `a ${info.type} key has no public key`);
    const v = version ?? info.currentVersion;
    const live = e.live.get(v) as LiveAsymmetric | undefined;
    if (!live) throw new CityTrustError('VAULT_KEY_NOT_FOUND', `the key has no version ${String(v)}`);
    return { keyId, version: v, type: live.type, spki: live.spki, raw: live.raw };
  }

  async sign(caller: VaultCaller, keyId: string, data: Uint8Array, options: SignOptions = {}): Promise<Signature> {
    const { live, version } = this.#use(caller, keyId, 'sign', undefined, 'sign');
    policy.checkBytes('data', data, policy.LIMITS.data);
    const k = live as LiveAsymmetric;
    return { keyId, version, signature: ops.signWith(k.type, k.privateKey!, data, options.format) };
  }

  async verify(caller: VaultCaller, keyId: string, data: Uint8Array, signature: Uint8Array, options: VerifyOptions = {}): Promise<boolean> {
    const { live, info } = this.#use(caller, keyId, 'verify', options.version, 'verify');
    if (info.type === 'hmac-sha256') throw new CityTrustError('VAULT_USAGE_DENIED', 'an HMAC key verifies MACs (verifyMac), not signatures');
    policy.checkBytes('data', data, policy.LIMITS.data);
    policy.checkBytes('signature', signature, 1024);
    const k = live as LiveAsymmetric;
    return ops.verifyWith(k.type, k.publicKey, data, signature, options.format);
  }

  async encrypt(caller: VaultCaller, keyId: string, plaintext: Uint8Array, aad?: Uint8Array): Promise<AeadCiphertext> {
    const { live, version } = this.#use(caller, keyId, 'encrypt', undefined, 'encrypt');
    policy.checkBytes('plaintext', plaintext, policy.LIMITS.data);
    if (aad !== undefined) policy.checkBytes('aad', aad, policy.LIMITS.aad);
    const { iv, ciphertext } = ops.aeadEncrypt(secretOf(live), plaintext, aad);
    return { keyId, version, iv, ciphertext };
  }

  async decrypt(caller: VaultCaller, keyId: string, input: DecryptInput, aad?: Uint8Array): Promise<Uint8Array> {
    if (input === null || typeof input !== 'object') throw new CityTrustError('VAULT_CIPHERTEXT_MALFORMED', 'decrypt needs { version, iv, ciphertext }');
    const { live } = this.#use(caller, keyId, 'decrypt', input.version, 'decrypt');
    ops.checkAeadInput(input.iv, input.ciphertext);
    policy.checkBytes('ciphertext', input.ciphertext, policy.LIMITS.data + ops.TAG_BYTES);
    if (aad !== undefined) policy.checkBytes('aad', aad, policy.LIMITS.aad);
    return ops.aeadDecrypt(secretOf(live), input.iv, input.ciphertext, aad);
  }

  async deriveKey(caller: VaultCaller, keyId: string, options: DeriveOptions): Promise<Uint8Array> {
    const { live, info } = this.#use(caller, keyId, 'derive', undefined, 'derive');
    const o = options ?? ({} as DeriveOptions);
    if (!Number.isInteger(o.length) || o.length < 16 || o.length > 64) throw new CityTrustError('INPUT_INVALID', 'derived length must be 16..64 bytes');
    const info8 = policy.checkBytes('info', o.info, 1024);
    const salt = o.salt === undefined ? new Uint8Array(0) : policy.checkBytes('salt', o.salt, 1024);
    const peer = ops.peerPublicKey(info.type as 'ec-p256' | 'ec-p384', o.peerPublicKey);
    return ops.ecdhHkdf((live as LiveAsymmetric).privateKey!, peer, salt, info8, o.length);
  }

  async mac(caller: VaultCaller, keyId: string, data: Uint8Array): Promise<Uint8Array> {
    const { live } = this.#use(caller, keyId, 'mac', undefined, 'mac');
    policy.checkBytes('data', data, policy.LIMITS.data);
    return ops.hmacSha256(secretOf(live), data);
  }

  async verifyMac(caller: VaultCaller, keyId: string, data: Uint8Array, tag: Uint8Array, version?: number): Promise<boolean> {
    const { live, info } = this.#use(caller, keyId, 'verify', version, 'verify');
    if (info.type !== 'hmac-sha256') throw new CityTrustError('VAULT_USAGE_DENIED', 'only HMAC keys verify MACs');
    policy.checkBytes('data', data, policy.LIMITS.data);
    policy.checkBytes('tag', tag, 64);
    return constantTimeEqual(ops.hmacSha256(secretOf(live), data), tag);
  }

  async wrapKey(caller: VaultCaller, wrappingKeyId: string, keyId: string): Promise<Uint8Array> {
    const w = this.#use(caller, wrappingKeyId, 'wrap', undefined, 'wrap');
    const target = this.#entry(caller, keyId);
    const t = target.record.info;
    if (t.destroyedAt !== undefined) throw new CityTrustError('VAULT_KEY_DESTROYED', 'the key was destroyed');
    if (!t.extractable) throw new CityTrustError('VAULT_KEY_NOT_EXTRACTABLE', 'the key is not extractable');
    const material = materialOf(target.live.get(t.currentVersion)!);
    try {
      const header = wrapHeader(t.type, w.version);
      const { iv, ciphertext } = ops.aeadEncrypt(secretOf(w.live), material, header);
      return new Uint8Array(Buffer.concat([header, iv, ciphertext]));
    } finally {
      material.fill(0);
    }
  }

  async unwrapKey(caller: VaultCaller, wrappingKeyId: string, wrapped: Uint8Array, options: UnwrapOptions): Promise<KeyInfo> {
    this.#requireUnsealed();
    policy.checkBytes('wrapped key', wrapped, policy.LIMITS.wrapped);
    const parsed = parseWrapped(wrapped);
    const w = this.#use(caller, wrappingKeyId, 'unwrap', parsed.wrappingVersion, 'unwrap');
    const spec = policy.checkCreateOptions({ ...options, type: parsed.type });
    const material = ops.aeadDecrypt(secretOf(w.live), parsed.iv, parsed.ciphertext, parsed.header);
    try {
      liveFromMaterial(spec.type, material);
      return await this.#addKey(caller, spec, material, 'vault.key.unwrap');
    } finally {
      material.fill(0);
    }
  }

  // ---- backup and restore --------------------------------------------------------------------

  async backup(caller: VaultCaller, options: { readonly shares: number; readonly threshold: number }): Promise<BackupResult> {
    this.#requireUnsealed();
    policy.checkCaller(caller);
    if (caller.tenant !== null) throw new CityTrustError('AUTH_FORBIDDEN', 'only the city backs up the vault');
    const { shares, threshold } = options ?? ({} as { shares: number; threshold: number });
    if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 1 || shares < threshold || shares > 255) {
      throw new CityTrustError('INPUT_INVALID', 'need 1 ≤ threshold ≤ shares ≤ 255');
    }
    const entries: BackupEntry[] = [];
    const wipe: Uint8Array[] = [];
    const backupKey = Buffer.alloc(32);
    backupKey.set(randomBytes(32));
    try {
      for (const e of this.#entries.values()) {
        if (e.corrupt) continue;
        const versions = [...e.live.entries()].map(([version, live]) => {
          const material = materialOf(live);
          wipe.push(material);
          return { version, material };
        });
        entries.push({ info: e.record.info, versions });
      }
      const backupId = randomBytes(32);
      const archive = sealArchive({ backupId, vaultId: this.#meta!.vaultId, threshold, shares, createdAt: this.#clock.now(), keyCount: entries.length }, backupKey, entries);
      const points = splitSecret(backupKey, shares, threshold);
      const texts = points.map((p) => encodeShare({ ...p, kind: 'recovery', setId: backupId.subarray(0, 8), threshold }));
      for (const p of points) p.y.fill(0);
      await this.#audit.append({ actor: caller.actor, tenant: null, action: 'vault.backup', subject: backupId.toString('hex'), details: { keys: entries.length, shares, threshold } });
      return { archive, shares: texts, keyCount: entries.length };
    } finally {
      backupKey.fill(0);
      for (const m of wipe) m.fill(0);
    }
  }

  /** Restores every key of an archive under the same ids; refuses the whole archive on any conflict. */
  async restore(caller: VaultCaller, archive: Uint8Array, shares: readonly string[]): Promise<KeyInfo[]> {
    this.#requireUnsealed();
    policy.checkCaller(caller);
    if (caller.tenant !== null) throw new CityTrustError('AUTH_FORBIDDEN', 'only the city restores the vault');
    policy.checkBytes('archive', archive, policy.LIMITS.archive);
    const header = parseArchiveHeader(archive);
    if (!Array.isArray(shares)) throw new CityTrustError('INPUT_INVALID', 'recovery shares must be a list');
    const collector = new ShareCollector('recovery', header.backupId.subarray(0, 8), header.threshold);
    let key: Uint8Array | undefined;
    try {
      for (const s of shares) {
        key = collector.add(s);
        if (key) break;
      }
    } finally {
      collector.clear();
    }
    if (!key) throw new CityTrustError('VAULT_BACKUP_INVALID', `the archive needs ${header.threshold} recovery shares`);
    let entries: BackupEntry[];
    try {
      entries = openArchive(archive, key);
    } finally {
      key.fill(0);
    }
    try {
      const restored: KeyInfo[] = [];
      await this.#exclusive(async () => {
        this.#requireUnsealed();
        for (const e of entries) {
          if (!/^vk_[0-9a-f]{32}$/.test(e.info.id)) throw new CityTrustError('VAULT_BACKUP_INVALID', 'a key in the archive has a malformed id');
          if (this.#entries.has(e.info.id)) throw new CityTrustError('VAULT_KEY_EXISTS', `key ${e.info.id} is already in the vault`, { details: { keyId: e.info.id } });
        }
        // Build every record first so that a bad entry leaves the keystore untouched.
        const staged = entries.map((e) => {
          const live = new Map<number, LiveVersion>();
          const versions: SealedVersion[] = e.versions.map((v) => {
            live.set(v.version, liveFromMaterial(e.info.type, v.material));
            return this.#sealVersion(e.info, v.version, v.material);
          });
          return { record: { info: e.info, versions }, live, corrupt: false };
        });
        for (const s of staged) {
          await this.#persist(s.record);
          this.#entries.set(s.record.info.id, s);
          restored.push(s.record.info);
        }
      });
      await this.#audit.append({ actor: caller.actor, tenant: null, action: 'vault.restore', subject: Buffer.from(header.backupId).toString('hex'), details: { keys: restored.map((k) => k.id) } });
      return restored;
    } finally {
      for (const e of entries) for (const v of e.versions) v.material.fill(0);
    }
  }

  async close(): Promise<void> {
    await this.#meter.close();
    await this.#queue.catch(() => undefined);
    this.#wipeMemory();
    if (this.#state === 'unsealed') this.#state = 'sealed';
  }

  /** Appends pending key-use counts now (tests, shutdown). */
  flushUsage(): Promise<void> {
    return this.#meter.flush();
  }

  // ---- internals -----------------------------------------------------------------------------

  #zeroized(): never {
    throw new CityTrustError('VAULT_ZEROIZED', 'the vault zeroized its keys after a tamper event');
  }

  #requireUnsealed(): void {
    if (this.#state === 'unsealed') return;
    if (this.#state === 'tampered') this.#zeroized();
    if (this.#state === 'uninitialised') throw new CityTrustError('VAULT_NOT_INITIALISED', 'the vault is not initialised');
    throw new CityTrustError('VAULT_SEALED', 'the vault is sealed');
  }

  #entry(caller: VaultCaller, keyId: string, allowDestroyed = false): Entry {
    this.#requireUnsealed();
    policy.checkCaller(caller);
    policy.checkKeyId(keyId);
    const e = this.#entries.get(keyId);
    policy.assertVisible(caller, e?.record.info);
    if (e!.corrupt) throw new CityTrustError('VAULT_KEY_CORRUPT', 'the key failed its integrity check at unseal');
    if (!allowDestroyed && e!.record.info.destroyedAt !== undefined) throw new CityTrustError('VAULT_KEY_DESTROYED', 'the key was destroyed');
    return e!;
  }

  /** The hot path: state, caller, tenant, usage and version checks, then a counter bump. No I/O. */
  #use(caller: VaultCaller, keyId: string, usage: KeyUsage, version: number | undefined, kind: UseKind): { live: LiveVersion; version: number; info: KeyInfo } {
    const e = this.#entry(caller, keyId);
    const info = e.record.info;
    const v = policy.authorise(info, usage, version);
    const live = e.live.get(v);
    if (!live) throw new CityTrustError('VAULT_KEY_CORRUPT', `version ${v} is unavailable`);
    this.#meter.count(keyId, info.tenant, caller.actor, kind);
    return { live, version: v, info };
  }

  #sealVersion(info: KeyInfo, version: number, material: Uint8Array): SealedVersion {
    const aad = keyAad(this.#meta!.vaultId, info.id, version, info.type, info.tenant, info.extractable, info.usages);
    const { nonce, sealed } = gcmSeal(this.#sub!.seal, material, aad);
    return { version, nonce, sealed };
  }

  async #persist(record: KeyRecord): Promise<void> {
    await writeFileAtomic(this.#keyPath(record.info.id), encodeKeyFile(record, this.#sub!.fileMac));
  }

  #keyPath(keyId: string): string {
    return join(this.#keysDir, `${keyId}.key`);
  }

  #vaultIdHex(): string {
    return this.#meta ? Buffer.from(this.#meta.vaultId).toString('hex') : 'unknown';
  }

  /** Serialises keystore writes; reads and crypto operations never wait on it. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
