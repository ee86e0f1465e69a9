/**
 * Table types for Kysely. One interface per table; every domain adds its tables here and a
 * migration under ./migrations. Columns use portable types: integers are JS numbers
 * (PostgreSQL int8 is parsed to number, safe below 2^53), binary columns are Uint8Array
 * (SQLite BLOB, PostgreSQL bytea), JSON is stored as text.
 */
import type { Generated } from 'kysely';

export interface TenantsTable {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  created_at: number;
}

export interface ApiTokensTable {
  id: string;
  /** null for city-wide tokens (city-admin, city auditors). */
  tenant_id: string | null;
  label: string;
  /** JSON array of roles. */
  roles: string;
  /** SHA-256 of the secret part; the secret itself is never stored. */
  secret_hash: Uint8Array;
  created_at: number;
  created_by: string;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface AuditEventsTable {
  /** 0-based leaf index in the Merkle log; dense, no gaps. */
  seq: number;
  ts: number;
  tenant: string | null;
  actor: string;
  action: string;
  subject: string;
  /** Canonical JSON of details ("{}" when none). */
  details: string;
  /** RFC 9162 leaf hash of the canonical leaf bytes, kept to rebuild the tree fast; `audit verify` recomputes it. */
  leaf_hash: Uint8Array;
}

/** One row (id = 1): the log's size and root after the last commit; the row every appender locks. */
export interface AuditHeadTable {
  id: number;
  size: number;
  root: Uint8Array;
}

export interface AuditCheckpointsTable {
  size: number;
  root: Uint8Array;
  note: string;
  created_at: number;
}

export interface MetaTable {
  key: string;
  value: string;
}

/** A CA of the hierarchy: the root and the issuing CAs per purpose, every generation (rollover). */
export interface PkiCasTable {
  /** `<purpose>-<generation>`, e.g. `root-1`, `meters-2`; appears in CRL and AIA URLs. */
  id: string;
  purpose: string;
  generation: number;
  /** null for the root. */
  parent_id: string | null;
  /** Vault key id of the CA key (city scope). */
  key_id: string;
  key_type: string;
  cert_der: Uint8Array;
  serial: string;
  subject: string;
  not_before: number;
  not_after: number;
  /** `active` issues; `retired` (after rollover) only signs CRLs and OCSP until it expires. */
  state: 'active' | 'retired';
  /** Last CRL number used (RFC 5280 §5.2.3), monotonically increasing. */
  crl_number: number;
  created_at: number;
}

/** Every certificate the CAs issued (end entities and OCSP signers). */
export interface PkiCertificatesTable {
  /** Lower-case hex of the serial number, unique across the hierarchy. */
  serial: string;
  ca_id: string;
  /** null for the city's own certificates (server TLS, OCSP signers). */
  tenant_id: string | null;
  device_id: string | null;
  profile: string;
  subject: string;
  /** JSON array of SAN strings (`dns:…`, `ip:…`, `uri:…`). */
  sans: string;
  not_before: number;
  not_after: number;
  /** SHA-256 of the SubjectPublicKeyInfo: finds reused and compromised keys. */
  key_sha256: Uint8Array;
  /** SHA-256 of the certificate DER: maps a TLS client certificate to its row. */
  fingerprint: Uint8Array;
  der: Uint8Array;
  status: 'good' | 'revoked' | 'hold';
  revoked_at: number | null;
  /** RFC 5280 §5.3.1 CRLReason name. */
  reason: string | null;
  /** Vault key id when the city holds the key (OCSP signers). */
  key_id: string | null;
  created_at: number;
  created_by: string;
}

/** Devices of the registry (docs/pki.md, device lifecycle); the id is unique within a tenant. */
export interface DevicesTable {
  tenant_id: string;
  id: string;
  type: string;
  site: string;
  label: string;
  state: 'pending' | 'active' | 'suspended' | 'compromised' | 'retired';
  created_at: number;
  updated_at: number;
  created_by: string;
}

/** One-time bootstrap tokens for first enrolment; only a hash of the secret is stored. */
export interface DeviceBootstrapTokensTable {
  id: string;
  tenant_id: string;
  device_id: string;
  secret_hash: Uint8Array;
  created_at: number;
  created_by: string;
  expires_at: number;
  used_at: number | null;
}

export interface Database {
  tenants: TenantsTable;
  api_tokens: ApiTokensTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
  meta: MetaTable;
  pki_cas: PkiCasTable;
  pki_certificates: PkiCertificatesTable;
  devices: DevicesTable;
  device_bootstrap_tokens: DeviceBootstrapTokensTable;
}

export type { Generated };
