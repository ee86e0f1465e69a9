/** Helpers shared by the primitives. Not exported from the package. */
import { CityTrustError, type ErrorCode } from '../core/errors.ts';

/** Refuse anything that is not a byte array before it reaches node:crypto. */
export function assertBytes(name: string, v: unknown, code: ErrorCode = 'CRYPTO_INPUT_INVALID'): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new CityTrustError(code, `${name} must be a Uint8Array`);
}

/**
 * A plain Uint8Array view over a Buffer node returned, so callers get one type everywhere
 * (assert.deepStrictEqual and structured clone treat Buffer and Uint8Array differently).
 */
export function u8(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Big-endian unsigned comparison of equal-length byte strings (public values only). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

export function isAllZero(a: Uint8Array): boolean {
  let acc = 0;
  for (const x of a) acc |= x;
  return acc === 0;
}
