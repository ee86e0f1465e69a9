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

export interface Database {
  tenants: TenantsTable;
  api_tokens: ApiTokensTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
  meta: MetaTable;
}

export type { Generated };
