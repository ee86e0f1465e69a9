/** Tunables of the credential service, with the defaults docs/status-list.md and docs/wallet.md describe. */
import type { AuditSink } from '../audit/types.ts';
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
});

/** The collaborators every credential service takes (DESIGN: domain modules take them as parameters). */
export interface CredentialDeps {
  readonly store: Store;
  readonly vault: KeyVault;
  readonly audit: AuditSink;
  readonly clock: Clock;
  readonly settings?: Partial<CredentialSettings>;
}

export function settingsOf(deps: CredentialDeps): CredentialSettings {
  return { ...DEFAULT_CREDENTIAL_SETTINGS, ...deps.settings };
}

export function seconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
