/**
 * The bytes of one audit leaf. An auditor who has the event row can rebuild them exactly:
 * canonical JSON (src/core/canonical-json.ts) of
 *   {"action","actor","details","seq","subject","tenant","ts","v":1}
 * with keys in that (sorted) order. `seq` binds the event to its position so that a row
 * moved elsewhere in the table no longer hashes to the leaf the tree committed to.
 * The leaf hash is RFC 9162 §2.1.1 HASH(0x00 || leaf bytes).
 */
import { canonicalJson } from '../core/canonical-json.ts';
import { CityTrustError } from '../core/errors.ts';
import type { AuditEventInput } from './types.ts';

export const LEAF_VERSION = 1;
const MAX_DETAILS = 4096;
const MAX_FIELD = 512;

export interface StoredEvent {
  seq: number;
  ts: number;
  tenant: string | null;
  actor: string;
  action: string;
  subject: string;
  /** Canonical JSON text. */
  details: string;
}

/** Validates an event before it is queued, so a bad event never reaches a batch. */
export function normaliseEvent(e: AuditEventInput): Omit<StoredEvent, 'seq' | 'ts'> {
  for (const f of ['actor', 'action', 'subject'] as const) {
    const v = e[f];
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_FIELD) {
      throw new CityTrustError('INPUT_INVALID', `audit event field "${f}" must be a string of 1..${MAX_FIELD} characters`);
    }
  }
  if (e.tenant !== null && (typeof e.tenant !== 'string' || e.tenant.length === 0 || e.tenant.length > MAX_FIELD)) {
    throw new CityTrustError('INPUT_INVALID', 'audit event tenant must be null or a non-empty string');
  }
  const details = canonicalJson(e.details ?? {});
  if (details.length > MAX_DETAILS) throw new CityTrustError('INPUT_INVALID', `audit event details exceed ${MAX_DETAILS} bytes`);
  return { tenant: e.tenant, actor: e.actor, action: e.action, subject: e.subject, details };
}

export function leafBytes(e: StoredEvent): Uint8Array {
  // Built by hand in sorted key order; details is already canonical JSON text.
  const s =
    `{"action":${JSON.stringify(e.action)},"actor":${JSON.stringify(e.actor)},"details":${e.details},` +
    `"seq":${e.seq},"subject":${JSON.stringify(e.subject)},"tenant":${e.tenant === null ? 'null' : JSON.stringify(e.tenant)},` +
    `"ts":${e.ts},"v":${LEAF_VERSION}}`;
  return new TextEncoder().encode(s);
}
