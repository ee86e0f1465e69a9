/** Issued certificates as the store keeps them, and how they are shown. */
import type { PkiCertificatesTable } from '../store/schema.ts';
import { toPem } from './x509/der.ts';
import type { RevocationReason } from './x509/extensions.ts';
import type { ProfileName } from './profiles.ts';

export type CertStatus = 'good' | 'revoked' | 'hold';

export interface CertificateInfo {
  serial: string;
  caId: string;
  tenant: string | null;
  deviceId: string | null;
  profile: ProfileName;
  subject: string;
  sans: string[];
  notBefore: number;
  notAfter: number;
  status: CertStatus;
  revokedAt: number | null;
  reason: RevocationReason | null;
  createdAt: number;
  createdBy: string;
  /** SHA-256 of the certificate DER, hex. */
  fingerprint: string;
  certificatePem: string;
}

export function certificateInfo(r: PkiCertificatesTable): CertificateInfo {
  return {
    serial: r.serial,
    caId: r.ca_id,
    tenant: r.tenant_id,
    deviceId: r.device_id,
    profile: r.profile as ProfileName,
    subject: r.subject,
    sans: JSON.parse(r.sans) as string[],
    notBefore: Number(r.not_before),
    notAfter: Number(r.not_after),
    status: r.status,
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    reason: r.reason as RevocationReason | null,
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
    fingerprint: Buffer.from(r.fingerprint).toString('hex'),
    certificatePem: toPem('CERTIFICATE', new Uint8Array(r.der)),
  };
}

/** What enrolment and issuance hand back: the certificate and the chain above it (issuing CA first, root last). */
export interface IssuedCertificate {
  serial: string;
  caId: string;
  profile: ProfileName;
  tenant: string | null;
  deviceId: string | null;
  subject: string;
  sans: string[];
  notBefore: number;
  notAfter: number;
  der: Uint8Array;
  certificatePem: string;
  chainPem: string[];
}

/** Reasons an operator may give (RFC 5280 §5.3.1); certificateHold is driven by device suspension, cACompromise is not for end entities. */
export const OPERATOR_REASONS: readonly RevocationReason[] = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'];
