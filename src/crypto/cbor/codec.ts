/**
 * Deterministic CBOR (RFC 8949 §4.2.1) on top of cbor-x.
 *
 * Encoding normalises the value first (integers to their shortest form, map keys sorted by their
 * encodings, byte strings untagged) and then lets cbor-x write it. Decoding runs our structural
 * scanner (./scan.ts) before cbor-x builds a single value, so limits, strictness and the tag
 * allow-list hold no matter what cbor-x would tolerate; none of cbor-x's own tag extensions
 * (dates, typed arrays, records, shared references) can be reached, because the scanner refuses
 * every tag that is not on the caller's list.
 *
 * Data model: integers (number when safe, bigint for 8-byte arguments beyond 2^53), byte strings
 * (plain Uint8Array), text strings, arrays, Maps, CborTag, booleans, null, undefined. Floats are
 * decoded but never encoded: nothing we sign needs them and their deterministic form is a classic
 * interoperability trap.
 */
import { Decoder, Encoder, Tag } from 'cbor-x';
import { CityTrustError } from '../../core/errors.ts';
import { scanCbor, type CborLimits, type CborScanOptions } from './scan.ts';

export { Tag as CborTag };
export type { CborLimits };

export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | readonly CborValue[]
  | ReadonlyMap<CborValue, CborValue>
  | Tag;

export type CborDecodeOptions = CborScanOptions;

/** Limits for small protocol messages (credentials, headers, tap messages). Pass larger ones where needed. */
export const CBOR_DEFAULT_LIMITS: CborLimits = Object.freeze({ maxBytes: 64 * 1024, maxDepth: 16, maxItems: 4096 });

/** Depth beyond which encoding refuses a value (and so also any cyclic value). */
const ENCODE_MAX_DEPTH = 64;

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  variableMapSize: true,
  tagUint8Array: false,
  useFloat32: 0,
  pack: false,
  structuredClone: false,
  bundleStrings: false,
  useSelfDescribedHeader: false,
  useToJSON: false,
  useTag259ForMaps: false,
} as ConstructorParameters<typeof Encoder>[0]);

const decoder = new Decoder({
  useRecords: false,
  mapsAsObjects: false,
  copyBuffers: true,
  bundleStrings: false,
  structuredClone: false,
  useFloat32: 0,
});

const TWO_32 = 0x100000000;
const U64_MAX = (1n << 64n) - 1n;

function unsupported(message: string): never {
  throw new CityTrustError('CBOR_UNSUPPORTED_VALUE', message);
}

function writeRaw(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** Rebuild `value` so that cbor-x's output is the deterministic encoding. */
function normalise(value: unknown, depth: number): unknown {
  if (depth > ENCODE_MAX_DEPTH) throw new CityTrustError('CBOR_TOO_DEEP', `value nests deeper than ${ENCODE_MAX_DEPTH}`);
  switch (typeof value) {
    case 'number':
      if (!Number.isSafeInteger(value)) unsupported('only safe integers are encoded; floats and NaN are not');
      if (value === 0) return 0; // also turns -0 into 0
      // cbor-x writes numbers beyond 32 bits as float64; 8-byte integers go through bigint.
      return value >= TWO_32 || value < -TWO_32 ? BigInt(value) : value;
    case 'bigint':
      // cbor-x cannot write -2^64 without a bignum tag, so the encodable range stops one short of CBOR's.
      if (value > U64_MAX || value < -U64_MAX) unsupported('integer outside [-(2^64 - 1), 2^64 - 1]');
      // cbor-x always writes a bigint in 8 bytes; smaller values must take the shortest form.
      return value < BigInt(TWO_32) && value >= -BigInt(TWO_32) ? Number(value) : value;
    case 'string':
      if (!value.isWellFormed()) unsupported('text contains a lone surrogate and has no UTF-8 encoding');
      return value;
    case 'boolean':
    case 'undefined':
      return value;
    case 'object': {
      if (value === null) return null;
      if (value instanceof Uint8Array) {
        return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      }
      if (Array.isArray(value)) return value.map((v) => normalise(v, depth + 1));
      if (value instanceof Map) return normaliseMap(value.entries(), depth);
      if (value instanceof Tag) {
        if (!Number.isSafeInteger(value.tag) || value.tag < 0) unsupported('tag number must be a non-negative integer');
        return new Tag(normalise(value.value, depth + 1), value.tag);
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto === Object.prototype || proto === null) return normaliseMap(Object.entries(value), depth);
      return unsupported('class instances have no CBOR encoding here');
    }
    default:
      return unsupported(`${typeof value} has no CBOR encoding`);
  }
}

function normaliseMap(entries: Iterable<[unknown, unknown]>, depth: number): Map<unknown, unknown> {
  const sorted: { key: unknown; value: unknown; enc: Uint8Array }[] = [];
  for (const [k, v] of entries) {
    const key = normalise(k, depth + 1);
    sorted.push({ key, value: normalise(v, depth + 1), enc: Uint8Array.from(writeRaw(key)) });
  }
  // RFC 8949 §4.2.1: keys sorted by the bytewise lexicographic order of their encodings.
  sorted.sort((a, b) => compareBytes(a.enc, b.enc));
  const out = new Map<unknown, unknown>();
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i] as (typeof sorted)[number];
    if (i > 0 && compareBytes((sorted[i - 1] as (typeof sorted)[number]).enc, e.enc) === 0) {
      throw new CityTrustError('CBOR_DUPLICATE_KEY', 'two map keys have the same encoding');
    }
    out.set(e.key, e.value);
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Encode `value` in RFC 8949 §4.2.1 core deterministic encoding. */
export function encodeCbor(value: unknown): Uint8Array {
  const out = writeRaw(normalise(value, 0));
  // cbor-x returns a view into its shared output buffer: copy out an exact-size array.
  return Uint8Array.from(out);
}

/**
 * Check that `bytes` is exactly one well-formed, strict (see ./scan.ts) CBOR item within the
 * limits, and deterministic if asked, without building any value.
 */
export function validateCbor(bytes: Uint8Array, options: CborDecodeOptions): void {
  if (!(bytes instanceof Uint8Array)) throw new CityTrustError('CRYPTO_INPUT_INVALID', 'CBOR input must be a Uint8Array');
  scanCbor(bytes, options);
}

/** Decode exactly one CBOR item under hard limits; see the module comment for the data model. */
export function decodeCbor(bytes: Uint8Array, options: CborDecodeOptions): unknown {
  if (!(bytes instanceof Uint8Array)) throw new CityTrustError('CRYPTO_INPUT_INVALID', 'CBOR input must be a Uint8Array');
  const { sawInt64 } = scanCbor(bytes, options);
  // A fresh plain view: cbor-x caches a DataView on the object it is given.
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let value: unknown;
  try {
    value = decoder.decode(view);
  } catch (cause) {
    // Unreachable for input the scanner accepted; kept so no library error escapes untyped.
    throw new CityTrustError('CBOR_MALFORMED', 'CBOR decoding failed', { cause });
  }
  return sawInt64 ? narrowIntegers(value) : value;
}

/** cbor-x returns every 8-byte integer as bigint; give back numbers where they are exact. */
function narrowIntegers(v: unknown): unknown {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = narrowIntegers(v[i]);
    return v;
  }
  if (v instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, x] of v) out.set(narrowIntegers(k), narrowIntegers(x));
    return out;
  }
  if (v instanceof Tag) return new Tag(narrowIntegers(v.value), v.tag);
  return v;
}
