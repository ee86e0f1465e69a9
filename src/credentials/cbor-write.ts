/**
 * Direct writers for the few CBOR items the issue path repeats per credential (integers, short
 * ASCII text, byte strings), in the deterministic encoding of RFC 8949 §4.2.1. Anything outside
 * their fast cases goes to the generic encoder, and tests hold every caller byte-equal to it.
 */
import { concatBytes } from '../core/bytes.ts';
import { encodeCbor } from '../crypto/index.ts';

/** Head of a CBOR item of major type `major` with argument `n` (shortest form); n a safe unsigned integer. */
export function cborHead(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >>> 8, n & 0xff);
  if (n < 0x100000000) return Uint8Array.of(m | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const hi = Math.floor(n / 0x100000000);
  const lo = n >>> 0;
  return Uint8Array.of(m | 27, hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff);
}

/** An unsigned integer, or the generic encoder for anything else (negative, fractional, huge). */
export function uintCbor(n: number): Uint8Array {
  return Number.isSafeInteger(n) && n >= 0 ? cborHead(0, n) : encodeCbor(n);
}

/** A text string; ASCII up to 255 characters is written directly, anything else by the generic encoder. */
export function textCbor(t: string): Uint8Array {
  if (t.length > 255 || !/^[\x00-\x7f]*$/.test(t)) return encodeCbor(t);
  const h = cborHead(3, t.length);
  const out = new Uint8Array(h.length + t.length);
  out.set(h);
  for (let i = 0; i < t.length; i++) out[h.length + i] = t.charCodeAt(i);
  return out;
}

/** A byte string. */
export function bytesCbor(b: Uint8Array): Uint8Array {
  return concatBytes(cborHead(2, b.length), b);
}
