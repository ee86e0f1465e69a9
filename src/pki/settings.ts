/** What the PKI needs from configuration (src/core/config.ts `pki.*`), with the defaults it documents. */
import type { PkiKeyType } from './x509/keys.ts';

export interface PkiSettings {
  /** Where this server is reached; AIA and CRL distribution point URLs start with it. */
  readonly baseUrl: string;
  /** O= of every CA and city certificate. */
  readonly organization: string;
  readonly rootKeyType: PkiKeyType;
  readonly issuingKeyType: PkiKeyType;
  readonly rootCaDays: number;
  readonly issuingCaDays: number;
  readonly deviceCertDays: number;
  readonly serviceCertDays: number;
  readonly codeSigningCertDays: number;
  readonly ocspSignerDays: number;
  /** CRL nextUpdate − thisUpdate; CRLs are re-signed at half of it even without revocations. */
  readonly crlHours: number;
  /** OCSP nextUpdate − thisUpdate; cached responses are re-signed at half of it. */
  readonly ocspMinutes: number;
  /** How long a cached OCSP response is served before its status is re-read from the store (other instances may have revoked). */
  readonly ocspRecheckSeconds: number;
  /** dNSName name constraints of the services CA (empty: none). */
  readonly serviceDomains: readonly string[];
  readonly bootstrapTtlSeconds: number;
}

export const DEFAULT_PKI_SETTINGS: PkiSettings = {
  baseUrl: 'http://127.0.0.1:8080',
  organization: 'citytrust city',
  rootKeyType: 'ec-p384',
  issuingKeyType: 'ec-p256',
  rootCaDays: 20 * 365,
  issuingCaDays: 5 * 365,
  deviceCertDays: 365,
  serviceCertDays: 90,
  codeSigningCertDays: 365,
  ocspSignerDays: 30,
  crlHours: 24,
  ocspMinutes: 60,
  ocspRecheckSeconds: 5,
  serviceDomains: ['localhost', 'citytrust.local'],
  bootstrapTtlSeconds: 7 * 24 * 3600,
};
