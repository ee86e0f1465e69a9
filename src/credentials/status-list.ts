/**
 * IETF Token Status List (draft-ietf-oauth-status-list): the bit array, its ZLIB compression and
 * the Status List Token as a CWT (device-side; the server signs through a CoseSigner).
 *
 * Entry i takes `bits` bits of byte floor(i·bits/8), starting at the least significant bit (§4.1).
 * Values: 0 VALID, 1 INVALID (revoked), 2 SUSPENDED (§7.1). We publish 2 bits per entry.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { CityTrustError } from '../core/errors.ts';
import { createCoseSign1, decodeCbor, encodeCbor, verifyCoseSign1, type CoseSigner } from '../crypto/index.ts';
import { CLAIM, STATUS_URI } from './claims.ts';
import { TYP, TYP_HEADER, type CredentialTrust, type TrustedIssuerKey } from './trust.ts';
import type { VerifiedCredential } from './verify.ts';

export const STATUS = { VALID: 0, INVALID: 1, SUSPENDED: 2 } as const;
export type StatusBits = 1 | 2 | 4 | 8;
/** CWT claims of a Status List Token (§5.2). */
export const STATUS_CLAIM = { ttl: 65534, statusList: 65533 } as const;
/** A decompressed list beyond this is refused: 4 Mi entries at 2 bits; guards against ZLIB bombs. */
export const MAX_STATUS_LIST_BYTES = 1 << 20;

export class StatusList {
  readonly bits: StatusBits;
  readonly bytes: Uint8Array;

  constructor(bits: StatusBits, bytes: Uint8Array) {
    if (![1, 2, 4, 8].includes(bits)) throw new CityTrustError('STATUS_LIST_INVALID', 'bits is 1, 2, 4 or 8');
    this.bits = bits;
    this.bytes = bytes;
  }

  /** An all-VALID list of `size` entries (size·bits a multiple of 8, §12.4). */
  static empty(size: number, bits: StatusBits): StatusList {
    if (!Number.isSafeInteger(size) || size <= 0 || (size * bits) % 8 !== 0 || (size * bits) / 8 > MAX_STATUS_LIST_BYTES) {
      throw new CityTrustError('STATUS_LIST_INVALID', 'size·bits must be a positive multiple of 8 within the limit');
    }
    return new StatusList(bits, new Uint8Array((size * bits) / 8));
  }

  get size(): number {
    return (this.bytes.length * 8) / this.bits;
  }

  get(idx: number): number {
    if (!Number.isSafeInteger(idx) || idx < 0 || idx >= this.size) {
      throw new CityTrustError('STATUS_LIST_INDEX_OUT_OF_RANGE', 'the index lies outside the status list');
    }
    const bit = idx * this.bits;
    return (this.bytes[bit >> 3]! >> (bit & 7)) & ((1 << this.bits) - 1);
  }

  set(idx: number, value: number): void {
    this.get(idx);
    if (!Number.isInteger(value) || value < 0 || value >= 1 << this.bits) throw new CityTrustError('STATUS_LIST_INVALID', 'the value does not fit the bits');
    const bit = idx * this.bits;
    const mask = ((1 << this.bits) - 1) << (bit & 7);
    this.bytes[bit >> 3] = (this.bytes[bit >> 3]! & ~mask) | (value << (bit & 7));
  }

  /** DEFLATE in the ZLIB format at the highest level (§4.1 step 4). */
  compress(): Uint8Array {
    return new Uint8Array(deflateSync(this.bytes, { level: 9 }));
  }

  static decompress(bits: StatusBits, lst: Uint8Array): StatusList {
    let raw: Buffer;
    try {
      raw = inflateSync(lst, { maxOutputLength: MAX_STATUS_LIST_BYTES });
    } catch (e) {
      throw new CityTrustError('STATUS_LIST_INVALID', 'lst is not ZLIB data within the size limit', { cause: e });
    }
    return new StatusList(bits, new Uint8Array(raw));
  }
}

export interface StatusListTokenInput {
  readonly uri: string;
  readonly list: StatusList;
  /** Seconds. */
  readonly iat: number;
  readonly exp: number;
  readonly ttl: number;
}

export async function createStatusListToken(input: StatusListTokenInput, signer: CoseSigner, kid: Uint8Array): Promise<Uint8Array> {
  const claims = new Map<number, unknown>([
    [CLAIM.sub, input.uri],
    [CLAIM.iat, input.iat],
    [CLAIM.exp, input.exp],
    [STATUS_CLAIM.ttl, input.ttl],
    [STATUS_CLAIM.statusList, new Map<string, unknown>([['bits', input.list.bits], ['lst', input.list.compress()]])],
  ]);
  return createCoseSign1({ payload: encodeCbor(claims), signer, protectedHeaders: new Map([[TYP_HEADER, TYP.statusList]]), unprotectedHeaders: new Map([[4, kid]]) });
}

export interface VerifiedStatusList {
  readonly uri: string;
  readonly list: StatusList;
  readonly iat: number;
  readonly exp: number | undefined;
  readonly ttl: number | undefined;
  readonly issuerKey: TrustedIssuerKey;
}

export interface VerifyStatusListOptions {
  readonly trust: CredentialTrust;
  /** The uri the credential names: the token's sub must equal it (§8.3 step 4a). */
  readonly uri: string;
  /** The credential's issuer: the list must be signed by a key of the same tenant. */
  readonly issuer: string;
  /** Milliseconds. */
  readonly now: number;
  /** Reader freshness limit in seconds: an older list is STATUS_LIST_STALE. */
  readonly maxAgeSeconds?: number;
}

function invalid(message: string, cause?: unknown): never {
  throw new CityTrustError('STATUS_LIST_INVALID', message, cause === undefined ? undefined : { cause });
}

export function verifyStatusListToken(bytes: Uint8Array, opts: VerifyStatusListOptions): VerifiedStatusList {
  let issuerKey: TrustedIssuerKey | undefined;
  let payload: Uint8Array;
  let protectedHeaders: ReadonlyMap<unknown, unknown>;
  try {
    ({ payload, protectedHeaders } = verifyCoseSign1(bytes, {
      key: ({ kid }) => {
        issuerKey = opts.trust.keyFor(kid);
        return issuerKey?.verifier;
      },
      algorithms: ['ES256', 'EdDSA'],
      requireTag: true,
      limits: { maxBytes: MAX_STATUS_LIST_BYTES, maxDepth: 8, maxItems: 64 },
    }));
  } catch (e) {
    return invalid('the status list token does not verify under a trusted issuer key', e);
  }
  if (protectedHeaders.get(TYP_HEADER) !== TYP.statusList) invalid('typ is not application/statuslist+cwt');
  const key = issuerKey as TrustedIssuerKey;
  if (key.tenant !== opts.issuer) invalid('the list is signed by another issuer than the credential');
  let m: unknown;
  try {
    m = decodeCbor(payload, { maxBytes: MAX_STATUS_LIST_BYTES, maxDepth: 4, maxItems: 64, allowedTags: [] });
  } catch (e) {
    invalid('the claims are not CBOR', e);
  }
  if (!(m instanceof Map)) return invalid('the claims set is a map');
  const uri = m.get(CLAIM.sub);
  if (typeof uri !== 'string' || uri !== opts.uri) invalid('sub is not the uri the credential names');
  const iat = m.get(CLAIM.iat);
  const exp = m.get(CLAIM.exp);
  const ttl = m.get(STATUS_CLAIM.ttl);
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat)) invalid('iat is required');
  if (exp !== undefined && (typeof exp !== 'number' || !Number.isSafeInteger(exp))) invalid('exp is a NumericDate');
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl <= 0)) invalid('ttl is a positive integer');
  const now = Math.floor(opts.now / 1000);
  if (exp !== undefined && now >= (exp as number)) invalid('the status list token has expired');
  if (opts.maxAgeSeconds !== undefined && now - (iat as number) > opts.maxAgeSeconds) {
    throw new CityTrustError('STATUS_LIST_STALE', 'the status list is older than the freshness limit');
  }
  const sl = m.get(STATUS_CLAIM.statusList);
  if (!(sl instanceof Map)) return invalid('status_list is a map');
  const bits = sl.get('bits');
  const lst = sl.get('lst');
  if (![1, 2, 4, 8].includes(bits as number) || !(lst instanceof Uint8Array)) invalid('status_list is {bits, lst}');
  return Object.freeze({ uri, list: StatusList.decompress(bits as StatusBits, lst), iat: iat as number, exp: exp as number | undefined, ttl: ttl as number | undefined, issuerKey: key });
}

export type CredentialStatus = 'valid' | 'revoked' | 'suspended' | 'unknown';

/** The status a verified list gives a credential; out-of-range indices refuse (§8.3 step 6). */
export function credentialStatus(credential: VerifiedCredential, status: VerifiedStatusList): CredentialStatus {
  const ref = credential.claims.status;
  if (ref === undefined) return 'valid';
  if (ref.uri !== status.uri || credential.claims.iss !== status.issuerKey.tenant) {
    throw new CityTrustError('STATUS_LIST_INVALID', 'the list is not the one the credential names');
  }
  const v = status.list.get(ref.idx);
  return v === STATUS.VALID ? 'valid' : v === STATUS.INVALID ? 'revoked' : v === STATUS.SUSPENDED ? 'suspended' : 'unknown';
}

/** `ct:<id>` ↔ list id. */
export function statusUri(listId: string): string {
  const uri = `ct:${listId}`;
  if (!STATUS_URI.test(uri)) throw new CityTrustError('INPUT_INVALID', 'a status list id is 4..32 of a-z, 0-9');
  return uri;
}

