/**
 * Meter frames (docs/meter-frames.md), after DLMS/COSEM security suite 1 (IEC 62056-5-3 §9.2.3:
 * ECDH-ECDSA-AES-128-GCM-SHA-256). Device-side and pure: byte layouts only, no keys, no I/O.
 *
 * Uplink (meter → head-end):
 *
 *   0   1   version = 1
 *   1   1   type: 0x01 reading, 0x02 tamper event, 0x03 command ack, 0x10 key establishment
 *   2   1   security control (DLMS SC): 0x31 = suite 1, authenticated + encrypted; 0x01 = suite 1, signed only
 *   3   8   system title of the meter
 *   11  4   invocation counter (u32 BE)
 *   15  4   key id of the session key (for key establishment: of the key being established)
 *   19  2   body length L (u16 BE)
 *   21  L   body: AES-GCM ciphertext ‖ 16-byte tag (SC 0x31), or plaintext (SC 0x01)
 *   21+L 64 ECDSA P-256 / SHA-256 signature r ‖ s over bytes 0 .. 21+L
 *
 * Downlink command (head-end → meter), signed only:
 *
 *   0   1   version = 1
 *   1   1   type = 0x81
 *   2   1   security control = 0x01
 *   3   8   system title of the target meter
 *   11  8   command key id
 *   19  8   command counter (u64 BE)
 *   27  8   issued at (ms since the epoch, u64 BE)
 *   35  8   expires at (ms, u64 BE)
 *   43  16  command id
 *   59  1   action: 1 disconnect, 2 reconnect, 3 tariff, 4 time sync
 *   60  2   argument length A
 *   62  A   argument
 *   62+A 64 signature r ‖ s by the command key over bytes 0 .. 62+A
 *
 * Every length is checked against the exact size its type allows before anything else looks
 * at the bytes; parsing never copies, it hands out views.
 */
import { CityTrustError } from '../core/errors.ts';

export const FRAME_VERSION = 1;

export const FRAME_TYPE = {
  reading: 0x01,
  tamper: 0x02,
  ack: 0x03,
  keyEstablishment: 0x10,
  command: 0x81,
} as const;
export type UplinkType = 'reading' | 'tamper' | 'ack' | 'keyEstablishment';

/** DLMS security control byte: bits 0–3 suite id (1), bit 4 authentication, bit 5 encryption. */
export const SC_ENCRYPTED = 0x31;
export const SC_SIGNED = 0x01;

export const SYSTEM_TITLE_LENGTH = 8;
export const KEY_ID_LENGTH = 4;
export const COMMAND_KEY_ID_LENGTH = 8;
export const COMMAND_ID_LENGTH = 16;
export const SIGNATURE_LENGTH = 64;
export const TAG_LENGTH = 16;
export const UPLINK_HEADER_LENGTH = 21;
export const COMMAND_HEADER_LENGTH = 62;
/** DLMS invocation counters are 32 bits (Green Book §9.2.7.2.4.2). */
export const MAX_INVOCATION_COUNTER = 0xffff_ffff;

/** Plaintext lengths of the encrypted bodies (docs/meter-frames.md, payloads). */
export const PAYLOAD_LENGTH = { reading: 29, tamper: 25, ack: 34 } as const;
/** A meter certificate is a few hundred bytes; this bounds the key establishment body. */
export const MAX_CERTIFICATE_LENGTH = 2048;
export const KEY_ESTABLISHMENT_FIXED = 65 + 8 + 8 + 2;
export const MAX_UPLINK_FRAME = UPLINK_HEADER_LENGTH + KEY_ESTABLISHMENT_FIXED + MAX_CERTIFICATE_LENGTH + SIGNATURE_LENGTH;
export const MAX_COMMAND_ARGUMENT = 64;
export const MAX_COMMAND_FRAME = COMMAND_HEADER_LENGTH + MAX_COMMAND_ARGUMENT + SIGNATURE_LENGTH;

const TYPE_NAMES: Readonly<Record<number, UplinkType>> = { 0x01: 'reading', 0x02: 'tamper', 0x03: 'ack', 0x10: 'keyEstablishment' };

export interface UplinkHeader {
  readonly type: UplinkType;
  readonly securityControl: number;
  readonly systemTitle: Uint8Array;
  readonly counter: number;
  readonly keyId: Uint8Array;
}

/** A parsed uplink frame: views into the original bytes. */
export interface UplinkFrame extends UplinkHeader {
  /** Bytes 0..21: the GCM additional data. */
  readonly header: Uint8Array;
  /** Ciphertext ‖ tag, or the plaintext of a key establishment. */
  readonly body: Uint8Array;
  /** Everything the signature covers: header ‖ body. */
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function bad(code: 'METER_FRAME_MALFORMED' | 'METER_FRAME_TRUNCATED' | 'METER_FRAME_TOO_LARGE', msg: string): never {
  throw new CityTrustError(code, msg);
}

/** The body length a type must have (key establishment: a range). */
function bodyBounds(type: UplinkType): [number, number] {
  switch (type) {
    case 'reading':
      return [PAYLOAD_LENGTH.reading + TAG_LENGTH, PAYLOAD_LENGTH.reading + TAG_LENGTH];
    case 'tamper':
      return [PAYLOAD_LENGTH.tamper + TAG_LENGTH, PAYLOAD_LENGTH.tamper + TAG_LENGTH];
    case 'ack':
      return [PAYLOAD_LENGTH.ack + TAG_LENGTH, PAYLOAD_LENGTH.ack + TAG_LENGTH];
    case 'keyEstablishment':
      return [KEY_ESTABLISHMENT_FIXED + 1, KEY_ESTABLISHMENT_FIXED + MAX_CERTIFICATE_LENGTH];
  }
}

export function uplinkTypeCode(type: UplinkType): number {
  return FRAME_TYPE[type];
}

/** The 21-byte header; the caller appends the body and the signature. */
export function encodeUplinkHeader(h: UplinkHeader, bodyLength: number): Uint8Array {
  if (h.systemTitle.length !== SYSTEM_TITLE_LENGTH) throw new CityTrustError('INPUT_INVALID', 'a system title is 8 bytes');
  if (h.keyId.length !== KEY_ID_LENGTH) throw new CityTrustError('INPUT_INVALID', 'a key id is 4 bytes');
  if (!Number.isInteger(h.counter) || h.counter < 0 || h.counter > MAX_INVOCATION_COUNTER) throw new CityTrustError('INPUT_INVALID', 'the invocation counter is a u32');
  const [min, max] = bodyBounds(h.type);
  if (bodyLength < min || bodyLength > max) throw new CityTrustError('INPUT_INVALID', `a ${h.type} body is ${min}..${max} bytes`);
  const out = new Uint8Array(UPLINK_HEADER_LENGTH);
  const v = view(out);
  out[0] = FRAME_VERSION;
  out[1] = FRAME_TYPE[h.type];
  out[2] = h.securityControl;
  out.set(h.systemTitle, 3);
  v.setUint32(11, h.counter);
  out.set(h.keyId, 15);
  v.setUint16(19, bodyLength);
  return out;
}

/**
 * Parses an uplink frame. Refuses, in this order: oversize input (before reading anything),
 * a short header, an unknown version or type, a security control that does not fit the type,
 * a body length outside the type's bounds, and a frame whose bytes do not end exactly after
 * the signature.
 */
export function parseUplinkFrame(frame: Uint8Array): UplinkFrame {
  if (!(frame instanceof Uint8Array)) throw new CityTrustError('METER_FRAME_MALFORMED', 'a frame is bytes');
  if (frame.length > MAX_UPLINK_FRAME) bad('METER_FRAME_TOO_LARGE', `a frame is at most ${MAX_UPLINK_FRAME} bytes`);
  if (frame.length < UPLINK_HEADER_LENGTH) bad('METER_FRAME_TRUNCATED', 'the frame ends inside its header');
  if (frame[0] !== FRAME_VERSION) bad('METER_FRAME_MALFORMED', `unknown frame version ${frame[0]}`);
  const type = TYPE_NAMES[frame[1]!];
  if (type === undefined) bad('METER_FRAME_MALFORMED', `unknown uplink frame type 0x${frame[1]!.toString(16)}`);
  const sc = frame[2]!;
  if (sc !== (type === 'keyEstablishment' ? SC_SIGNED : SC_ENCRYPTED)) bad('METER_FRAME_MALFORMED', `security control 0x${sc.toString(16)} does not fit a ${type} frame`);
  const v = view(frame);
  const bodyLength = v.getUint16(19);
  const [min, max] = bodyBounds(type);
  if (bodyLength > max) bad('METER_FRAME_TOO_LARGE', `a ${type} body is at most ${max} bytes`);
  if (bodyLength < min) bad('METER_FRAME_MALFORMED', `a ${type} body is at least ${min} bytes`);
  const end = UPLINK_HEADER_LENGTH + bodyLength + SIGNATURE_LENGTH;
  if (frame.length < end) bad('METER_FRAME_TRUNCATED', 'the frame ends before its body and signature');
  if (frame.length > end) bad('METER_FRAME_MALFORMED', 'bytes follow the signature');
  return {
    type,
    securityControl: sc,
    systemTitle: frame.subarray(3, 11),
    counter: v.getUint32(11),
    keyId: frame.subarray(15, 19),
    header: frame.subarray(0, UPLINK_HEADER_LENGTH),
    body: frame.subarray(UPLINK_HEADER_LENGTH, UPLINK_HEADER_LENGTH + bodyLength),
    signed: frame.subarray(0, UPLINK_HEADER_LENGTH + bodyLength),
    signature: frame.subarray(UPLINK_HEADER_LENGTH + bodyLength, end),
  };
}

// ---- downlink commands ----

export const COMMAND_ACTIONS = ['disconnect', 'reconnect', 'tariff', 'time-sync'] as const;
export type CommandAction = (typeof COMMAND_ACTIONS)[number];
const ACTION_CODE: Readonly<Record<CommandAction, number>> = { disconnect: 1, reconnect: 2, tariff: 3, 'time-sync': 4 };
const ACTION_NAME: Readonly<Record<number, CommandAction>> = { 1: 'disconnect', 2: 'reconnect', 3: 'tariff', 4: 'time-sync' };
/** Exact argument length per action. */
export const ARGUMENT_LENGTH: Readonly<Record<CommandAction, number>> = { disconnect: 0, reconnect: 0, tariff: 12, 'time-sync': 8 };

export interface CommandFields {
  readonly systemTitle: Uint8Array;
  readonly keyId: Uint8Array;
  readonly counter: number;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly commandId: Uint8Array;
  readonly action: CommandAction;
  readonly argument: Uint8Array;
}

export interface CommandFrame extends CommandFields {
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

function checkU64(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new CityTrustError('INPUT_INVALID', `${name} must be a non-negative safe integer`);
}

/** The bytes a command key signs (everything but the signature). */
export function encodeCommandToSign(c: CommandFields): Uint8Array {
  if (c.systemTitle.length !== SYSTEM_TITLE_LENGTH) throw new CityTrustError('INPUT_INVALID', 'a system title is 8 bytes');
  if (c.keyId.length !== COMMAND_KEY_ID_LENGTH) throw new CityTrustError('INPUT_INVALID', 'a command key id is 8 bytes');
  if (c.commandId.length !== COMMAND_ID_LENGTH) throw new CityTrustError('INPUT_INVALID', 'a command id is 16 bytes');
  if (!(COMMAND_ACTIONS as readonly string[]).includes(c.action)) throw new CityTrustError('METER_COMMAND_INVALID', 'unknown command action');
  if (c.argument.length !== ARGUMENT_LENGTH[c.action]) throw new CityTrustError('METER_COMMAND_INVALID', `a ${c.action} argument is ${ARGUMENT_LENGTH[c.action]} bytes`);
  checkU64('counter', c.counter);
  checkU64('issuedAt', c.issuedAt);
  checkU64('expiresAt', c.expiresAt);
  const out = new Uint8Array(COMMAND_HEADER_LENGTH + c.argument.length);
  const v = view(out);
  out[0] = FRAME_VERSION;
  out[1] = FRAME_TYPE.command;
  out[2] = SC_SIGNED;
  out.set(c.systemTitle, 3);
  out.set(c.keyId, 11);
  v.setBigUint64(19, BigInt(c.counter));
  v.setBigUint64(27, BigInt(c.issuedAt));
  v.setBigUint64(35, BigInt(c.expiresAt));
  out.set(c.commandId, 43);
  out[59] = ACTION_CODE[c.action];
  v.setUint16(60, c.argument.length);
  out.set(c.argument, COMMAND_HEADER_LENGTH);
  return out;
}

function u64(v: DataView, at: number): number {
  const n = v.getBigUint64(at);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) bad('METER_FRAME_MALFORMED', 'a 64-bit field exceeds 2^53 - 1');
  return Number(n);
}

export function parseCommandFrame(frame: Uint8Array): CommandFrame {
  if (!(frame instanceof Uint8Array)) throw new CityTrustError('METER_FRAME_MALFORMED', 'a frame is bytes');
  if (frame.length > MAX_COMMAND_FRAME) bad('METER_FRAME_TOO_LARGE', `a command frame is at most ${MAX_COMMAND_FRAME} bytes`);
  if (frame.length < COMMAND_HEADER_LENGTH) bad('METER_FRAME_TRUNCATED', 'the command ends inside its header');
  if (frame[0] !== FRAME_VERSION || frame[1] !== FRAME_TYPE.command || frame[2] !== SC_SIGNED) bad('METER_FRAME_MALFORMED', 'not a version 1 signed command frame');
  const v = view(frame);
  const action = ACTION_NAME[frame[59]!];
  if (action === undefined) bad('METER_FRAME_MALFORMED', 'unknown command action');
  const argLength = v.getUint16(60);
  if (argLength !== ARGUMENT_LENGTH[action]) bad('METER_FRAME_MALFORMED', `a ${action} argument is ${ARGUMENT_LENGTH[action]} bytes`);
  const end = COMMAND_HEADER_LENGTH + argLength + SIGNATURE_LENGTH;
  if (frame.length < end) bad('METER_FRAME_TRUNCATED', 'the command ends before its argument and signature');
  if (frame.length > end) bad('METER_FRAME_MALFORMED', 'bytes follow the signature');
  return {
    systemTitle: frame.subarray(3, 11),
    keyId: frame.subarray(11, 19),
    counter: u64(v, 19),
    issuedAt: u64(v, 27),
    expiresAt: u64(v, 35),
    commandId: frame.subarray(43, 59),
    action,
    argument: frame.subarray(COMMAND_HEADER_LENGTH, COMMAND_HEADER_LENGTH + argLength),
    signed: frame.subarray(0, COMMAND_HEADER_LENGTH + argLength),
    signature: frame.subarray(COMMAND_HEADER_LENGTH + argLength, end),
  };
}
