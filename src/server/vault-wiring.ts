/**
 * Opens the configured key vault and binds the audit log's checkpoint signer to a vault key.
 *
 * The audit log and the vault need each other: the vault records its lifecycle in the log,
 * and the log's checkpoints are signed by a vault key. The log is therefore opened first
 * with a `DeferredNoteSigner` that is bound once the vault is unsealed (at start with the
 * development key file, or later when operators unseal it). Until then appends work and are
 * durable; only checkpoint signing waits, and the verifier key is already known from the
 * store so auditors can verify existing checkpoints while the vault is sealed.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { Config } from '../core/config.ts';
import { CityTrustError } from '../core/errors.ts';
import { fromBase64, toBase64 } from '../core/bytes.ts';
import type { AuditSink, NoteSigner } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import { SoftwareVault } from '../vault/software/vault.ts';
import { vaultNoteSigner } from '../vault/note-signer.ts';
import type { KeyVault, Sealable, TamperResponsive, KeyBackup, VaultCaller } from '../vault/types.ts';

export type ConfiguredVault = KeyVault & Partial<Sealable & TamperResponsive & KeyBackup>;

export const DEV_UNSEAL_FILE = 'vault-dev-unseal.key';
const CHECKPOINT_KEY_ID = 'audit.checkpointKeyId';
const CHECKPOINT_PUBLIC_KEY = 'audit.checkpointPublicKey';
/** The city's own identity when the platform acts by itself (init, checkpoints). */
export const PLATFORM_CALLER: VaultCaller = { actor: 'system:platform', tenant: null };

/** A NoteSigner whose key arrives later; signing before then fails with VAULT_SEALED. */
export class DeferredNoteSigner implements NoteSigner {
  readonly name: string;
  #inner: NoteSigner | undefined;
  #publicKey: Uint8Array | undefined;
  constructor(name: string) {
    this.name = name;
  }
  get bound(): boolean {
    return this.#inner !== undefined;
  }
  get publicKey(): Uint8Array {
    const k = this.#inner?.publicKey ?? this.#publicKey;
    if (!k) throw new CityTrustError('VAULT_SEALED', 'the audit checkpoint key is not available until the vault is initialised and unsealed');
    return k;
  }
  /** The published verifier key, known before the vault is unsealed. */
  setPublicKey(k: Uint8Array): void {
    this.#publicKey = k;
  }
  bind(inner: NoteSigner): void {
    this.#inner = inner;
  }
  unbind(): void {
    this.#inner = undefined;
  }
  async sign(message: Uint8Array): Promise<Uint8Array> {
    if (!this.#inner) throw new CityTrustError('VAULT_SEALED', 'checkpoints are signed once the vault is unsealed');
    return this.#inner.sign(message);
  }
}

export async function openVault(config: Config, deps: { clock: Clock; logger: Logger; audit: AuditSink }): Promise<ConfiguredVault> {
  if (config.vault.backend === 'pkcs11') {
    const library = config.vault.pkcs11.library;
    const pin = process.env.CITYTRUST_PKCS11_PIN;
    if (!library) throw new CityTrustError('CONFIG_INVALID', 'configuration key "vault.pkcs11.library" is needed for the pkcs11 backend', { details: { key: 'vault.pkcs11.library' } });
    if (!pin) throw new CityTrustError('CONFIG_INVALID', 'the PKCS#11 user PIN must be given in CITYTRUST_PKCS11_PIN', { details: { key: 'CITYTRUST_PKCS11_PIN' } });
    // Loaded on demand: the native addon is needed only when an HSM is configured.
    const { Pkcs11Vault } = await import('../vault/pkcs11/vault.ts');
    return Pkcs11Vault.open({ library, tokenLabel: config.vault.pkcs11.tokenLabel, pin, sessions: config.vault.pkcs11.sessions, ...deps });
  }
  const devFile = config.vault.devUnseal ? join(config.dataDir, DEV_UNSEAL_FILE) : undefined;
  const vault = await SoftwareVault.open({
    dataDir: join(config.dataDir, 'vault'),
    maxUnsealFailures: config.vault.maxUnsealFailures,
    ...deps,
    ...(devFile && (await fileExists(devFile)) ? { devUnsealKeyFile: devFile } : {}),
  });
  if (devFile && vault.status().state === 'uninitialised') {
    // Development mode on a fresh data directory: initialise unattended. The shares are
    // discarded on purpose; the key file on disk is what unseals this vault.
    deps.logger.warn('vault: DEVELOPMENT MODE — initialising with the master key in a file; never use this outside a demo or a test');
    await vault.init(PLATFORM_CALLER, { shares: 1, threshold: 1, devUnsealKeyFile: devFile });
  }
  return vault;
}

async function fileExists(p: string): Promise<boolean> {
  const { access } = await import('node:fs/promises');
  return access(p).then(
    () => true,
    () => false,
  );
}

/** Records the verifier key the store knows of, so verification works while sealed. */
export async function loadPublishedCheckpointKey(store: Store, signer: DeferredNoteSigner): Promise<void> {
  const row = await store.db.selectFrom('meta').select('value').where('key', '=', CHECKPOINT_PUBLIC_KEY).executeTakeFirst();
  if (row) signer.setPublicKey(fromBase64(row.value));
}

/**
 * Binds the checkpoint signer to the city's Ed25519 checkpoint key, creating the key the
 * first time (at init). Two instances racing here both read the id the first one stored.
 */
export async function bindCheckpointSigner(store: Store, vault: KeyVault, signer: DeferredNoteSigner): Promise<void> {
  if (vault.status().state !== 'unsealed') return;
  let row = await store.db.selectFrom('meta').select('value').where('key', '=', CHECKPOINT_KEY_ID).executeTakeFirst();
  if (!row) {
    const key = await vault.createKey(PLATFORM_CALLER, { type: 'ed25519', label: 'audit checkpoint signing', usages: ['sign', 'verify'] });
    const pub = await vault.publicKey(PLATFORM_CALLER, key.id);
    await store.db
      .insertInto('meta')
      .values([
        { key: CHECKPOINT_KEY_ID, value: key.id },
        { key: CHECKPOINT_PUBLIC_KEY, value: toBase64(pub.raw) },
      ])
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    row = await store.db.selectFrom('meta').select('value').where('key', '=', CHECKPOINT_KEY_ID).executeTakeFirstOrThrow();
    if (row.value !== key.id) await vault.destroyKey(PLATFORM_CALLER, key.id);
  }
  const inner = await vaultNoteSigner(vault, row.value, signer.name);
  signer.setPublicKey(inner.publicKey);
  signer.bind(inner);
}
