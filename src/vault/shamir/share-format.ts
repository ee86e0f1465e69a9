/**
 * The text form of one share, as printed once to a custodian and typed back in.
 *
 *   "cts1-" ‖ base32(body ‖ checksum)          (RFC 4648 §6 alphabet, lower case, no padding)
 *
 *   body   = format (1, u8) ‖ kind (u8) ‖ set id (8) ‖ threshold (u8) ‖ index (u8) ‖ y (n bytes)
 *   check  = SHA-256("citytrust/share/v1" ‖ body)[0..4]
 *
 * The checksum catches typing errors and damaged paper (a wrong share is refused before it can
 * spoil a combination). It is not a MAC: whoever holds a share can forge another with a valid
 * checksum. Forgery is caught after combining, by the vault's check value (unseal) or the
 * archive's GCM tag (restore). The set id ties shares to one split, so shares of another vault
 * or of a backup are refused one by one instead of silently producing a wrong key.
 */
import { createHash } from 'node:crypto';
import { CityTrustError } from '../../core/errors.ts';
import { constantTimeEqual } from '../../core/bytes.ts';
import type { SharePoint } from './shamir.ts';

export const SHARE_PREFIX = 'cts1-';
const FORMAT = 1;
const CHECK_DOMAIN = Buffer.from('citytrust/share/v1', 'utf8');
const HEADER = 12;
const CHECK = 4;

/** What the share is for: the vault's master key, or a backup archive's key. */
export type ShareKind = 'unseal' | 'recovery';
const KIND_BYTE: Record<ShareKind, number> = { unseal: 1, recovery: 2 };

export interface Share extends SharePoint {
  readonly kind: ShareKind;
  /** 8 bytes naming the split (vault id or backup id prefix). */
  readonly setId: Uint8Array;
  readonly threshold: number;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

function unbase32(s: string): Uint8Array | undefined {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of s) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return undefined;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((acc >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    acc &= (1 << bits) - 1;
  }
  // Leftover bits must be zero padding, so every share has exactly one spelling.
  if (bits >= 5 || acc !== 0) return undefined;
  return new Uint8Array(out);
}

function checksum(body: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(CHECK_DOMAIN).update(body).digest().subarray(0, CHECK));
}

export function encodeShare(share: Share): string {
  if (share.setId.length !== 8) throw new RangeError('set id must be 8 bytes');
  const body = new Uint8Array(HEADER + share.y.length);
  body[0] = FORMAT;
  body[1] = KIND_BYTE[share.kind];
  body.set(share.setId, 2);
  body[10] = share.threshold;
  body[11] = share.x;
  body.set(share.y, HEADER);
  const whole = new Uint8Array(body.length + CHECK);
  whole.set(body);
  whole.set(checksum(body), body.length);
  const text = SHARE_PREFIX + base32(whole);
  body.fill(0);
  whole.fill(0);
  return text;
}

const malformed = (why: string): never => {
  throw new CityTrustError('VAULT_SHARE_MALFORMED', `share is malformed: ${why}`);
};

/**
 * Parses a share typed by a person: surrounding whitespace, inner spaces or dashes between
 * groups, and upper case are forgiven; anything else is refused with a specific code.
 */
export function decodeShare(text: unknown, expectedLength = 32): Share {
  if (typeof text !== 'string') return malformed('not a string');
  const t = text.trim().toLowerCase();
  if (t.length > 512) return malformed('too long');
  if (!t.startsWith(SHARE_PREFIX)) return malformed(`does not start with ${SHARE_PREFIX}`);
  const bytes = unbase32(t.slice(SHARE_PREFIX.length).replace(/[\s-]/g, ''));
  if (!bytes) return malformed('not base32');
  if (bytes.length !== HEADER + expectedLength + CHECK) return malformed('wrong length');
  const body = bytes.subarray(0, bytes.length - CHECK);
  if (!constantTimeEqual(checksum(body), bytes.subarray(bytes.length - CHECK))) {
    throw new CityTrustError('VAULT_SHARE_CORRUPT', 'share checksum does not match');
  }
  if (body[0] !== FORMAT) return malformed('unknown format version');
  const kind = body[1] === 1 ? 'unseal' : body[1] === 2 ? 'recovery' : malformed('unknown kind');
  const threshold = body[10]!;
  const x = body[11]!;
  if (x === 0 || threshold === 0) return malformed('index and threshold must be non-zero');
  return { kind, setId: body.slice(2, 10), threshold, x, y: body.slice(HEADER) };
}
