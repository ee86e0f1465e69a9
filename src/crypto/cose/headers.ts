/**
 * Header buckets (RFC 9052 §3): decoding, type checks for the parameters we use, `crit`
 * enforcement and the choice of `alg`.
 */
import { CityTrustError } from '../../core/errors.ts';
import { decodeCbor, CBOR_DEFAULT_LIMITS, type CborLimits } from '../cbor/codec.ts';
import { coseAlgorithmName, type CoseAlgorithmName } from './algorithms.ts';

export type HeaderLabel = number | string;
export type HeaderMap = ReadonlyMap<HeaderLabel, unknown>;

/** Header labels (RFC 9052 §3.1, RFC 9053 §6.3 and §5.2). */
export const HEADER = {
  alg: 1,
  crit: 2,
  contentType: 3,
  kid: 4,
  iv: 5,
  partialIv: 6,
  /** RFC 8152 counter signature: tolerated when present, never verified (RFC 9338 replaced it). */
  counterSignature: 7,
  ephemeralKey: -1,
  staticKey: -2,
  staticKeyId: -3,
  salt: -20,
  partyUIdentity: -21,
  partyUNonce: -22,
  partyUOther: -23,
  partyVIdentity: -24,
  partyVNonce: -25,
  partyVOther: -26,
} as const;

/** Labels RFC 9052 defines and we process; a `crit` naming anything else must be understood by the caller. */
const UNDERSTOOD = new Set<HeaderLabel>([HEADER.alg, HEADER.crit, HEADER.contentType, HEADER.kid, HEADER.iv, HEADER.partialIv]);

const EMPTY = new Uint8Array(0);

export interface DecodedHeaders {
  /**
   * The protected bucket for the Sig/MAC/Enc structures: the bytes as received, or h'' when they
   * encode an empty map (RFC 9052 §3: an empty bucket is h''; recipients accept h'a0' too, and the
   * COSE WG vectors sign-pass-01 and mac-pass-01 compute the structure over h'' in that case).
   */
  readonly protectedBytes: Uint8Array;
  readonly protected: HeaderMap;
  readonly unprotected: HeaderMap;
}

export interface HeaderPolicy {
  /** Header labels beyond RFC 9052's own that the caller understands when they are marked critical. */
  readonly criticalHeaders?: readonly HeaderLabel[];
  readonly limits?: CborLimits;
}

function invalid(message: string): never {
  throw new CityTrustError('COSE_HEADER_INVALID', message);
}

function isLabel(v: unknown): v is HeaderLabel {
  return (typeof v === 'number' && Number.isSafeInteger(v)) || typeof v === 'string';
}

export function decodeHeaders(protectedRaw: unknown, unprotectedRaw: unknown, policy: HeaderPolicy): DecodedHeaders {
  if (!(protectedRaw instanceof Uint8Array)) throw new CityTrustError('COSE_MALFORMED', 'protected header must be a byte string');
  if (!(unprotectedRaw instanceof Map)) throw new CityTrustError('COSE_MALFORMED', 'unprotected header must be a map');
  let prot: Map<unknown, unknown> = new Map();
  if (protectedRaw.length > 0) {
    const decoded = decodeCbor(protectedRaw, { ...(policy.limits ?? CBOR_DEFAULT_LIMITS), allowedTags: [] });
    if (!(decoded instanceof Map)) invalid('protected header must encode a map');
    prot = decoded;
  }
  const unprot = unprotectedRaw as Map<unknown, unknown>;
  for (const label of prot.keys()) {
    if (!isLabel(label)) invalid('header labels are integers or text strings');
    if (unprot.has(label)) invalid(`header ${String(label)} appears in both buckets`);
  }
  for (const label of unprot.keys()) if (!isLabel(label)) invalid('header labels are integers or text strings');
  checkCommon(prot as HeaderMap, unprot as HeaderMap, policy);
  return { protectedBytes: prot.size === 0 ? EMPTY : protectedRaw, protected: prot as HeaderMap, unprotected: unprot as HeaderMap };
}

/** Reads a parameter from whichever bucket holds it. */
export function header(h: DecodedHeaders, label: HeaderLabel): unknown {
  return h.protected.has(label) ? h.protected.get(label) : h.unprotected.get(label);
}

function checkCommon(prot: HeaderMap, unprot: HeaderMap, policy: HeaderPolicy): void {
  const get = (l: number): unknown => (prot.has(l) ? prot.get(l) : unprot.get(l));
  const alg = get(HEADER.alg);
  if (alg !== undefined && !isLabel(alg)) invalid('alg is an integer or a text string');
  if (unprot.has(HEADER.crit)) invalid('crit must be protected (RFC 9052 §3.1)');
  if (prot.has(HEADER.crit)) {
    const crit = prot.get(HEADER.crit);
    if (!Array.isArray(crit) || crit.length === 0 || !crit.every(isLabel)) invalid('crit is a non-empty array of labels');
    const known = new Set<HeaderLabel>([...UNDERSTOOD, ...(policy.criticalHeaders ?? [])]);
    for (const label of crit as HeaderLabel[]) {
      if (!known.has(label)) throw new CityTrustError('COSE_CRIT_UNSUPPORTED', `critical header ${String(label)} is not understood`);
    }
  }
  const ct = get(HEADER.contentType);
  if (ct !== undefined && !(typeof ct === 'string' || (typeof ct === 'number' && Number.isSafeInteger(ct) && ct >= 0))) {
    invalid('content type is a uint or a text string');
  }
  for (const l of [HEADER.kid, HEADER.iv, HEADER.partialIv]) {
    const v = get(l);
    if (v !== undefined && !(v instanceof Uint8Array)) invalid(`header ${l} is a byte string`);
  }
  if (get(HEADER.iv) !== undefined && get(HEADER.partialIv) !== undefined) invalid('IV and Partial IV must not both be present');
}

export interface AlgorithmChoice {
  readonly name: CoseAlgorithmName | undefined;
  readonly protected: boolean;
}

/**
 * The `alg` of a message. RFC 9052 §3.1 requires it to be authenticated, so by default it must be
 * protected; `allowUnprotected` exists for interop with senders that rely on the key binding
 * instead (our verifiers bind every key to one algorithm, so an unprotected alg cannot downgrade).
 */
export function chooseAlgorithm(h: DecodedHeaders, allowUnprotected: boolean): AlgorithmChoice {
  if (h.protected.has(HEADER.alg)) return { name: coseAlgorithmName(h.protected.get(HEADER.alg)), protected: true };
  if (h.unprotected.has(HEADER.alg)) {
    if (!allowUnprotected) throw new CityTrustError('COSE_ALG_UNPROTECTED', 'alg is not in the protected header');
    return { name: coseAlgorithmName(h.unprotected.get(HEADER.alg)), protected: false };
  }
  throw new CityTrustError('COSE_ALG_MISSING', 'the message names no algorithm');
}

/**
 * Checks `name` against the family this message type supports and the verifier's own list.
 * The verifier's list is itself checked: naming an algorithm outside the family is a caller bug.
 */
export function requireAlgorithm<T extends CoseAlgorithmName>(name: CoseAlgorithmName | undefined, family: readonly T[], allowed: readonly T[]): T {
  if (!Array.isArray(allowed) || !allowed.every((a) => (family as readonly string[]).includes(a))) {
    throw new CityTrustError('COSE_ALG_NOT_ALLOWED', 'the verifier lists an algorithm this message type does not support');
  }
  if (name === undefined || !(allowed as readonly string[]).includes(name)) {
    throw new CityTrustError('COSE_ALG_NOT_ALLOWED', 'the algorithm is unknown or not accepted here');
  }
  return name as T;
}

/** Key id of a message, if any (checked to be a byte string by decodeHeaders). */
export function kidOf(h: DecodedHeaders): Uint8Array | undefined {
  return header(h, HEADER.kid) as Uint8Array | undefined;
}

/** Builds the header maps a sender writes, refusing labels in both buckets and a conflicting alg. */
export function senderHeaders(
  algId: number,
  protectedHeaders: HeaderMap | undefined,
  unprotectedHeaders: HeaderMap | undefined,
  policy: HeaderPolicy,
): { protectedMap: Map<HeaderLabel, unknown>; unprotectedMap: Map<HeaderLabel, unknown> } {
  const protectedMap = new Map<HeaderLabel, unknown>(protectedHeaders ?? []);
  const unprotectedMap = new Map<HeaderLabel, unknown>(unprotectedHeaders ?? []);
  const existing = protectedMap.get(HEADER.alg);
  if (existing !== undefined && existing !== algId) invalid('protected alg conflicts with the key algorithm');
  if (unprotectedMap.has(HEADER.alg)) invalid('alg belongs in the protected header');
  protectedMap.set(HEADER.alg, algId);
  for (const l of protectedMap.keys()) {
    if (!isLabel(l)) invalid('header labels are integers or text strings');
    if (unprotectedMap.has(l)) invalid(`header ${String(l)} appears in both buckets`);
  }
  for (const l of unprotectedMap.keys()) if (!isLabel(l)) invalid('header labels are integers or text strings');
  checkCommon(protectedMap, unprotectedMap, policy);
  return { protectedMap, unprotectedMap };
}
