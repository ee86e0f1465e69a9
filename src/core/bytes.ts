/** Byte helpers shared by device- and server-side code. No dependencies beyond node:crypto. */
import { timingSafeEqual } from 'node:crypto';

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new TypeError('not a hex string');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

export function toBase64Url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Strict standard base64 (RFC 4648 §4): rejects characters Buffer would silently skip.
 * Callers that need one spelling per value check canonicity themselves (decodeCanonicalBase64).
 */
export function fromBase64(s: string): Uint8Array {
  if (s.length % 4 !== 0 || !B64.test(s)) throw new TypeError('not a base64 string');
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/**
 * Strict base64url without padding (RFC 4648 §5), canonical only: the unused low bits of the
 * last character must be zero (§3.5), so every byte string has exactly one spelling and a
 * token cannot be "altered" into another text that decodes to the same secret.
 */
export function fromBase64Url(s: string): Uint8Array {
  if (!B64URL.test(s) || s.length % 4 === 1) throw new TypeError('not a base64url string');
  const bytes = Buffer.from(s, 'base64url');
  if (bytes.toString('base64url') !== s) throw new TypeError('not a canonical base64url string');
  return new Uint8Array(bytes);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time equality for secrets and MACs; unequal lengths are simply unequal. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const utf8 = {
  encode: (s: string): Uint8Array => new TextEncoder().encode(s),
  decode: (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: true }).decode(b),
};

/** Overwrite a buffer that held secret material. */
export function wipe(b: Uint8Array | undefined): void {
  if (b) b.fill(0);
}
