import { randomBytes } from 'node:crypto';

/**
 * A 128-bit random serial (RFC 5280 §4.1.2.2: positive, at most 20 octets; CA/B Forum asks
 * for 64+ bits from a CSPRNG). The top bit is cleared and the next one set so every serial is
 * a positive 16-octet INTEGER with one hex spelling.
 */
export function randomSerial(): Uint8Array {
  if (offset + 16 > pool.length) {
    pool = randomBytes(POOL);
    offset = 0;
  }
  // A copy, so no serial shares memory with another; the pool bytes are used once.
  const b = new Uint8Array(pool.subarray(offset, offset + 16));
  offset += 16;
  b[0] = (b[0]! & 0x7f) | 0x40;
  return b;
}

// CSPRNG bytes drawn 256 serials at a time: one call into OpenSSL instead of one per certificate.
const POOL = 16 * 256;
let pool: Buffer = Buffer.alloc(0);
let offset = 0;
