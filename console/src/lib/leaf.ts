/**
 * The bytes of one audit leaf, rebuilt in the browser from the event row the API returned,
 * exactly as the server builds them (src/audit/leaf.ts, docs/audit.md): canonical JSON of
 *   {"action","actor","details","seq","subject","tenant","ts","v":1}
 * Rebuilding them here is what ties the row a person reads to the leaf the tree committed to:
 * a server that showed one row and logged another would fail this check.
 */
import { utf8Encode } from './bytes.ts';
import { hashLeaf } from './merkle.ts';

export interface AuditEventRow {
  seq: number;
  ts: number;
  tenant: string | null;
  actor: string;
  action: string;
  subject: string;
  /** Canonical JSON text, as logged. */
  details: string;
}

export function leafBytes(e: AuditEventRow): Uint8Array {
  // details is inserted as logged: it is already canonical JSON text, and re-encoding it
  // here could only hide a difference, never reveal one.
  const s =
    `{"action":${JSON.stringify(e.action)},"actor":${JSON.stringify(e.actor)},"details":${e.details},` +
    `"seq":${e.seq},"subject":${JSON.stringify(e.subject)},"tenant":${e.tenant === null ? 'null' : JSON.stringify(e.tenant)},` +
    `"ts":${e.ts},"v":1}`;
  return utf8Encode(s);
}

export function leafHashOf(e: AuditEventRow): Promise<Uint8Array> {
  return hashLeaf(leafBytes(e));
}
