/** Tunables of the credential service, with the defaults docs/status-list.md and docs/wallet.md describe. */
import { CityTrustError } from '../core/errors.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Config } from '../core/config.ts';
import type { Clock } from '../core/clock.ts';
import type { Store } from '../store/db.ts';
import type { KeyVault } from '../vault/types.ts';

export interface CredentialSettings {
  /** Entries per status list (≥ 131,072 for herd privacy). */
  readonly statusListSize: number;
  /** A list stops taking new credentials at this share of its size, keeping random allocation cheap. */
  readonly statusListFill: number;
  /** ttl claim of Status List Tokens: how long readers may cache one (seconds). */
  readonly statusTtlSeconds: number;
  /** exp of Status List Tokens after iat (seconds). */
  readonly statusTokenSeconds: number;
  /** exp of trust lists after iat (seconds). */
  readonly trustListSeconds: number;
  /** Validity of an issuer certificate while its key is current (seconds). */
  readonly issuerCertSeconds: number;
  /** Longest credential validity an issuer may ask for (seconds). */
  readonly maxValiditySeconds: number;
  /** Lifetime of a wallet registration challenge and of a sync nonce (seconds). */
  readonly challengeSeconds: number;
  readonly nonceSeconds: number;
  /** Worker threads that seal provisioning envelopes beside the main thread (0 = seal inline). */
  readonly sealWorkers: number;
}

export const DEFAULT_CREDENTIAL_SETTINGS: CredentialSettings = Object.freeze({
  statusListSize: 131072,
  statusListFill: 0.5,
  statusTtlSeconds: 300,
  statusTokenSeconds: 86400,
  trustListSeconds: 86400,
  issuerCertSeconds: 2 * 366 * 86400,
  maxValiditySeconds: 400 * 86400,
  challengeSeconds: 300,
  nonceSeconds: 120,
  sealWorkers: 0,
});

/** The collaborators every credential service takes (DESIGN: domain modules take them as parameters). */
export interface CredentialDeps {
  readonly store: Store;
  readonly vault: KeyVault;
  readonly audit: AuditSink;
  readonly clock: Clock;
  readonly settings?: Partial<CredentialSettings>;
  /**
   * The city PKI root (docs/pki.md), which certifies the credential root so that readers pin one
   * root for everything; undefined while the PKI is not initialised (or in tests without one).
   */
  readonly cityRoot?: () => Promise<CityRootAnchor | undefined>;
}

/** The city PKI root CA as the credential service needs it: its vault key and its certificate. */
export interface CityRootAnchor {
  readonly vaultKeyId: string;
  readonly keyType: 'ec-p256' | 'ec-p384' | 'ed25519';
  /** The root CA certificate, DER. */
  readonly certificate: Uint8Array;
  /** End of the root CA certificate's validity, ms since the epoch. */
  readonly notAfter: number;
}

/** The credential settings of the server configuration (src/core/config.ts, `credentials.*`). */
export function credentialSettingsFromConfig(c: Config['credentials']): CredentialSettings {
  return checkSettings({
    statusListSize: c.statusListSize,
    statusListFill: c.statusListFillPercent / 100,
    statusTtlSeconds: c.statusTtlSeconds,
    statusTokenSeconds: c.statusTokenSeconds,
    trustListSeconds: c.trustListSeconds,
    issuerCertSeconds: c.issuerCertSeconds,
    maxValiditySeconds: c.maxValiditySeconds,
    challengeSeconds: c.challengeSeconds,
    nonceSeconds: c.nonceSeconds,
    sealWorkers: c.sealWorkers,
  });
}

const cache = new WeakMap<CredentialDeps, CredentialSettings>();

/** The effective settings, checked once per set of collaborators; a bad one is CONFIG_INVALID. */
export function settingsOf(deps: CredentialDeps): CredentialSettings {
  let s = cache.get(deps);
  if (s === undefined) {
    s = checkSettings({ ...DEFAULT_CREDENTIAL_SETTINGS, ...deps.settings });
    cache.set(deps, s);
  }
  return s;
}

function checkSettings(s: CredentialSettings): CredentialSettings {
  const bad = (what: string): never => {
    throw new CityTrustError('CONFIG_INVALID', `credential setting ${what}`);
  };
  const positive = (k: keyof CredentialSettings) => {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) bad(`${k} must be a positive whole number`);
  };
  for (const k of ['statusListSize', 'statusTtlSeconds', 'statusTokenSeconds', 'trustListSeconds', 'issuerCertSeconds', 'maxValiditySeconds', 'challengeSeconds', 'nonceSeconds'] as const) positive(k);
  // 2 bits an entry, whole bytes (Token Status List §4.1), at most MAX_STATUS_LIST_BYTES decompressed.
  if (s.statusListSize % 4 !== 0 || s.statusListSize > 4 * 1024 * 1024) bad('statusListSize must be a multiple of 4 up to 4,194,304');
  if (!(s.statusListFill > 0 && s.statusListFill <= 0.9)) bad('statusListFill must be in (0, 0.9]');
  if (s.statusTtlSeconds >= s.statusTokenSeconds) bad('statusTtlSeconds must be shorter than statusTokenSeconds');
  if (s.maxValiditySeconds > s.issuerCertSeconds) bad('maxValiditySeconds must not exceed issuerCertSeconds');
  if (!Number.isSafeInteger(s.sealWorkers) || s.sealWorkers < 0 || s.sealWorkers > 64) bad('sealWorkers must be 0..64');
  return Object.freeze(s);
}

export function seconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
