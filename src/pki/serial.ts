import { randomBytes } from 'node:crypto';

/**
 * A 128-bit random serial (RFC 5280 §4.1.2.2: positive, at most 20 octets; CA/B Forum asks
 * for 64+ bits from a CSPRNG). The top bit is cleared and the next one set so every serial is
 * a positive 16-octet INTEGER with one hex spelling.
 */
export function randomSerial(): Uint8Array {
  const b = new Uint8Array(randomBytes(16));
  b[0] = (b[0]! & 0x7f) | 0x40;
  return b;
}
