/** RFC 8949 deterministic CBOR: encodeCbor, decodeCbor and validateCbor. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeCbor, encodeCbor, validateCbor, CborTag, CBOR_DEFAULT_LIMITS } from '../../src/crypto/index.ts';
import { fromHex, toHex } from '../../src/core/bytes.ts';
import { isCityTrustError, type ErrorCode } from '../../src/core/errors.ts';

const STRICT = CBOR_DEFAULT_LIMITS;
const DET = { ...CBOR_DEFAULT_LIMITS, deterministic: true };

function codeOf(f: () => unknown): ErrorCode {
  try {
    f();
  } catch (e) {
    if (isCityTrustError(e)) return e.code;
    throw e;
  }
  assert.fail('expected a CityTrustError');
}

describe('encodeCbor', () => {
  it('writes the RFC 8949 Appendix A examples of our data model byte for byte', () => {
    const cases: [unknown, string][] = [
      [0, '00'],
      [23, '17'],
      [24, '1818'],
      [100, '1864'],
      [1000, '1903e8'],
      [1000000, '1a000f4240'],
      [1000000000000, '1b000000e8d4a51000'],
      [18446744073709551615n, '1bffffffffffffffff'],
      [-1, '20'],
      [-1000, '3903e7'],
      [-18446744073709551615n, '3bfffffffffffffffe'],
      ['', '60'],
      ['IETF', '6449455446'],
      ['\u00fc', '62c3bc'],
      ['\u6c34', '63e6b0b4'],
      ['\u{10151}', '64f0908591'],
      [fromHex('01020304'), '4401020304'],
      [[], '80'],
      [[1, [2, 3], [4, 5]], '8301820203820405'],
      [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
      [new Map(), 'a0'],
      [new Map([[1, 2], [3, 4]]), 'a201020304'],
      [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
      [false, 'f4'],
      [true, 'f5'],
      [null, 'f6'],
      [undefined, 'f7'],
      [new CborTag('http://www.example.com', 32), 'd82076687474703a2f2f7777772e6578616d706c652e636f6d'],
    ];
    for (const [value, hex] of cases) assert.equal(toHex(encodeCbor(value)), hex, `${String(value)}`);
  });

  it('sorts map keys by the bytewise order of their encodings (RFC 8949 §4.2.1 example)', () => {
    const keys: unknown[] = [false, [-1], [100], 'aa', 'z', -1, 100, 10];
    const m = new Map(keys.map((k, i) => [k, i]));
    const enc = encodeCbor(m);
    // 10, 100, -1, "z", "aa", [100], [-1], false
    assert.equal(toHex(enc), 'a8' + '0a07' + '186406' + '2005' + '617a04' + '62616103' + '81186402' + '812001' + 'f400');
    validateCbor(enc, DET);
  });

  it('writes safe integers above 32 bits as integers and bigints that fit 32 bits in their short form', () => {
    assert.equal(toHex(encodeCbor(2 ** 40)), '1b0000010000000000');
    assert.equal(toHex(encodeCbor(-(2 ** 40))), '3b000000ffffffffff');
    assert.equal(toHex(encodeCbor(5n)), '05');
    assert.equal(toHex(encodeCbor(-0)), '00');
  });

  it('writes Buffers and Uint8Arrays alike, as untagged byte strings', () => {
    assert.equal(toHex(encodeCbor(Buffer.from([1, 2]))), '420102');
    assert.equal(toHex(encodeCbor(new Uint8Array([1, 2]))), '420102');
  });

  it('refuses values outside the data model with CBOR_UNSUPPORTED_VALUE', () => {
    for (const v of [1.5, NaN, Infinity, 2 ** 53, 2n ** 64n, -(2n ** 64n), '\ud800', new Date(0), new Set([1]), Symbol('x'), () => 1, new (class X {})()]) {
      assert.equal(codeOf(() => encodeCbor(v)), 'CBOR_UNSUPPORTED_VALUE', String(typeof v));
    }
  });

  it('refuses two keys with the same encoding (5 and 5n) with CBOR_DUPLICATE_KEY', () => {
    assert.equal(codeOf(() => encodeCbor(new Map<unknown, unknown>([[5, 'a'], [5n, 'b']]))), 'CBOR_DUPLICATE_KEY');
  });

  it('refuses cyclic and absurdly deep values with CBOR_TOO_DEEP instead of overflowing the stack', () => {
    const a: unknown[] = [];
    a.push(a);
    assert.equal(codeOf(() => encodeCbor(a)), 'CBOR_TOO_DEEP');
  });
});

describe('decodeCbor', () => {
  it('decodes maps as Map (integer keys kept), byte strings as plain Uint8Array copies, and keeps tags', () => {
    const input = encodeCbor(new CborTag([fromHex('a10126'), new Map([[4, fromHex('3131')]]), new TextEncoder().encode('This'), new Uint8Array(64)], 18));
    const v = decodeCbor(input, { ...STRICT, allowedTags: [18] });
    assert.ok(v instanceof CborTag);
    assert.equal(v.tag, 18);
    const [prot, unprot, payload] = v.value as [Uint8Array, Map<number, Uint8Array>, Uint8Array];
    assert.equal(prot.constructor, Uint8Array);
    assert.ok(unprot instanceof Map);
    assert.deepEqual(unprot.get(4), new Uint8Array([0x31, 0x31]));
    input.fill(0);
    assert.deepEqual(payload, new TextEncoder().encode('This'), 'decoded bytes must not alias the input');
    for (const t of [16, 17, 61, 96, 97, 98]) {
      const d = decodeCbor(encodeCbor(new CborTag([1], t)), { ...STRICT, allowedTags: [t] });
      assert.ok(d instanceof CborTag && d.tag === t);
    }
  });

  it('returns numbers for 8-byte integers up to 2^53 and bigints beyond', () => {
    assert.equal(decodeCbor(fromHex('1b0000000100000000'), STRICT), 4294967296);
    assert.equal(decodeCbor(fromHex('1bffffffffffffffff'), STRICT), 18446744073709551615n);
    assert.equal(decodeCbor(fromHex('3bffffffffffffffff'), STRICT), -18446744073709551616n);
    assert.deepEqual(decodeCbor(fromHex('a11b00000001000000000a'), STRICT), new Map([[4294967296, 10]]));
  });

  it('refuses every non-strict or malformed encoding with its own code', () => {
    const cases: [string, ErrorCode][] = [
      ['1817', 'CBOR_NON_SHORTEST'],
      ['190017', 'CBOR_NON_SHORTEST'],
      ['1a00000017', 'CBOR_NON_SHORTEST'],
      ['1b0000000000000017', 'CBOR_NON_SHORTEST'],
      ['580100', 'CBOR_NON_SHORTEST'],
      ['d80100', 'CBOR_NON_SHORTEST'],
      ['fa3f800000', 'CBOR_NON_SHORTEST'], // 1.0 fits float16
      ['fb3ff0000000000000', 'CBOR_NON_SHORTEST'], // 1.0 fits float32
      ['fb7ff8000000000000', 'CBOR_NON_SHORTEST'], // NaN belongs in float16
      ['5f4101ff', 'CBOR_INDEFINITE_LENGTH'],
      ['7f6161ff', 'CBOR_INDEFINITE_LENGTH'],
      ['9f01ff', 'CBOR_INDEFINITE_LENGTH'],
      ['bf0101ff', 'CBOR_INDEFINITE_LENGTH'],
      ['ff', 'CBOR_MALFORMED'],
      ['1c', 'CBOR_MALFORMED'],
      ['5e', 'CBOR_MALFORMED'],
      ['f810', 'CBOR_MALFORMED'],
      ['1f', 'CBOR_MALFORMED'],
      ['f0', 'CBOR_UNSUPPORTED_VALUE'],
      ['f820', 'CBOR_UNSUPPORTED_VALUE'],
      ['62c328', 'CBOR_INVALID_UTF8'],
      ['63eda080', 'CBOR_INVALID_UTF8'], // an encoded surrogate
      ['c074323031332d30332d32315432303a30343a30305a', 'CBOR_TAG_NOT_ALLOWED'], // tag 0 (cbor-x would build a Date)
      ['d81c80', 'CBOR_TAG_NOT_ALLOWED'], // tag 28, shared values
      ['a201000100', 'CBOR_DUPLICATE_KEY'],
      ['0000', 'CBOR_TRAILING_BYTES'],
      ['', 'CBOR_TRUNCATED'],
      ['1901', 'CBOR_TRUNCATED'],
      ['5820', 'CBOR_TRUNCATED'],
      ['8201', 'CBOR_TRUNCATED'],
      ['a101', 'CBOR_TRUNCATED'],
      ['d2', 'CBOR_TAG_NOT_ALLOWED'],
    ];
    for (const [hex, code] of cases) {
      let got: string;
      try {
        decodeCbor(fromHex(hex), STRICT);
        got = 'accepted';
      } catch (e) {
        got = isCityTrustError(e) ? e.code : String(e);
      }
      assert.equal(got, code, hex);
    }
  });

  it('accepts the shortest float forms (float16, and float32/float64 that need their width)', () => {
    assert.equal(decodeCbor(fromHex('f93c00'), STRICT), 1);
    assert.ok(Number.isNaN(decodeCbor(fromHex('f97e00'), STRICT)));
    assert.equal(decodeCbor(fromHex('fa47c35000'), STRICT), 100000);
    assert.equal(decodeCbor(fromHex('fb3ff199999999999a'), STRICT), 1.1);
    assert.equal(decodeCbor(fromHex('f90001'), STRICT), 5.960464477539063e-8);
  });

  it('requires sorted map keys only in deterministic mode', () => {
    const unsorted = fromHex('a202000100');
    assert.deepEqual(decodeCbor(unsorted, STRICT), new Map([[2, 0], [1, 0]]));
    assert.equal(codeOf(() => decodeCbor(unsorted, DET)), 'CBOR_MAP_KEY_ORDER');
    assert.equal(codeOf(() => decodeCbor(fromHex('a201000100'), DET)), 'CBOR_DUPLICATE_KEY');
    assert.equal(codeOf(() => validateCbor(unsorted, DET)), 'CBOR_MAP_KEY_ORDER');
  });

  it('enforces maxBytes, maxDepth and maxItems', () => {
    assert.equal(codeOf(() => decodeCbor(new Uint8Array(65), { ...STRICT, maxBytes: 64 })), 'CBOR_TOO_LARGE');
    assert.equal(codeOf(() => decodeCbor(fromHex('81818100'), { ...STRICT, maxDepth: 2 })), 'CBOR_TOO_DEEP');
    assert.deepEqual(decodeCbor(fromHex('818100'), { ...STRICT, maxDepth: 2 }), [[0]]);
    assert.equal(codeOf(() => decodeCbor(fromHex('83010203'), { ...STRICT, maxItems: 3 })), 'CBOR_TOO_MANY_ITEMS');
    assert.deepEqual(decodeCbor(fromHex('820102'), { ...STRICT, maxItems: 3 }), [1, 2]);
  });

  it('survives a million nested arrays without a stack overflow', () => {
    const deep = new Uint8Array(1_000_001).fill(0x81);
    deep[deep.length - 1] = 0;
    assert.equal(codeOf(() => decodeCbor(deep, { maxBytes: 2_000_000, maxDepth: 64, maxItems: 2_000_000 })), 'CBOR_TOO_DEEP');
  });

  it('refuses lengths and counts larger than the input before allocating for them', () => {
    assert.equal(codeOf(() => decodeCbor(fromHex('9affffffff'), STRICT)), 'CBOR_TRUNCATED'); // 2^32-1 elements
    assert.equal(codeOf(() => decodeCbor(fromHex('baffffffff'), STRICT)), 'CBOR_TRUNCATED');
    assert.equal(codeOf(() => decodeCbor(fromHex('5bffffffffffffffff'), STRICT)), 'CBOR_TRUNCATED');
    assert.equal(codeOf(() => decodeCbor(fromHex('9a7fffffff'), STRICT)), 'CBOR_TRUNCATED');
  });

  it('throws only CityTrustErrors with CBOR_* codes on random input (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
        try {
          decodeCbor(bytes, { ...STRICT, allowedTags: [18] });
        } catch (e) {
          return isCityTrustError(e) && e.code.startsWith('CBOR_');
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('encodeCbor ∘ decodeCbor', () => {
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 4 },
      fc.integer(),
      fc.maxSafeInteger(),
      fc.bigInt({ min: -(2n ** 64n) + 1n, max: 2n ** 64n - 1n }),
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.uint8Array({ maxLength: 8 }),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.string({ maxLength: 4 })), tie('value')), { maxLength: 4, selector: (e) => e[0] }).map((es) => new Map(es)),
      fc.tuple(fc.constantFrom(16, 17, 18, 61, 96, 97, 98), tie('value')).map(([t, v]) => new CborTag(v, t)),
    ),
  }));
  const TAGS = [16, 17, 18, 61, 96, 97, 98];

  it('produces deterministic CBOR that decodes and re-encodes to the same bytes (property)', () => {
    fc.assert(
      fc.property(value, (v) => {
        const enc = encodeCbor(v);
        validateCbor(enc, { ...DET, allowedTags: TAGS });
        const again = encodeCbor(decodeCbor(enc, { ...DET, allowedTags: TAGS }));
        assert.deepEqual(again, enc);
      }),
      { numRuns: 500 },
    );
  });
});
