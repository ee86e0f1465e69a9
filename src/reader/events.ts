/**
 * Reader events: one per tap, whatever its outcome (docs/reader.md §6). Compact CBOR with integer
 * keys; no personal data (the credential id is the random cti, the issuer a tenant id).
 */
import { CityTrustError } from '../core/errors.ts';
import { decodeCbor, encodeCbor } from '../crypto/index.ts';

export interface ReaderEvent {
  /** Strictly increasing per reader, never reused (also across restarts and uploads). */
  readonly seq: number;
  /** Milliseconds since the epoch (reader clock). */
  readonly at: number;
  readonly site: string;
  readonly allow: boolean;
  /** GRANTED, a decision reason (EXPIRED, ZONE_NOT_GRANTED…) or a tap code (TAP_REPLAYED…). */
  readonly reason: string;
  /** The precise error code behind a refusal, when there is one (CREDENTIAL_SIGNATURE_INVALID…). */
  readonly code?: string;
  /** Who refused: this reader, or the wallet (a decline). */
  readonly by: 'reader' | 'wallet';
  readonly resource?: string;
  readonly zones?: readonly string[];
  /** cti in hex. */
  readonly credentialId?: string;
  readonly issuer?: string;
  /** The credential's exp (seconds): lets the reader forget its use count afterwards. */
  readonly credentialExp?: number;
  /** This grant counts one use of a credential with a use limit. */
  readonly usesCounted?: boolean;
  /** Decided without a fresh status list (fail-open). */
  readonly statusStale?: boolean;
  /** First 8 bytes of TH2: the same id in the wallet's history. */
  readonly session?: string;
}

const K = {
  seq: 1,
  at: 2,
  site: 3,
  allow: 4,
  reason: 5,
  code: 6,
  by: 7,
  resource: 8,
  zones: 9,
  credentialId: 10,
  issuer: 11,
  credentialExp: 12,
  usesCounted: 13,
  statusStale: 14,
  session: 15,
} as const;

export const EVENT_LIMITS = { maxBytes: 2048, maxDepth: 3, maxItems: 64 };

export function eventToCbor(e: ReaderEvent): Map<number, unknown> {
  const m = new Map<number, unknown>();
  for (const [name, key] of Object.entries(K) as [keyof ReaderEvent, number][]) {
    const v = e[name];
    if (v !== undefined) m.set(key, Array.isArray(v) ? [...v] : v);
  }
  return m;
}

export function encodeEvent(e: ReaderEvent): Uint8Array {
  return encodeCbor(eventToCbor(e));
}

function bad(message: string): never {
  throw new CityTrustError('READER_UPLOAD_INVALID', message);
}

const TEXT = /^[A-Za-z0-9][A-Za-z0-9._:/~-]{0,255}$/;

/** Parses one event (from the queue or an upload) with every field checked. */
export function eventFromCbor(m: unknown): ReaderEvent {
  if (!(m instanceof Map)) bad('an event is a map');
  const names = new Map<unknown, keyof ReaderEvent>(Object.entries(K).map(([n, k]) => [k, n as keyof ReaderEvent]));
  const o: Record<string, unknown> = {};
  for (const [k, v] of m) {
    const n = names.get(k);
    if (n === undefined) bad(`unknown event key ${String(k)}`);
    o[n] = v;
  }
  const uint = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(`${what} is an unsigned integer`);
    return v;
  };
  const text = (v: unknown, what: string): string => {
    if (typeof v !== 'string' || !TEXT.test(v)) bad(`${what} is a short text`);
    return v;
  };
  const opt = <T>(v: unknown, f: (x: unknown) => T): T | undefined => (v === undefined ? undefined : f(v));
  if (typeof o.allow !== 'boolean') bad('allow is a boolean');
  if (o.by !== 'reader' && o.by !== 'wallet') bad('by is reader or wallet');
  const zones = opt(o.zones, (v) => {
    if (!Array.isArray(v) || v.length > 16) bad('zones is a short list');
    return v.map((z) => text(z, 'a zone'));
  });
  const flag = (v: unknown, what: string): boolean => {
    if (v !== true) bad(`${what} is true or absent`);
    return true;
  };
  const e: ReaderEvent = {
    seq: uint(o.seq, 'seq'),
    at: uint(o.at, 'at'),
    site: text(o.site, 'site'),
    allow: o.allow,
    reason: text(o.reason, 'reason'),
    by: o.by,
    ...(o.code !== undefined && { code: text(o.code, 'code') }),
    ...(o.resource !== undefined && { resource: text(o.resource, 'resource') }),
    ...(zones !== undefined && { zones }),
    ...(o.credentialId !== undefined && { credentialId: text(o.credentialId, 'credentialId') }),
    ...(o.issuer !== undefined && { issuer: text(o.issuer, 'issuer') }),
    ...(o.credentialExp !== undefined && { credentialExp: uint(o.credentialExp, 'credentialExp') }),
    ...(o.usesCounted !== undefined && { usesCounted: flag(o.usesCounted, 'usesCounted') }),
    ...(o.statusStale !== undefined && { statusStale: flag(o.statusStale, 'statusStale') }),
    ...(o.session !== undefined && { session: text(o.session, 'session') }),
  };
  return Object.freeze(e);
}

export function decodeEvent(bytes: Uint8Array): ReaderEvent {
  let m: unknown;
  try {
    m = decodeCbor(bytes, { ...EVENT_LIMITS, deterministic: true, allowedTags: [] });
  } catch (e) {
    throw new CityTrustError('READER_UPLOAD_INVALID', 'an event is not deterministic CBOR', { cause: e });
  }
  return eventFromCbor(m);
}
