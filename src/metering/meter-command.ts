/**
 * The meter's check of a head-end command (docs/metering.md, commands): parse, a trusted key
 * named by its id, the signature, the target system title, a counter above the last accepted,
 * and the validity window at the meter clock. The order matters: nothing about the content is
 * believed before the signature verifies. Device-side.
 */
import type { KeyObject } from 'node:crypto';
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { bytesEqual, toHex } from '../core/bytes.ts';
import { verifySignature } from '../crypto/index.ts';
import { parseCommandFrame, type CommandFrame } from './frame.ts';
import type { AckResult } from './payload.ts';

export interface CommandTrust {
  readonly systemTitle: Uint8Array;
  /** Trusted head-end command keys by 8-byte key id (hex). */
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly lastCounter: number;
  /** The meter clock, ms. */
  readonly now: number;
  /** Tolerance for the meter clock against the head-end's (ms). */
  readonly skewMs: number;
}

export function verifyCommand(bytes: Uint8Array, t: CommandTrust): CommandFrame {
  const c = parseCommandFrame(bytes);
  const key = t.keys.get(toHex(c.keyId));
  if (!key) throw new CityTrustError('METER_COMMAND_SIGNATURE_INVALID', 'the command names a key the meter does not trust', { details: { reason: 'unknown-key' } });
  if (!verifySignature('ES256', key, c.signed, c.signature, 'raw')) throw new CityTrustError('METER_COMMAND_SIGNATURE_INVALID', 'the command signature does not verify');
  if (!bytesEqual(c.systemTitle, t.systemTitle)) throw new CityTrustError('METER_SYSTEM_TITLE_MISMATCH', 'the command is for another meter');
  if (c.counter <= t.lastCounter) throw new CityTrustError('METER_COMMAND_REPLAY', `command counter ${c.counter} is not above ${t.lastCounter}`);
  if (c.issuedAt > t.now + t.skewMs) throw new CityTrustError('METER_COMMAND_EXPIRED', 'the command is not valid yet at the meter clock', { details: { reason: 'not-yet-valid' } });
  if (c.expiresAt + t.skewMs < t.now || c.expiresAt < c.issuedAt) throw new CityTrustError('METER_COMMAND_EXPIRED', 'the command has expired at the meter clock');
  return c;
}

/** The ack result byte for a refusal. */
export function ackResultFor(e: unknown): AckResult {
  if (!isCityTrustError(e)) throw e;
  const reason = e.details?.reason;
  switch (e.code) {
    case 'METER_COMMAND_SIGNATURE_INVALID':
      return reason === 'unknown-key' ? 'unknown-key' : 'signature-invalid';
    case 'METER_SYSTEM_TITLE_MISMATCH':
      return 'wrong-meter';
    case 'METER_COMMAND_REPLAY':
      return 'replayed';
    case 'METER_COMMAND_EXPIRED':
      return reason === 'not-yet-valid' ? 'not-yet-valid' : 'expired';
    case 'METER_FRAME_MALFORMED':
    case 'METER_FRAME_TRUNCATED':
    case 'METER_FRAME_TOO_LARGE':
    case 'METER_COMMAND_INVALID':
      return 'malformed';
    default:
      throw e;
  }
}
