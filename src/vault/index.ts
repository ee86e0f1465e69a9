/**
 * The key vault: every private key of citytrust lives behind this API. Domains take a
 * `KeyVault` as a parameter; only server, cli and sim open a backend.
 */
export type {
  KeyVault,
  Sealable,
  TamperResponsive,
  KeyBackup,
  KeyImport,
  KeyType,
  KeyUsage,
  VaultCaller,
  CreateKeyOptions,
  KeyInfo,
  KeyVersionInfo,
  VersionState,
  PublicKeyInfo,
  SignatureFormat,
  SignOptions,
  Signature,
  VerifyOptions,
  AeadCiphertext,
  DecryptInput,
  DeriveOptions,
  UnwrapOptions,
  ListOptions,
  VaultState,
  VaultStatus,
  TamperSource,
  BackupResult,
} from './types.ts';
export { KEY_TYPES, SYSTEM_CALLER } from './types.ts';
export { ALLOWED_USAGES, RETIRED_USAGES, LIMITS } from './policy.ts';
export { SoftwareVault, type SoftwareVaultOptions, type InitOptions, type InitResult } from './software/vault.ts';
export { Pkcs11Vault, type Pkcs11VaultOptions } from './pkcs11/vault.ts';
export { EnvelopeCipher, ENVELOPE_OVERHEAD } from './envelope.ts';
export { vaultNoteSigner } from './note-signer.ts';
export { CHECKPOINT_ACTOR } from './usage.ts';
export { TamperMonitor, SimulatedSensors, DEFAULT_SAFE_RANGES, unsafeReason, type SensorFeed, type SensorReading, type SafeRanges } from './tamper.ts';
export { splitSecret, combineShares, type SharePoint } from './shamir/shamir.ts';
export { encodeShare, decodeShare, SHARE_PREFIX, type Share, type ShareKind } from './shamir/share-format.ts';
export { ShareCollector, type ShareProgress } from './shamir/collector.ts';
