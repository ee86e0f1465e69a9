/**
 * The credential's CWT claims set (RFC 8392 §3) and its deterministic CBOR (device-side, pure).
 *
 *   1 iss   tenant id of the issuer           6 iat   issued at (s)
 *   2 sub   holder pseudonym (optional)       7 cti   credential id, 8 random bytes
 *   4 exp   expires (s)                       8 cnf   {1: COSE_Key}: holder SE key, compressed (RFC 8747 §3.1)
 *   5 nbf   not before (s; absent = iat) 65535 status {"status_list": {"idx", "uri"}} (Token Status List)
 *  -65537   grants (./grants.ts)
 */
import type { KeyObject } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { concatBytes } from '../core/bytes.ts';
import { decodeCbor, encodeCbor, fromCoseKey, toCoseKey, type CborLimits } from '../crypto/index.ts';
import { grantsFromCbor, grantsToCbor, type Grants } from './grants.ts';
import { bytesCbor, cborHead, textCbor, uintCbor } from './cbor-write.ts';

export const CLAIM = { iss: 1, sub: 2, exp: 4, nbf: 5, iat: 6, cti: 7, cnf: 8, status: 65535, grants: -65537 } as const;
/** RFC 8747 §3.1: the cnf member holding a COSE_Key. */
export const CNF_COSE_KEY = 1;
export const CTI_LENGTH = 8;

/**
 * Limits for everything about a credential. Our credentials are ~250 bytes and 4 levels deep;
 * anything far beyond that was not made by an issuer of ours, so it is refused before parsing.
 */
export const CREDENTIAL_LIMITS: CborLimits = Object.freeze({ maxBytes: 2048, maxDepth: 8, maxItems: 512 });

export interface StatusReference {
  /** Index in the status list (Token Status List §6.3 "idx"). */
  readonly idx: number;
  /** The list's URI; short by design: `ct:<list id>`, resolved to /v1/status/<list id>. */
  readonly uri: string;
}

export interface CredentialClaims {
  readonly iss: string;
  readonly sub?: string;
  readonly exp: number;
  readonly nbf: number;
  readonly iat: number;
  readonly cti: Uint8Array;
  /** The holder's secure-element key (P-256 public). */
  readonly holderKey: KeyObject;
  readonly status?: StatusReference;
  readonly grants: Grants;
}

const TEXT = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;
export const STATUS_URI = /^ct:[a-z0-9]{4,32}$/;

function malformed(message: string, cause?: unknown): never {
  throw new CityTrustError('CREDENTIAL_MALFORMED', message, cause === undefined ? undefined : { cause });
}

function time(v: unknown, what: string): number {
  // RFC 8392 §2: NumericDate; we issue whole seconds and refuse floats and negative times.
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) malformed(`${what} is a NumericDate in whole seconds`);
  return v;
}

// An issuer sends many credentials to one wallet key; exporting the point costs more than the rest
// of the claims together, so its COSE_Key is kept per KeyObject (KeyObjects are immutable).
const holderCoseKeys = new WeakMap<KeyObject, ReadonlyMap<number, unknown>>();

function holderCoseKey(k: KeyObject): ReadonlyMap<number, unknown> {
  let m = holderCoseKeys.get(k);
  if (m === undefined) {
    m = toCoseKey(k, { compressed: true });
    holderCoseKeys.set(k, m);
  }
  return m;
}

export function claimsToCbor(c: CredentialClaims): Map<number, unknown> {
  const m = new Map<number, unknown>([
    [CLAIM.iss, c.iss],
    [CLAIM.exp, c.exp],
    [CLAIM.iat, c.iat],
    [CLAIM.cti, c.cti],
    [CLAIM.cnf, new Map([[CNF_COSE_KEY, new Map(holderCoseKey(c.holderKey))]])],
    [CLAIM.grants, grantsToCbor(c.grants)],
  ]);
  if (c.sub !== undefined) m.set(CLAIM.sub, c.sub);
  // nbf equal to iat is left out (6 bytes): a credential without nbf is valid from iat.
  if (c.nbf !== c.iat) m.set(CLAIM.nbf, c.nbf);
  if (c.status !== undefined) m.set(CLAIM.status, new Map([['status_list', new Map<string, unknown>([['idx', c.status.idx], ['uri', c.status.uri]])]]));
  return m;
}

// The claim keys in the order RFC 8949 §4.2.1 sorts their encodings: 0x01 … 0x08, 0x19ffff, 0x3a00010000.
const CLAIM_ORDER = [CLAIM.iss, CLAIM.sub, CLAIM.exp, CLAIM.nbf, CLAIM.iat, CLAIM.cti, CLAIM.cnf, CLAIM.status, CLAIM.grants] as const;
const CLAIM_KEY_BYTES = new Map<number, Uint8Array>(CLAIM_ORDER.map((k) => [k, encodeCbor(k)]));
const cnfBytes = new WeakMap<KeyObject, Uint8Array>();
const grantsBytes = new WeakMap<Grants, Uint8Array>();

/** {"status_list": {"idx": idx, "uri": uri}}: keys in canonical order, "idx" before "uri". */
// a1 6b "status_list" a2 63 "idx": the one-entry inner map of the generic encoding, made a two-entry one.
const STATUS_PREFIX = (() => {
  const b = encodeCbor(new Map([['status_list', new Map([['idx', 0]])]])).slice(0, -1);
  b[b.length - 5] = 0xa2;
  return b;
})();
const STATUS_URI_KEY = encodeCbor('uri');
function statusCbor(status: StatusReference): Uint8Array {
  if (!Number.isSafeInteger(status.idx) || status.idx < 0) return encodeCbor(new Map([['status_list', new Map<string, unknown>([['idx', status.idx], ['uri', status.uri]])]]));
  return concatBytes(STATUS_PREFIX, cborHead(0, status.idx), STATUS_URI_KEY, textCbor(status.uri));
}

/**
 * The deterministic CBOR of the claims, equal byte for byte to encodeCbor(claimsToCbor(c)) (a test
 * holds them equal). An issuer repeats the same holder key and template grants across many
 * credentials, so their encodings are kept (per KeyObject, and per frozen grants object) and the map
 * is assembled from its entries in canonical key order instead of being sorted again each time.
 */
export function encodeClaims(c: CredentialClaims): Uint8Array {
  let cnf = cnfBytes.get(c.holderKey);
  if (cnf === undefined) {
    cnf = encodeCbor(new Map([[CNF_COSE_KEY, holderCoseKey(c.holderKey)]]));
    cnfBytes.set(c.holderKey, cnf);
  }
  let grants = grantsBytes.get(c.grants);
  if (grants === undefined) {
    grants = encodeCbor(grantsToCbor(c.grants));
    // Only a frozen (validated) grants object is known not to change under its cached bytes.
    if (Object.isFrozen(c.grants)) grantsBytes.set(c.grants, grants);
  }
  // Scalars are written directly (the generic encoder is a measurable share of the issue path);
  // a test holds the result equal to encodeCbor(claimsToCbor(c)).
  const values: Record<number, Uint8Array | undefined> = {
    [CLAIM.iss]: textCbor(c.iss),
    [CLAIM.sub]: c.sub === undefined ? undefined : textCbor(c.sub),
    [CLAIM.exp]: uintCbor(c.exp),
    // nbf equal to iat is left out, as in claimsToCbor.
    [CLAIM.nbf]: c.nbf === c.iat ? undefined : uintCbor(c.nbf),
    [CLAIM.iat]: uintCbor(c.iat),
    [CLAIM.cti]: bytesCbor(c.cti),
    [CLAIM.cnf]: cnf,
    [CLAIM.status]: c.status === undefined ? undefined : statusCbor(c.status),
    [CLAIM.grants]: grants,
  };
  const parts: Uint8Array[] = [];
  for (const k of CLAIM_ORDER) {
    const v = values[k];
    if (v !== undefined) parts.push(CLAIM_KEY_BYTES.get(k) as Uint8Array, v);
  }
  // A map of at most 9 entries: its head is one byte (major type 5, RFC 8949 §3.1).
  return concatBytes(Uint8Array.of(0xa0 | (parts.length / 2)), ...parts);
}

/** Parses the claims of a verified payload. Every claim we issue is checked for type and shape. */
export function decodeClaims(payload: Uint8Array): CredentialClaims {
  let m: unknown;
  try {
    m = decodeCbor(payload, { ...CREDENTIAL_LIMITS, deterministic: true, allowedTags: [] });
  } catch (e) {
    malformed('the claims are not deterministic CBOR within the credential limits', e);
  }
  if (!(m instanceof Map)) malformed('the claims set is a map');
  const iss = m.get(CLAIM.iss);
  if (typeof iss !== 'string' || !TEXT.test(iss)) malformed('iss is the issuing tenant id');
  const sub = m.get(CLAIM.sub);
  if (sub !== undefined && (typeof sub !== 'string' || !TEXT.test(sub))) malformed('sub is a short text');
  const exp = time(m.get(CLAIM.exp), 'exp');
  const iat = time(m.get(CLAIM.iat), 'iat');
  const nbf = m.has(CLAIM.nbf) ? time(m.get(CLAIM.nbf), 'nbf') : iat;
  if (exp <= nbf) malformed('exp must be after nbf');
  const cti = m.get(CLAIM.cti);
  if (!(cti instanceof Uint8Array) || cti.length !== CTI_LENGTH) malformed(`cti is ${CTI_LENGTH} bytes`);
  const holderKey = holderKeyOf(m.get(CLAIM.cnf));
  const status = statusOf(m.get(CLAIM.status));
  const grants = grantsFromCbor(m.get(CLAIM.grants));
  const claims = { iss, ...(sub !== undefined && { sub: sub as string }), exp, nbf, iat, cti, ...(status && { status }), grants };
  Object.defineProperty(claims, 'holderKey', { get: holderKey, enumerable: true });
  return Object.freeze(claims as CredentialClaims);
}

/**
 * The holder key's COSE_Key is checked for shape at once, but the point is imported (and so
 * decompressed and checked on the curve) only when first used: decompression costs more than the
 * issuer signature check, and a reader needs the key only for the holder's proof of possession.
 */
function holderKeyOf(cnf: unknown): () => KeyObject {
  if (!(cnf instanceof Map) || cnf.size !== 1 || !(cnf.get(CNF_COSE_KEY) instanceof Map)) malformed('cnf is {1: COSE_Key} (RFC 8747 §3.1)');
  const m = cnf.get(CNF_COSE_KEY) as Map<unknown, unknown>;
  const x = m.get(-2);
  const y = m.get(-3);
  if (m.get(1) !== 2 || m.get(-1) !== 1 || m.has(-4) || !(x instanceof Uint8Array) || x.length !== 32 || !(typeof y === 'boolean' || (y instanceof Uint8Array && y.length === 32))) {
    malformed('the holder key is an EC2 P-256 public COSE_Key');
  }
  let key: KeyObject | undefined;
  return () => {
    if (key !== undefined) return key;
    let k;
    try {
      k = fromCoseKey(m);
    } catch (e) {
      return malformed('the holder key in cnf is not a valid P-256 point', e);
    }
    key = k.publicKey as KeyObject;
    return key;
  };
}

function statusOf(v: unknown): StatusReference | undefined {
  if (v === undefined) return undefined;
  const sl = v instanceof Map ? v.get('status_list') : undefined;
  if (!(sl instanceof Map)) malformed('status is {"status_list": {idx, uri}}');
  const idx = sl.get('idx');
  const uri = sl.get('uri');
  if (typeof idx !== 'number' || !Number.isSafeInteger(idx) || idx < 0) malformed('status idx is an unsigned integer');
  if (typeof uri !== 'string' || !STATUS_URI.test(uri)) malformed('status uri is ct:<list id>');
  return Object.freeze({ idx, uri });
}

/** Credential ids are the cti in lower-case hex. */
export function credentialId(cti: Uint8Array): string {
  return Buffer.from(cti.buffer, cti.byteOffset, cti.byteLength).toString('hex');
}
