/**
 * DER plumbing shared by the issuer and the device-side validator: a small TLV walker (to
 * keep the exact signed bytes of a structure and refuse trailing data) and typed parsing
 * through @peculiar/asn1-schema with a caller-chosen error code.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { CityTrustError, type ErrorCode } from '../../core/errors.ts';

export interface Tlv {
  readonly tag: number;
  /** Offset of the value. */
  readonly start: number;
  /** Offset just past the value. */
  readonly end: number;
}

/** Reads one DER TLV at `off` (single-byte tags, definite lengths only: X.690 §10.1). */
export function readTlv(b: Uint8Array, off: number, code: ErrorCode): Tlv {
  if (off + 2 > b.length) throw new CityTrustError(code, 'DER is truncated');
  const tag = b[off]!;
  if ((tag & 0x1f) === 0x1f) throw new CityTrustError(code, 'DER uses a multi-byte tag');
  let len = b[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    // 0x80 is BER's indefinite length; DER forbids it and lengths past 4 bytes are absurd here.
    if (n === 0 || n > 4) throw new CityTrustError(code, 'DER length is indefinite or too long');
    if (p + n > b.length) throw new CityTrustError(code, 'DER is truncated');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    if (b[p] === 0 || len < 0x80) throw new CityTrustError(code, 'DER length is not minimal');
    p += n;
  }
  if (p + len > b.length) throw new CityTrustError(code, 'DER is truncated');
  return { tag, start: p, end: p + len };
}

/** The signed part of SEQUENCE { tbs, algorithm, signature } as the exact bytes that were signed. */
export function signedPart(b: Uint8Array, code: ErrorCode): Uint8Array {
  const outer = readTlv(b, 0, code);
  if (outer.tag !== 0x30) throw new CityTrustError(code, 'DER does not start with a SEQUENCE');
  if (outer.end !== b.length) throw new CityTrustError(code, 'DER has trailing bytes');
  const tbs = readTlv(b, outer.start, code);
  if (tbs.tag !== 0x30) throw new CityTrustError(code, 'the signed part is not a SEQUENCE');
  const hdr = tbs.start - outer.start;
  return b.subarray(outer.start, outer.start + hdr + (tbs.end - tbs.start));
}

/** Parses DER into an asn1-schema type; any failure, and trailing bytes, become `code`. */
export function parseDer<T>(b: Uint8Array, type: new () => T, code: ErrorCode, what: string): T {
  if (!(b instanceof Uint8Array) || b.length === 0) throw new CityTrustError(code, `${what} is empty`);
  const outer = readTlv(b, 0, code);
  if (outer.end !== b.length) throw new CityTrustError(code, `${what} has trailing bytes`);
  try {
    return AsnConvert.parse(b, type);
  } catch (e) {
    throw new CityTrustError(code, `${what} is not valid DER`, { cause: e });
  }
}

export function serialize(value: unknown): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(value));
}

/** An ArrayBuffer holding exactly these bytes (asn1-schema wants ArrayBuffers). */
export function ab(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export function hex(b: Uint8Array | ArrayBuffer): string {
  return Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex');
}

/**
 * Serial number bytes as the canonical hex id: leading zero octets that DER adds to keep the
 * INTEGER positive are dropped, so the same serial always has one spelling.
 */
export function serialHex(b: Uint8Array | ArrayBuffer): string {
  const u = b instanceof Uint8Array ? b : new Uint8Array(b);
  let i = 0;
  while (i < u.length - 1 && u[i] === 0) i++;
  return hex(u.subarray(i));
}

/** DER INTEGER content for a hex serial (a 0x00 prepended when the top bit is set). */
export function serialBytes(serial: string): Uint8Array {
  const b = Buffer.from(serial.length % 2 ? `0${serial}` : serial, 'hex');
  return b[0]! & 0x80 ? new Uint8Array(Buffer.concat([Buffer.from([0]), b])) : new Uint8Array(b);
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/** PEM (one block of the label), or DER as is, or base64 of DER; anything else fails with `code`. */
export function fromPemOrDer(input: Uint8Array | string, labels: readonly string[], code: ErrorCode, what: string): Uint8Array {
  const text = typeof input === 'string' ? input : input[0] === 0x30 ? null : Buffer.from(input).toString('latin1');
  if (text === null) return input as Uint8Array;
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  const body = m ? m[2]! : text;
  if (m && !labels.includes(m[1]!)) throw new CityTrustError(code, `${what}: expected PEM ${labels.join(' or ')}, got ${m[1]}`);
  const compact = body.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length === 0) throw new CityTrustError(code, `${what} is neither DER, PEM nor base64`);
  return new Uint8Array(Buffer.from(compact, 'base64'));
}
