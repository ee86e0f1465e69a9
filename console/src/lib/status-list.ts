/**
 * Reads a Status List Token (draft-ietf-oauth-status-list §5.2, docs/status-list.md) in the
 * browser: the COSE_Sign1 payload's claim 65533 {bits, lst}, inflated with the browser's own
 * DecompressionStream (ZLIB, RFC 1950), and the status of one index.
 * This shows what readers will read; it does not check the token's signature (readers do,
 * against the tenant's issuer key from the trust list).
 */
import { buf } from './bytes.ts';
import { decodeCbor, Tagged, type CborValue } from './cbor.ts';

export type CredentialStatus = 'valid' | 'revoked' | 'suspended' | `status ${number}`;

export interface StatusListView {
  uri: string | undefined;
  issuedAt: number | undefined;
  bits: number;
  /** The inflated bit array. */
  list: Uint8Array;
}

function fail(message: string): never {
  throw Object.assign(new Error(message), { code: 'STATUS_LIST_INVALID' });
}

export async function inflate(zlib: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([buf(zlib)]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function readStatusListToken(token: Uint8Array): Promise<StatusListView> {
  let outer: CborValue = decodeCbor(token);
  // COSE_Sign1 is tag 18 (RFC 9052 §4.2); an untagged array is accepted as well.
  if (outer instanceof Tagged) {
    if (outer.tag !== 18) fail(`not a COSE_Sign1 (tag ${outer.tag})`);
    outer = outer.value;
  }
  if (!Array.isArray(outer) || outer.length !== 4 || !(outer[2] instanceof Uint8Array)) fail('not a COSE_Sign1 with a payload');
  const claims = decodeCbor(outer[2]);
  if (!(claims instanceof Map)) fail('the payload is not a CWT claims map');
  const sl = claims.get(65533);
  if (!(sl instanceof Map)) fail('no status_list claim (65533)');
  const bits = sl.get('bits');
  const lst = sl.get('lst');
  if (bits !== 1 && bits !== 2 && bits !== 4 && bits !== 8) fail('bits must be 1, 2, 4 or 8');
  if (!(lst instanceof Uint8Array)) fail('lst must be a byte string');
  const uri = claims.get(2);
  const iat = claims.get(6);
  return { uri: typeof uri === 'string' ? uri : undefined, issuedAt: typeof iat === 'number' ? iat : undefined, bits, list: await inflate(lst) };
}

/** §4.1: entry i sits in byte ⌊i·bits/8⌋, from the least significant bits up. */
export function statusAt(view: StatusListView, index: number): CredentialStatus {
  const bitPos = index * view.bits;
  const byte = view.list[Math.floor(bitPos / 8)];
  if (!Number.isSafeInteger(index) || index < 0 || byte === undefined) fail('the index is outside the list');
  const v = (byte >> bitPos % 8) & ((1 << view.bits) - 1);
  // §7.1: 0 VALID, 1 INVALID, 2 SUSPENDED.
  return v === 0 ? 'valid' : v === 1 ? 'revoked' : v === 2 ? 'suspended' : `status ${v}`;
}
