/**
 * A minimal DER writer and reader for the hot paths (issuing, CSR checks, OCSP). A general
 * ASN.1 library spends ~1.4 ms building one certificate here; writing the few structures we
 * issue directly is ~50 times faster and leaves no encoding choice to a library. Every writer
 * emits DER (X.690 §10): definite minimal lengths, minimal INTEGERs, no trailing bits.
 *
 * CONVENTIONS prefer @peculiar/x509 and @peculiar/asn1-*; they stay the reference: the
 * device-side validator parses with @peculiar/asn1-x509, and test/pki/x509-crosscheck.test.ts
 * reads our certificates, CRLs, OCSP responses and CSRs back with @peculiar/x509,
 * @peculiar/asn1-ocsp and OpenSSL (node:crypto; test/interop: the openssl CLI). Only the
 * server's hot paths (issuing ≥ 1,000/s, OCSP ≥ 10,000/s) write and read DER here.
 */
import { CityTrustError, type ErrorCode } from '../../core/errors.ts';
import { readTlv, type Tlv } from './der.ts';

function lengthBytes(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Uint8Array.of(0x80 | out.length, ...out);
}

export function tlv(tag: number, ...parts: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const l = lengthBytes(len);
  const out = new Uint8Array(1 + l.length + len);
  out[0] = tag;
  out.set(l, 1);
  let off = 1 + l.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export const seq = (...parts: readonly Uint8Array[]): Uint8Array => tlv(0x30, ...parts);
export const NULL = Uint8Array.of(0x05, 0x00);
export const TRUE = Uint8Array.of(0x01, 0x01, 0xff);

/** SET OF: DER sorts the encoded elements (X.690 §11.6). */
export function setOf(...parts: readonly Uint8Array[]): Uint8Array {
  return tlv(0x31, ...[...parts].sort((a, b) => Buffer.compare(a, b)));
}

const oidCache = new Map<string, Uint8Array>();
export function oid(dotted: string): Uint8Array {
  let o = oidCache.get(dotted);
  if (o) return o;
  const arcs = dotted.split('.').map((s) => BigInt(s));
  const body: number[] = [];
  const push = (v: bigint) => {
    const tmp: number[] = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) tmp.unshift(Number(v & 0x7fn) | 0x80);
    body.push(...tmp);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  o = tlv(0x06, Uint8Array.from(body));
  oidCache.set(dotted, o);
  return o;
}

/** Decodes OBJECT IDENTIFIER content octets to dotted text. */
export function oidToString(content: Uint8Array): string {
  const arcs: bigint[] = [];
  let v = 0n;
  for (const b of content) {
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0n;
    }
  }
  const first = arcs.shift() ?? 0n;
  const a0 = first < 80n ? first / 40n : 2n;
  return [a0, first - a0 * 40n, ...arcs].join('.');
}

/** A non-negative INTEGER from big-endian magnitude bytes. */
export function uint(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return m[0]! & 0x80 ? tlv(0x02, Uint8Array.of(0), m) : tlv(0x02, m);
}

export function smallUint(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return uint(Uint8Array.from(bytes.length ? bytes : [0]));
}

export const enumerated = (n: number): Uint8Array => tlv(0x0a, Uint8Array.of(n));
export const octets = (b: Uint8Array): Uint8Array => tlv(0x04, b);
export const bitString = (b: Uint8Array, unused = 0): Uint8Array => tlv(0x03, Uint8Array.of(unused), b);
export const utf8 = (s: string): Uint8Array => tlv(0x0c, Buffer.from(s, 'utf8'));
export const ia5 = (s: string): Uint8Array => tlv(0x16, Buffer.from(s, 'ascii'));
export const explicit = (n: number, inner: Uint8Array): Uint8Array => tlv(0xa0 | n, inner);

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** GeneralizedTime in whole seconds, `YYYYMMDDHHMMSSZ` (RFC 5280 §4.1.2.5.2). */
export function generalizedTime(ms: number): Uint8Array {
  const d = new Date(ms);
  const s = `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return tlv(0x18, Buffer.from(s, 'ascii'));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
export function x509Time(ms: number): Uint8Array {
  const d = new Date(ms);
  if (d.getUTCFullYear() >= 2050) return generalizedTime(ms);
  const s = `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, 'ascii'));
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
export function extensionDer(extnId: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(extnId), TRUE, octets(value)) : seq(oid(extnId), octets(value));
}

// ---- reading ----

/** The TLVs directly inside a constructed value. */
export function children(b: Uint8Array, parent: Tlv, code: ErrorCode): Tlv[] {
  const out: Tlv[] = [];
  for (let off = parent.start; off < parent.end; ) {
    const t = readTlv(b, off, code);
    if (t.end > parent.end) throw new CityTrustError(code, 'DER element overruns its parent');
    out.push(t);
    off = t.end;
  }
  return out;
}

/** The whole encoding (tag, length and value) of a TLV. */
export function raw(b: Uint8Array, t: Tlv): Uint8Array {
  let hdr = 2;
  const l = t.end - t.start;
  if (l >= 0x80) hdr += l > 0xffffff ? 4 : l > 0xffff ? 3 : l > 0xff ? 2 : 1;
  return b.subarray(t.start - hdr, t.end);
}

export function value(b: Uint8Array, t: Tlv): Uint8Array {
  return b.subarray(t.start, t.end);
}

/** Expects one TLV with this tag as the whole input. */
export function only(b: Uint8Array, tag: number, code: ErrorCode, what: string): Tlv {
  const t = readTlv(b, 0, code);
  if (t.tag !== tag) throw new CityTrustError(code, `${what}: unexpected tag 0x${t.tag.toString(16)}`);
  if (t.end !== b.length) throw new CityTrustError(code, `${what} has trailing bytes`);
  return t;
}

export function expectTag(t: Tlv | undefined, tag: number, code: ErrorCode, what: string): Tlv {
  if (!t || t.tag !== tag) throw new CityTrustError(code, `${what}: expected tag 0x${tag.toString(16)}`);
  return t;
}
