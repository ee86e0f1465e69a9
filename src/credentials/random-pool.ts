/**
 * Identifiers drawn from node:crypto in 4 KiB refills rather than one call each: a small
 * randomBytes costs about as much as a large one, and the issue path draws two ids per
 * credential. Only for values that become public (cti, delivery ids) — never for keys, IVs or
 * nonces, which keep their own randomBytes call.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let offset = 0;

/** `n` (1..256) fresh random bytes, copied out of the pool; each byte is handed out once. */
export function randomId(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError('randomId takes 1..256 bytes');
  if (offset + n > pool.length) {
    pool = randomFillSync(new Uint8Array(POOL_BYTES));
    offset = 0;
  }
  const out = pool.slice(offset, offset + n);
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
