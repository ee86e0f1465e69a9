/**
 * A structural scanner that checks CBOR bytes before any value is built (RFC 8949).
 *
 * It walks the encoding with an explicit stack, so hostile nesting can exhaust neither the call
 * stack nor memory: no value is allocated, every length is checked against the bytes that remain
 * before it is trusted, and depth, item count and size are capped. Only input that passes is
 * handed to cbor-x, whose recursive decoder is then bounded by our depth limit.
 *
 * Always enforced ("strict"):
 *   - well-formedness (RFC 8949 §3, Appendix F), no trailing bytes;
 *   - definite lengths only (indefinite lengths have no place in signed structures);
 *   - preferred serialization: shortest arguments and shortest floats (§4.1, §4.2.1);
 *   - valid UTF-8 in text strings (§5.3.1);
 *   - no duplicate map keys (§5.6), compared on their (then unique) encodings;
 *   - tags only from an allow-list, simple values only false/true/null/undefined.
 * With `deterministic`, additionally map keys sorted bytewise by encoding (§4.2.1).
 */
import { CityTrustError, type ErrorCode } from '../../core/errors.ts';
import { toHex } from '../../core/bytes.ts';

export interface CborLimits {
  /** Maximum input length in bytes. */
  readonly maxBytes: number;
  /** Maximum nesting of arrays, maps and tags (a scalar at top level has depth 0). */
  readonly maxDepth: number;
  /** Maximum number of data items, counting every key, value, element and tag. */
  readonly maxItems: number;
}

export interface CborScanOptions extends CborLimits {
  /** Also require map keys in bytewise order of their encodings (RFC 8949 §4.2.1). */
  readonly deterministic?: boolean;
  /** Tag numbers that may appear; any other tag is refused. Default: none. */
  readonly allowedTags?: readonly number[];
}

export interface ScanResult {
  /** An 8-byte integer argument was seen (cbor-x returns those as bigint). */
  readonly sawInt64: boolean;
}

interface Frame {
  /** Items still expected: elements of an array, 2 × entries of a map, 1 for a tag. */
  remaining: number;
  readonly kind: 4 | 5 | 6;
  /** Offset of the container's initial byte. */
  readonly start: number;
  prevKeyStart: number;
  prevKeyEnd: number;
  keys: Set<string> | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function fail(code: ErrorCode, message: string, offset: number): never {
  throw new CityTrustError(code, message, { details: { offset } });
}

function compareRanges(b: Uint8Array, aStart: number, aEnd: number, cStart: number, cEnd: number): number {
  const n = Math.min(aEnd - aStart, cEnd - cStart);
  for (let i = 0; i < n; i++) {
    const d = (b[aStart + i] as number) - (b[cStart + i] as number);
    if (d !== 0) return d;
  }
  return aEnd - aStart - (cEnd - cStart);
}

/** True when a binary32 (given as its bits) is exactly a binary16 value (IEEE 754-2008). */
function float32FitsFloat16(bits: number): boolean {
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return mant === 0; // ±Infinity fits; NaN handled by the caller
  if (exp === 0) return mant === 0; // ±0 fits; binary32 subnormals are far below binary16's range
  const e = exp - 127;
  if (e >= -14 && e <= 15) return (mant & 0x1fff) === 0; // binary16 normal: 10 mantissa bits
  if (e >= -24 && e < -14) {
    // binary16 subnormal k·2^-24: the 24-bit significand must lose no set bit when shifted.
    const sig = mant | 0x800000;
    const shift = -(e + 1);
    return (sig & ((1 << shift) - 1)) === 0;
  }
  return false;
}

export function scanCbor(bytes: Uint8Array, opts: CborScanOptions): ScanResult {
  const len = bytes.length;
  if (len > opts.maxBytes) fail('CBOR_TOO_LARGE', `CBOR input exceeds ${opts.maxBytes} bytes`, 0);
  if (len === 0) fail('CBOR_TRUNCATED', 'empty CBOR input', 0);
  const deterministic = opts.deterministic === true;
  const allowedTags = opts.allowedTags ?? [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Frame[] = [];
  let pos = 0;
  let items = 0;
  let sawInt64 = false;

  for (;;) {
    if (pos >= len) fail('CBOR_TRUNCATED', 'CBOR data ends inside an item', pos);
    let start = pos;
    const ib = bytes[pos++] as number;
    const mt = ib >> 5;
    const ai = ib & 0x1f;
    if (++items > opts.maxItems) fail('CBOR_TOO_MANY_ITEMS', `more than ${opts.maxItems} CBOR data items`, start);

    // The argument (RFC 8949 §3). For floats, `arg` stays 0 and the bits are checked in place.
    let arg = 0;
    if (ai < 24) {
      arg = ai;
    } else if (ai <= 27) {
      const n = 1 << (ai - 24);
      if (pos + n > len) fail('CBOR_TRUNCATED', 'CBOR data ends inside an argument', start);
      if (mt === 7) {
        if (ai === 24) {
          const v = bytes[pos] as number;
          // §3.3: simple values 0..31 in the one-byte form are not well-formed.
          if (v < 32) fail('CBOR_MALFORMED', 'two-byte encoding of a simple value below 32', start);
          fail('CBOR_UNSUPPORTED_VALUE', 'unassigned simple value', start);
        } else if (ai === 26) {
          const bitsF = view.getUint32(pos);
          if (Number.isNaN(view.getFloat32(pos)) || float32FitsFloat16(bitsF)) {
            fail('CBOR_NON_SHORTEST', 'float32 that fits in float16', start);
          }
        } else if (ai === 27) {
          const v = view.getFloat64(pos);
          if (Number.isNaN(v) || Math.fround(v) === v) fail('CBOR_NON_SHORTEST', 'float64 that fits in float32', start);
        }
        // ai === 25: a float16 is always the shortest float.
      } else if (ai === 24) {
        arg = bytes[pos] as number;
        if (arg < 24) fail('CBOR_NON_SHORTEST', 'argument not in its shortest form', start);
      } else if (ai === 25) {
        arg = view.getUint16(pos);
        if (arg < 0x100) fail('CBOR_NON_SHORTEST', 'argument not in its shortest form', start);
      } else if (ai === 26) {
        arg = view.getUint32(pos);
        if (arg < 0x10000) fail('CBOR_NON_SHORTEST', 'argument not in its shortest form', start);
      } else {
        const hi = view.getUint32(pos);
        if (hi === 0) fail('CBOR_NON_SHORTEST', 'argument not in its shortest form', start);
        // Above 2^53 the value is inexact as a number, but only lengths and tag numbers use it
        // below, and those are refused as too large either way.
        arg = hi * 0x100000000 + view.getUint32(pos + 4);
        if (mt <= 1) sawInt64 = true;
      }
      pos += n;
    } else if (ai === 31) {
      if (mt >= 2 && mt <= 5) fail('CBOR_INDEFINITE_LENGTH', 'indefinite-length item', start);
      fail('CBOR_MALFORMED', mt === 7 ? 'break outside an indefinite-length item' : 'indefinite length on a major type without one', start);
    } else {
      fail('CBOR_MALFORMED', 'reserved additional information value', start);
    }

    let opened = false;
    switch (mt) {
      case 0:
      case 1:
        break;
      case 2:
      case 3:
        if (arg > len - pos) fail('CBOR_TRUNCATED', 'string runs past the end of the data', start);
        if (mt === 3) {
          try {
            utf8.decode(bytes.subarray(pos, pos + arg));
          } catch {
            fail('CBOR_INVALID_UTF8', 'text string is not valid UTF-8', start);
          }
        }
        pos += arg;
        break;
      case 4:
      case 5:
        if (arg > 0) {
          // Each element takes at least one byte; refuse impossible counts before looping on them.
          if (arg > len - pos) fail('CBOR_TRUNCATED', 'container claims more items than bytes remain', start);
          stack.push({ remaining: mt === 5 ? 2 * arg : arg, kind: mt, start, prevKeyStart: -1, prevKeyEnd: -1, keys: undefined });
          opened = true;
        }
        break;
      case 6:
        if (ai === 27 || !allowedTags.includes(arg)) fail('CBOR_TAG_NOT_ALLOWED', `tag ${arg} is not allowed here`, start);
        stack.push({ remaining: 1, kind: 6, start, prevKeyStart: -1, prevKeyEnd: -1, keys: undefined });
        opened = true;
        break;
      default:
        // Major type 7 with a direct value: 20..23 are false/true/null/undefined; 0..19 are unassigned.
        if (ai < 20) fail('CBOR_UNSUPPORTED_VALUE', 'unassigned simple value', start);
    }
    if (opened) {
      if (stack.length > opts.maxDepth) fail('CBOR_TOO_DEEP', `CBOR nests deeper than ${opts.maxDepth}`, start);
      continue;
    }

    // The item [start, pos) is complete: account for it in its parents, closing those it fills.
    let end = pos;
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        if (pos !== len) fail('CBOR_TRAILING_BYTES', 'bytes follow the CBOR item', pos);
        return { sawInt64 };
      }
      if (top.kind === 5 && top.remaining % 2 === 0) checkKey(bytes, top, start, end, deterministic);
      if (--top.remaining > 0) break;
      stack.pop();
      start = top.start;
      end = pos;
    }
  }
}

function checkKey(bytes: Uint8Array, map: Frame, start: number, end: number, deterministic: boolean): void {
  if (deterministic) {
    if (map.prevKeyStart >= 0) {
      const c = compareRanges(bytes, map.prevKeyStart, map.prevKeyEnd, start, end);
      if (c === 0) fail('CBOR_DUPLICATE_KEY', 'map key repeated', start);
      if (c > 0) fail('CBOR_MAP_KEY_ORDER', 'map keys not in bytewise order of their encodings', start);
    }
    map.prevKeyStart = start;
    map.prevKeyEnd = end;
    return;
  }
  // Preferred serialization is enforced above, so equal keys have equal encodings.
  if (map.prevKeyStart < 0) {
    map.prevKeyStart = start;
    map.prevKeyEnd = end;
    return;
  }
  if (map.keys === undefined) map.keys = new Set([toHex(bytes.subarray(map.prevKeyStart, map.prevKeyEnd))]);
  const k = toHex(bytes.subarray(start, end));
  if (map.keys.has(k)) fail('CBOR_DUPLICATE_KEY', 'map key repeated', start);
  map.keys.add(k);
}
