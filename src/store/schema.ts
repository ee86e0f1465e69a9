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
  /** JSON object artifact name → version, from the device's last signed install report (migration 0051). */
  firmware: string;
  firmware_reported_at: number | null;
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

// credentials, wallets, status lists, offers (migration 0020)
export interface CredentialRootsTable {
  id: string;
  vault_key_id: string;
  kid: Uint8Array;
  /** Canonical SPKI of the city credential root. */
  public_key: Uint8Array;
  created_at: number;
}

export interface CredentialIssuerKeysTable {
  /** Hex of the 8-byte key id. */
  kid: string;
  tenant_id: string;
  vault_key_id: string;
  alg: 'ES256' | 'EdDSA';
  public_key: Uint8Array;
  certificate: Uint8Array;
  cert_exp: number;
  state: 'active' | 'retired';
  created_at: number;
  retired_at: number | null;
  /** The latest exp of any credential this key signed (seconds). */
  last_expiry: number;
}

export interface CredentialTenantKeysTable {
  tenant_id: string;
  /** AES-256-GCM vault key encrypting holder data keys (EnvelopeCipher). */
  kek_id: string;
  /** HMAC-SHA256 vault key of the holder index. */
  index_key_id: string;
  created_at: number;
}

export interface CredentialTemplatesTable {
  tenant_id: string;
  id: string;
  name: string;
  validity_seconds: number;
  /** Grants as JSON. */
  grants: string;
  created_at: number;
}

export interface StatusListsTable {
  id: string;
  tenant_id: string;
  bits: number;
  size: number;
  allocated: number;
  /** Grows with every status change; a published token names the version it shows. */
  version: number;
  state: 'open' | 'full';
  created_at: number;
  updated_at: number;
}

export interface WalletsTable {
  id: string;
  tenant_id: string;
  /** Uncompressed SEC 1 point of the secure-element key. */
  public_key: Uint8Array;
  kid: Uint8Array;
  attestation_format: string;
  attestation: Uint8Array | null;
  label: string;
  state: 'active' | 'inactive';
  /** Sequence number the next delivery gets. */
  next_seq: number;
  acked_seq: number;
  created_at: number;
}

export interface WalletChallengesTable {
  id: string;
  tenant_id: string;
  wallet_id: string | null;
  kind: 'register' | 'sync';
  challenge: Uint8Array;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

export interface CredentialsTable {
  /** cti in hex. */
  id: string;
  tenant_id: string;
  template_id: string | null;
  wallet_id: string;
  issuer_kid: string;
  status: 'active' | 'suspended' | 'revoked';
  status_list_id: string;
  status_idx: number;
  iat: number;
  nbf: number;
  exp: number;
  credential: Uint8Array;
  /** HMAC of the normalised holder e-mail (vault key); never the e-mail. */
  holder_index: Uint8Array | null;
  /** EnvelopeCipher ciphertext of {name, email}. */
  holder_data: Uint8Array | null;
  replaces: string | null;
  replaced_by: string | null;
  reason: string | null;
  created_at: number;
  updated_at: number;
}

export interface WalletDeliveriesTable {
  wallet_id: string;
  seq: number;
  id: string;
  tenant_id: string;
  credential_id: string;
  kind: 'credential' | 'status';
  /** COSE_Encrypt0 sealed to the wallet key: the server cannot read it back. */
  envelope: Uint8Array;
  created_at: number;
  delivered_at: number | null;
}

export interface OfferRulesTable {
  tenant_id: string;
  id: string;
  rule: string;
  created_at: number;
}

export interface HolderAttributesTable {
  wallet_id: string;
  tenant_id: string;
  /** EnvelopeCipher ciphertext of the attributes JSON. */
  data: Uint8Array;
  updated_at: number;
}

export interface OfferConsentsTable {
  id: string;
  tenant_id: string;
  wallet_id: string;
  /** JSON array of attribute names. */
  attributes: string;
  purpose: string;
  granted_at: number;
  revoked_at: number | null;
}

// readers: tap events uploaded by readers (migration 0030, docs/reader.md)

/** A reader that has uploaded or fetched trust data, with the counters the dashboard shows. */
export interface ReadersTable {
  tenant_id: string;
  /** The device id of the reader (its certificate's device URN). */
  id: string;
  site: string;
  /** reader or gate (the certificate profile). */
  profile: string;
  first_seen: number;
  last_seen: number;
  last_upload_at: number | null;
  /** Highest event sequence number received. */
  last_seq: number;
  events_total: number;
  granted_total: number;
  denied_total: number;
  /** Denials that point at an attack (forged, cloned, replayed, relayed…), see docs/reader.md. */
  alerts_total: number;
}

/** One tap as the reader recorded it; (tenant, reader, queue instance, seq) is unique, so re-uploads count once. */
export interface ReaderEventsTable {
  tenant_id: string;
  reader_id: string;
  /** The reader queue's random id: a reader whose storage was wiped starts a new sequence. */
  instance: string;
  seq: number;
  /** Reader clock, ms. */
  at: number;
  received_at: number;
  site: string;
  /** 1 granted, 0 refused. */
  allow: number;
  reason: string;
  code: string | null;
  by_party: string;
  resource: string | null;
  /** JSON array, or null. */
  zones: string | null;
  credential_id: string | null;
  issuer: string | null;
  status_stale: number;
  session: string | null;
  /** SHA-256 of the signed batch it came in (reader_event_batches.hash). */
  batch_hash: Uint8Array;
}

/** Every signed batch as received: the reader's signature can be checked again at any time. */
export interface ReaderEventBatchesTable {
  hash: Uint8Array;
  tenant_id: string;
  reader_id: string;
  /** The COSE_Sign1 exactly as uploaded. */
  signed: Uint8Array;
  first_seq: number;
  last_seq: number;
  count: number;
  received_at: number;
}

// updates: TUF repositories (migration 0050, docs/updates.md)
export interface UpdateReposTable {
  /** Globally unique: it is the path segment of /updates/<repo>/… */
  id: string;
  tenant_id: string;
  /** JSON array of the device classes this repository serves. */
  device_classes: string;
  /** `pending-root` until the first root carries its threshold of signatures. */
  state: 'pending-root' | 'ready';
  created_at: number;
  created_by: string;
}

export interface UpdateKeysTable {
  repo_id: string;
  /** TUF keyid: hex SHA-256 of the canonical JSON of the public key object. */
  keyid: string;
  keytype: 'ed25519' | 'ecdsa-sha2-nistp256';
  scheme: 'ed25519' | 'ecdsa-sha2-nistp256';
  /** keyval.public exactly as it appears in metadata. */
  public: string;
  /** null for offline keys, whose custodians sign elsewhere. */
  vault_key_id: string | null;
  label: string;
  state: 'active' | 'revoked';
  created_at: number;
  revoked_at: number | null;
}

export interface UpdateRolesTable {
  repo_id: string;
  /** root, targets, snapshot, timestamp, or a delegated role name. */
  name: string;
  /** JSON array of keyids. */
  keyids: string;
  threshold: number;
  /** Delegated roles only: JSON array of device classes (paths images/<class>/*). */
  device_classes: string | null;
  created_at: number;
  updated_at: number;
}

export interface UpdateMetadataTable {
  repo_id: string;
  role: string;
  version: number;
  /** The signed metadata file, served byte for byte. */
  body: Uint8Array;
  expires_at: number;
  created_at: number;
}

export interface UpdateRootDraftsTable {
  repo_id: string;
  version: number;
  /** JSON of the signed part (UTF-8); its OLPC canonical form is what custodians sign. */
  signed: Uint8Array;
  /** JSON object keyid -> hex signature. */
  signatures: string;
  reason: string;
  created_at: number;
  created_by: string;
}

export interface UpdateTargetsTable {
  repo_id: string;
  path: string;
  /** The role whose metadata lists the target. */
  role: string;
  length: number;
  sha256: string;
  /** JSON of the TUF custom field. */
  custom: string;
  content: Uint8Array;
  created_at: number;
  created_by: string;
}

export interface UpdateReleasesTable {
  repo_id: string;
  device_class: string;
  name: string;
  version: string;
  target_path: string;
  percent: number;
  /** JSON array of sites that get the release whatever the percentage. */
  sites: string;
  state: 'active' | 'halted';
  updated_at: number;
  updated_by: string;
}

export interface UpdateDeviceVersionsTable {
  tenant_id: string;
  device_id: string;
  name: string;
  repo_id: string;
  device_class: string;
  version: string;
  target_path: string;
  sha256: string;
  seq: number;
  reported_at: number;
  received_at: number;
}

export interface UpdateDeviceReportsTable {
  tenant_id: string;
  device_id: string;
  last_seq: number;
  received_at: number;
}

// metering (migration 0040, docs/metering.md)
export interface MeteringTenantsTable {
  tenant_id: string;
  /** Vault ec-p256 key (usage derive): the head-end's key-agreement key. */
  ka_key_id: string;
  /** Vault ec-p256 key (sign): signs commands to meters. */
  command_key_id: string;
  /** Vault aes-256-gcm key: KEK of customer data (EnvelopeCipher). */
  kek_id: string;
  /** PKI serial of the certificate of the key-agreement key (null until issued). */
  ka_cert_serial: string | null;
  /** PKI serial of the certificate of the command key (null until issued). */
  command_cert_serial: string | null;
  created_at: number;
}

export interface MetersTable {
  tenant_id: string;
  id: string;
  district: string;
  class: string;
  system_title: Uint8Array;
  /** EnvelopeCipher-sealed JSON {name, address, protected}. */
  customer: Uint8Array;
  relay: 'connected' | 'disconnected' | 'unknown';
  /** Highest invocation counter of a stored uplink frame (0 = none). */
  last_counter: number;
  last_time: number | null;
  last_import: number | null;
  last_export: number | null;
  last_received_at: number | null;
  /** Last command counter used towards the meter. */
  command_counter: number;
  tariff_id: number | null;
  created_at: number;
  updated_at: number;
  created_by: string;
}

export interface MeterKeyEpochsTable {
  tenant_id: string;
  meter_id: string;
  key_id: Uint8Array;
  ephemeral_public: Uint8Array;
  /** Hex id of the head-end key-agreement key the meter agreed with. */
  ka_key_id: string;
  cert_serial: string;
  cert_spki: Uint8Array;
  cert_not_after: number;
  counter: number;
  created_at: number;
}

export interface MeterReadingsTable {
  tenant_id: string;
  meter_id: string;
  counter: number;
  meter_time: number;
  received_at: number;
  import_wh: number;
  export_wh: number;
  power_w: number;
  status: number;
  /** Comma-separated plausibility alert kinds ('' = plausible). */
  flags: string;
  /** SHA-256 of the signed part of the frame: tells a redelivery from a replay. */
  digest: Uint8Array;
}

export interface MeterEventsTable {
  tenant_id: string;
  meter_id: string;
  counter: number;
  type: string;
  meter_time: number;
  received_at: number;
  digest: Uint8Array;
  details: string;
}

export interface MeteringAlertsTable {
  id: string;
  tenant_id: string;
  meter_id: string;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  count: number;
  first_at: number;
  last_at: number;
  counter: number | null;
  details: string;
}

export interface MeteringCommandsTable {
  id: string;
  tenant_id: string;
  action: string;
  args: string;
  reason: string;
  meter_count: number;
  approvals_required: number;
  state: 'awaiting-approval' | 'dispatched' | 'refused' | 'cancelled' | 'expired';
  refusal: string | null;
  requested_by: string;
  requested_at: number;
  approve_by: number;
  dispatched_at: number | null;
  expires_at: number | null;
}

export interface MeteringCommandApprovalsTable {
  command_id: string;
  approver: string;
  approved_at: number;
}

export interface MeteringCommandTargetsTable {
  command_id: string;
  tenant_id: string;
  meter_id: string;
  district: string;
  action: string;
  counter: number | null;
  state: 'pending' | 'sent' | 'executed' | 'refused';
  result: string | null;
  sent_at: number | null;
  acked_at: number | null;
  /** The signed command frame, kept until acknowledged or expired (re-sent after a restart). */
  frame: Uint8Array | null;
}

export interface MeteringGuardTable {
  id: number;
  updated_at: number;
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
  metering_tenants: MeteringTenantsTable;
  meters: MetersTable;
  meter_key_epochs: MeterKeyEpochsTable;
  meter_readings: MeterReadingsTable;
  meter_events: MeterEventsTable;
  metering_alerts: MeteringAlertsTable;
  metering_commands: MeteringCommandsTable;
  metering_command_approvals: MeteringCommandApprovalsTable;
  metering_command_targets: MeteringCommandTargetsTable;
  metering_guard: MeteringGuardTable;
  update_repos: UpdateReposTable;
  update_keys: UpdateKeysTable;
  update_roles: UpdateRolesTable;
  update_metadata: UpdateMetadataTable;
  update_root_drafts: UpdateRootDraftsTable;
  update_targets: UpdateTargetsTable;
  update_releases: UpdateReleasesTable;
  update_device_versions: UpdateDeviceVersionsTable;
  update_device_reports: UpdateDeviceReportsTable;
  credential_roots: CredentialRootsTable;
  credential_issuer_keys: CredentialIssuerKeysTable;
  credential_tenant_keys: CredentialTenantKeysTable;
  credential_templates: CredentialTemplatesTable;
  status_lists: StatusListsTable;
  wallets: WalletsTable;
  wallet_challenges: WalletChallengesTable;
  credentials: CredentialsTable;
  wallet_deliveries: WalletDeliveriesTable;
  offer_rules: OfferRulesTable;
  holder_attributes: HolderAttributesTable;
  offer_consents: OfferConsentsTable;
  readers: ReadersTable;
  reader_events: ReaderEventsTable;
  reader_event_batches: ReaderEventBatchesTable;
}

export type { Generated };
