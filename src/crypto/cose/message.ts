/** The outer layer of every COSE message: optional CBOR tag, then a fixed-length array (RFC 9052 §2). */
import { CityTrustError } from '../../core/errors.ts';
import { decodeCbor, encodeCbor, CborTag, CBOR_DEFAULT_LIMITS, type CborLimits } from '../cbor/codec.ts';

/** CBOR tags of the COSE message types (RFC 9052 §2, Table 1). */
export const COSE_TAG = { Sign: 98, Sign1: 18, Encrypt: 96, Encrypt0: 16, Mac: 97, Mac0: 17 } as const;

export interface EnvelopeOptions {
  /** Refuse an untagged message (default false: the caller's context names the type, RFC 9052 §2). */
  readonly requireTag?: boolean;
  readonly limits?: CborLimits;
}

/**
 * Decodes a COSE message of the type `tag` names into its array. The tag is read before any
 * decoding, so a message of another type fails with COSE_TAG_MISMATCH rather than a CBOR error,
 * and no tag is accepted inside the message.
 */
export function decodeEnvelope(bytes: Uint8Array, tag: number, length: number, opts: EnvelopeOptions): unknown[] {
  if (!(bytes instanceof Uint8Array)) throw new CityTrustError('CRYPTO_INPUT_INVALID', 'COSE message must be a Uint8Array');
  const limits = { ...(opts.limits ?? CBOR_DEFAULT_LIMITS), allowedTags: [] };
  let body = bytes;
  const first = bytes[0];
  if (first !== undefined && first >> 5 === 6) {
    const ai = first & 0x1f;
    let found = -1;
    let headLen = 1;
    if (ai < 24) found = ai;
    else if (ai === 24 && bytes.length > 1) {
      found = bytes[1] as number;
      headLen = 2;
      if (found < 24) throw new CityTrustError('CBOR_NON_SHORTEST', 'tag number not in its shortest form');
    } else if (ai === 25 && bytes.length > 2) {
      found = ((bytes[1] as number) << 8) | (bytes[2] as number);
      headLen = 3;
      if (found < 0x100) throw new CityTrustError('CBOR_NON_SHORTEST', 'tag number not in its shortest form');
    } else if (ai === 26 && bytes.length > 4) {
      found = (bytes[1] as number) * 0x1000000 + (((bytes[2] as number) << 16) | ((bytes[3] as number) << 8) | (bytes[4] as number));
      headLen = 5;
      if (found < 0x10000) throw new CityTrustError('CBOR_NON_SHORTEST', 'tag number not in its shortest form');
    }
    if (found !== tag) throw new CityTrustError('COSE_TAG_MISMATCH', `expected CBOR tag ${tag}`, { details: { tag: found } });
    body = bytes.subarray(headLen);
  } else if (opts.requireTag === true) {
    throw new CityTrustError('COSE_TAG_MISMATCH', `expected CBOR tag ${tag}`);
  }
  const value = decodeCbor(body, limits);
  if (!Array.isArray(value) || value.length !== length) throw new CityTrustError('COSE_MALFORMED', `a COSE message of this type is an array of ${length}`);
  return value;
}

/** Encodes a COSE message array, tagged unless the caller's context makes the tag redundant. */
export function encodeEnvelope(tag: number, parts: readonly unknown[], tagged: boolean): Uint8Array {
  return encodeCbor(tagged ? new CborTag(parts, tag) : parts);
}
