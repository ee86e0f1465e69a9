/** COSE_KDF_Context (RFC 9053 §5.2) and the ECDH-ES + HKDF-256 key derivation (RFC 9053 §6.3.1). */
import { CityTrustError } from '../../core/errors.ts';
import { wipe } from '../../core/bytes.ts';
import { encodeCbor } from '../cbor/codec.ts';
import { hkdfSha256 } from '../hash.ts';
import { HEADER, header, type DecodedHeaders } from './headers.ts';

/** PartyInfo (RFC 9053 §5.2): each element is sent in a header or agreed out of band; absent means nil. */
export interface PartyInfo {
  readonly identity?: Uint8Array | null;
  readonly nonce?: Uint8Array | number | null;
  readonly other?: Uint8Array | null;
}

export interface KdfContextInput {
  /** The algorithm of the key being derived (the content algorithm for direct key agreement). */
  readonly algorithmId: number;
  /** keyDataLength in bits. */
  readonly keyDataLength: number;
  /** The protected bucket of the recipient structure, as sent. */
  readonly protected: Uint8Array;
  readonly partyU?: PartyInfo;
  readonly partyV?: PartyInfo;
  readonly suppPubOther?: Uint8Array;
  readonly suppPrivInfo?: Uint8Array;
}

function party(p: PartyInfo | undefined): unknown[] {
  return [p?.identity ?? null, p?.nonce ?? null, p?.other ?? null];
}

/** COSE_KDF_Context = [AlgorithmID, PartyUInfo, PartyVInfo, SuppPubInfo, ? SuppPrivInfo]. */
export function coseKdfContext(input: KdfContextInput): Uint8Array {
  if (!Number.isSafeInteger(input.keyDataLength) || input.keyDataLength <= 0) {
    throw new CityTrustError('CRYPTO_INPUT_INVALID', 'keyDataLength is a positive number of bits');
  }
  const suppPub: unknown[] = [input.keyDataLength, input.protected];
  if (input.suppPubOther !== undefined) suppPub.push(input.suppPubOther);
  const ctx: unknown[] = [input.algorithmId, party(input.partyU), party(input.partyV), suppPub];
  if (input.suppPrivInfo !== undefined) ctx.push(input.suppPrivInfo);
  return encodeCbor(ctx);
}

/** PartyU/PartyV information carried in a recipient's headers (labels -21..-26). */
export function partiesFromHeaders(h: DecodedHeaders): { partyU: PartyInfo; partyV: PartyInfo } {
  const b = (label: number): Uint8Array | null => {
    const v = header(h, label);
    if (v === undefined) return null;
    if (!(v instanceof Uint8Array)) throw new CityTrustError('COSE_HEADER_INVALID', `header ${label} is a byte string`);
    return v;
  };
  const n = (label: number): Uint8Array | number | null => {
    const v = header(h, label);
    if (v === undefined) return null;
    if (!(v instanceof Uint8Array) && !(typeof v === 'number' && Number.isSafeInteger(v))) {
      throw new CityTrustError('COSE_HEADER_INVALID', `header ${label} is a byte string or an integer`);
    }
    return v;
  };
  return {
    partyU: { identity: b(HEADER.partyUIdentity), nonce: n(HEADER.partyUNonce), other: b(HEADER.partyUOther) },
    partyV: { identity: b(HEADER.partyVIdentity), nonce: n(HEADER.partyVNonce), other: b(HEADER.partyVOther) },
  };
}

/** HKDF-SHA256 from the ECDH secret Z (wiped here) with the context as info (RFC 9053 §5.1, §6.3.1). */
export function deriveKeyHkdf256(z: Uint8Array, salt: Uint8Array, context: Uint8Array, keyLength: number): Uint8Array {
  try {
    return hkdfSha256(z, salt, context, keyLength);
  } finally {
    wipe(z);
  }
}
