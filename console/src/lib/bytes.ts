/**
 * Byte helpers for the browser (and node, where the unit tests run them): no Buffer, no
 * node: imports, only what both runtimes have.
 */

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict standard base64 (RFC 4648 §4): refuses what atob would tolerate (whitespace, bad length). */
export function fromBase64(s: string): Uint8Array {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !B64.test(s)) throw new TypeError('not a base64 string');
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function toBase64(b: Uint8Array): string {
  let bin = '';
  for (const x of b) bin += String.fromCharCode(x);
  return btoa(bin);
}

/**
 * Canonical base64: decodes and re-encodes to the same text, so unused padding bits are zero.
 * A signed note must be parsed exactly one way (signed-note §Format).
 */
export function fromCanonicalBase64(s: string): Uint8Array | undefined {
  try {
    const b = fromBase64(s);
    return toBase64(b) === s ? b : undefined;
  } catch {
    return undefined;
  }
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
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

/** Equality of public values (hashes, roots, key IDs); nothing secret is compared here. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const utf8Encode = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A copy backed by a plain ArrayBuffer, the type WebCrypto's BufferSource wants. */
export function buf(b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(b.length));
  out.set(b);
  return out;
}
