/**
 * Shamir's secret sharing (Shamir 1979, "How to share a secret") over GF(2^8), byte-wise:
 * each secret byte is the constant term of its own random polynomial of degree t−1, and
 * share i holds that polynomial evaluated at x = i. Any t points determine the polynomial;
 * t−1 points are consistent with every possible constant term, so they reveal nothing.
 */
import { randomBytes } from 'node:crypto';
import { gfDiv, gfMul } from './gf256.ts';

export interface SharePoint {
  /** The evaluation point, 1..255 (0 would be the secret itself). */
  readonly x: number;
  /** One field element per secret byte. */
  readonly y: Uint8Array;
}

export function splitSecret(secret: Uint8Array, shares: number, threshold: number): SharePoint[] {
  if (!Number.isInteger(threshold) || !Number.isInteger(shares) || threshold < 1 || shares < threshold || shares > 255) {
    throw new RangeError('need 1 ≤ threshold ≤ shares ≤ 255');
  }
  if (secret.length === 0) throw new RangeError('empty secret');
  const ys = Array.from({ length: shares }, () => new Uint8Array(secret.length));
  // coefficients[k] for k = 1..t−1, fresh for every byte; coefficient 0 is the secret byte.
  const coefficients = new Uint8Array(threshold);
  for (let b = 0; b < secret.length; b++) {
    coefficients[0] = secret[b]!;
    if (threshold > 1) coefficients.set(randomBytes(threshold - 1), 1);
    for (let i = 0; i < shares; i++) {
      const x = i + 1;
      // Horner's rule from the highest coefficient down.
      let acc = 0;
      for (let k = threshold - 1; k >= 0; k--) acc = gfMul(acc, x) ^ coefficients[k]!;
      ys[i]![b] = acc;
    }
  }
  coefficients.fill(0);
  return ys.map((y, i) => ({ x: i + 1, y }));
}

/**
 * Lagrange interpolation at x = 0: secret = Σ y_i · Π_{j≠i} x_j / (x_j − x_i); in GF(2^8)
 * subtraction is XOR. The caller guarantees distinct, non-zero x and equal lengths.
 */
export function combineShares(points: readonly SharePoint[]): Uint8Array {
  if (points.length === 0) throw new RangeError('no shares');
  const len = points[0]!.y.length;
  const xs = points.map((p) => p.x);
  if (new Set(xs).size !== xs.length || xs.some((x) => x < 1 || x > 255 || !Number.isInteger(x))) {
    throw new RangeError('share indices must be distinct and in 1..255');
  }
  if (points.some((p) => p.y.length !== len)) throw new RangeError('shares of different lengths');
  // The basis coefficients depend only on the public indices.
  const basis = xs.map((xi, i) => {
    let num = 1;
    let den = 1;
    for (let j = 0; j < xs.length; j++) {
      if (j === i) continue;
      num = gfMul(num, xs[j]!);
      den = gfMul(den, xs[j]! ^ xi);
    }
    return gfDiv(num, den);
  });
  const secret = new Uint8Array(len);
  for (let b = 0; b < len; b++) {
    let acc = 0;
    for (let i = 0; i < points.length; i++) acc ^= gfMul(basis[i]!, points[i]!.y[b]!);
    secret[b] = acc;
  }
  return secret;
}
