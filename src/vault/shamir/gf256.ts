/**
 * Arithmetic in GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11b),
 * the field Shamir's scheme runs in byte by byte.
 *
 * Multiplication is table-free and branch-free on purpose. Log/exp tables are faster, but
 * the table index is the secret byte itself, so which cache line is touched leaks share and
 * secret bytes to a co-located attacker (the classic AES T-table cache-timing attack). The
 * secrets split here are 32 bytes, so the loop's cost is irrelevant and constant time wins.
 */

/** a·b in GF(2^8): shift-and-add with masks instead of branches on secret bits. */
export function gfMul(a: number, b: number): number {
  let r = 0;
  let x = a & 0xff;
  let y = b & 0xff;
  for (let i = 0; i < 8; i++) {
    // -(bit) is 0 or all ones: "add x when the low bit of y is set" without a branch.
    r ^= -(y & 1) & x;
    const carry = -((x >> 7) & 1);
    x = ((x << 1) ^ (carry & 0x1b)) & 0xff;
    y >>= 1;
  }
  return r & 0xff;
}

/**
 * Multiplicative inverse as a^254 (a^255 = 1 for a ≠ 0). The exponent is public and fixed, so
 * the square-and-multiply sequence is the same for every a. Maps 0 to 0; callers never invert 0
 * (share indices are distinct and non-zero).
 */
export function gfInv(a: number): number {
  let result = 1;
  let base = a & 0xff;
  let e = 254;
  while (e > 0) {
    if (e & 1) result = gfMul(result, base);
    base = gfMul(base, base);
    e >>= 1;
  }
  return result;
}

export function gfDiv(a: number, b: number): number {
  return gfMul(a, gfInv(b));
}
