/**
 * The key vault's contract. `KeyVault` is what every domain calls; the optional abilities
 * (sealing, tamper response, backup, import) are separate interfaces because not every
 * backend has them — a PKCS#11 HSM seals itself and backs up with its vendor's tools —
 * in the way smallstep keeps CertificateAuthorityService apart from CRLGenerator.
 *
 * Every call names its caller. The caller's tenant scopes what it can see: a key of another
 * tenant answers VAULT_KEY_NOT_FOUND exactly as a key that does not exist, so that a tenant
 * cannot probe the ids of others (TENANT_FORBIDDEN would confirm the key is there).
 */

export type KeyType = 'ec-p256' | 'ec-p384' | 'ed25519' | 'aes-256-gcm' | 'hmac-sha256';
export const KEY_TYPES: readonly KeyType[] = ['ec-p256', 'ec-p384', 'ed25519', 'aes-256-gcm', 'hmac-sha256'];

/**
 * What a key may be used for. `verify` covers signature and MAC verification; `derive` is
 * ECDH; `wrap`/`unwrap` move extractable keys in and out under this (AES) key.
 */
export type KeyUsage = 'sign' | 'verify' | 'encrypt' | 'decrypt' | 'derive' | 'mac' | 'wrap' | 'unwrap';

/** Who is calling: an actor for the audit log and a tenant scope (null = the city). */
export interface VaultCaller {
  readonly actor: string;
  readonly tenant: string | null;
}

/** The caller the system itself uses (startup, checkpoints): city scope. */
export const SYSTEM_CALLER: VaultCaller = { actor: 'system', tenant: null };

export interface CreateKeyOptions {
  readonly type: KeyType;
  /** Free text for people, 1..128 printable characters; not unique. */
  readonly label: string;
  /** Defaults per type: sign+verify, encrypt+decrypt, mac+verify. */
  readonly usages?: readonly KeyUsage[];
  /** Default false: the key can never be wrapped out (backup aside). */
  readonly extractable?: boolean;
}

export type VersionState = 'active' | 'retired';

export interface KeyVersionInfo {
  readonly version: number;
  readonly state: VersionState;
  /** Milliseconds since the epoch, from the vault's Clock. */
  readonly createdAt: number;
}

export interface KeyInfo {
  /** `vk_` followed by 32 lower-case hex digits; chosen by the vault. */
  readonly id: string;
  readonly label: string;
  readonly tenant: string | null;
  readonly type: KeyType;
  readonly usages: readonly KeyUsage[];
  readonly extractable: boolean;
  /** The version that signs, encrypts, MACs and derives. */
  readonly currentVersion: number;
  readonly versions: readonly KeyVersionInfo[];
  readonly createdAt: number;
  readonly destroyedAt?: number;
}

export interface PublicKeyInfo {
  readonly keyId: string;
  readonly version: number;
  readonly type: 'ec-p256' | 'ec-p384' | 'ed25519';
  /** SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7). */
  readonly spki: Uint8Array;
  /** Uncompressed SEC 1 point (0x04 ‖ x ‖ y) for EC; the 32-byte key for Ed25519 (RFC 8032). */
  readonly raw: Uint8Array;
}

/**
 * ECDSA signature encoding, always named by the caller, never sniffed from bytes:
 * `p1363` is r ‖ s of fixed length (what COSE and JOSE need, RFC 9053 §2.1),
 * `der` is the ASN.1 Ecdsa-Sig-Value (what X.509 and CMS need, RFC 5480 §2.2 / RFC 3279).
 * Ed25519 has one encoding (RFC 8032 §5.1.6) and ignores this field.
 */
export type SignatureFormat = 'p1363' | 'der';

export interface SignOptions {
  readonly format?: SignatureFormat;
}

export interface Signature {
  readonly keyId: string;
  readonly version: number;
  readonly signature: Uint8Array;
}

export interface VerifyOptions {
  readonly format?: SignatureFormat;
  /** Defaults to the current version; name an older one to check old signatures. */
  readonly version?: number;
}

/** AES-256-GCM result; `ciphertext` is the encrypted data followed by the 16-byte tag. */
export interface AeadCiphertext {
  readonly keyId: string;
  readonly version: number;
  /** 12 random bytes chosen by the vault, never by the caller (no nonce reuse by mistake). */
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export interface DecryptInput {
  readonly version: number;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export interface DeriveOptions {
  /** The peer's public key: SPKI DER or an uncompressed point on the key's curve. */
  readonly peerPublicKey: Uint8Array;
  /** HKDF-SHA256 salt (RFC 5869 §2.2); empty when omitted. */
  readonly salt?: Uint8Array;
  /** HKDF-SHA256 info (RFC 5869 §2.3). */
  readonly info: Uint8Array;
  /** Output length in bytes, 16..64. */
  readonly length: number;
}

export interface UnwrapOptions {
  readonly label: string;
  readonly usages?: readonly KeyUsage[];
  readonly extractable?: boolean;
}

export interface ListOptions {
  readonly includeDestroyed?: boolean;
}

export type VaultState = 'uninitialised' | 'sealed' | 'unsealed' | 'tampered';

export interface VaultStatus {
  readonly backend: 'software' | 'pkcs11';
  readonly state: VaultState;
  /** While sealed: how many unseal shares are in and how many are needed. */
  readonly unseal?: { readonly threshold: number; readonly received: number };
  /** After a tamper event: when and why. */
  readonly tamper?: { readonly at: number; readonly source: TamperSource; readonly reason: string };
}

/** The operations every backend offers. */
export interface KeyVault {
  status(): VaultStatus;
  createKey(caller: VaultCaller, options: CreateKeyOptions): Promise<KeyInfo>;
  getKey(caller: VaultCaller, keyId: string): Promise<KeyInfo>;
  listKeys(caller: VaultCaller, options?: ListOptions): Promise<KeyInfo[]>;
  publicKey(caller: VaultCaller, keyId: string, version?: number): Promise<PublicKeyInfo>;
  sign(caller: VaultCaller, keyId: string, data: Uint8Array, options?: SignOptions): Promise<Signature>;
  verify(caller: VaultCaller, keyId: string, data: Uint8Array, signature: Uint8Array, options?: VerifyOptions): Promise<boolean>;
  encrypt(caller: VaultCaller, keyId: string, plaintext: Uint8Array, aad?: Uint8Array): Promise<AeadCiphertext>;
  decrypt(caller: VaultCaller, keyId: string, input: DecryptInput, aad?: Uint8Array): Promise<Uint8Array>;
  /** ECDH (SEC 1 §3.3.1) then HKDF-SHA256 (RFC 5869); the output is a session key and leaves the vault. */
  deriveKey(caller: VaultCaller, keyId: string, options: DeriveOptions): Promise<Uint8Array>;
  /** HMAC-SHA256 (RFC 2104), 32 bytes. */
  mac(caller: VaultCaller, keyId: string, data: Uint8Array): Promise<Uint8Array>;
  /** Constant-time; any retained version may verify. */
  verifyMac(caller: VaultCaller, keyId: string, data: Uint8Array, tag: Uint8Array, version?: number): Promise<boolean>;
  /** Exports an extractable key's current version encrypted under an AES key with `wrap`. */
  wrapKey(caller: VaultCaller, wrappingKeyId: string, keyId: string): Promise<Uint8Array>;
  /** Imports a wrapped key as a new key of the caller's tenant. */
  unwrapKey(caller: VaultCaller, wrappingKeyId: string, wrapped: Uint8Array, options: UnwrapOptions): Promise<KeyInfo>;
  /** New version; older versions keep verify, decrypt and unwrap only. */
  rotateKey(caller: VaultCaller, keyId: string): Promise<KeyInfo>;
  /** Destroys every version; the id stays as a tombstone so it is never reused. */
  destroyKey(caller: VaultCaller, keyId: string): Promise<void>;
  /** Flushes usage counters and releases resources. */
  close(): Promise<void>;
}

/** Unseal by threshold shares, seal on demand. */
export interface Sealable {
  unseal(share: string): Promise<{ readonly threshold: number; readonly received: number; readonly unsealed: boolean }>;
  /** Drops any shares entered so far. */
  resetUnseal(): void;
  seal(caller: VaultCaller): Promise<void>;
}

export type TamperSource = 'api' | 'sensor' | 'unseal-failures';

/** Zeroization on a tamper event. */
export interface TamperResponsive {
  /** Zeroizes in memory synchronously before the first await; resolves once files are gone and the event is audited. */
  tamper(caller: VaultCaller, source: TamperSource, reason: string): Promise<void>;
}

export interface BackupResult {
  /** The archive (see docs/vault.md, backup format); safe to store anywhere. */
  readonly archive: Uint8Array;
  /** Recovery shares for the custodians; shown once, never stored. */
  readonly shares: string[];
  readonly keyCount: number;
}

/** Wrapped export of every key for M-of-N recovery. City scope only. */
export interface KeyBackup {
  backup(caller: VaultCaller, options: { readonly shares: number; readonly threshold: number }): Promise<BackupResult>;
  restore(caller: VaultCaller, archive: Uint8Array, shares: readonly string[]): Promise<KeyInfo[]>;
}

/** Bringing an existing private key in (migration); generated keys are always preferred. */
export interface KeyImport {
  importKey(caller: VaultCaller, options: CreateKeyOptions & { readonly pkcs8OrRaw: Uint8Array }): Promise<KeyInfo>;
}
