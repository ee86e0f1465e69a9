/**
 * Plaintexts inside meter frames (docs/meter-frames.md, payloads). Registers follow the OBIS
 * codes DLMS meters use: active energy import 1.8.0 and export 2.8.0 in Wh, instantaneous active
 * power 16.7.0 in W (import positive, export negative). Fixed layouts, big-endian, no options:
 * a payload of the wrong length never reaches these decoders (the frame parser checks it).
 */
import { CityTrustError } from '../core/errors.ts';
import { COMMAND_ID_LENGTH, KEY_ESTABLISHMENT_FIXED, MAX_CERTIFICATE_LENGTH, PAYLOAD_LENGTH } from './frame.ts';

export interface Registers {
  /** Active energy imported, Wh (OBIS 1.8.0). */
  readonly importWh: number;
  /** Active energy exported, Wh (OBIS 2.8.0). */
  readonly exportWh: number;
  /** Instantaneous active power, W (OBIS 16.7.0); negative when exporting. */
  readonly powerW: number;
}

/** Status bits of a reading. */
export const STATUS = { relayConnected: 0x01, clockUnsynchronised: 0x02, coverOpen: 0x04 } as const;

export interface Reading extends Registers {
  /** Meter clock, ms since the epoch. */
  readonly time: number;
  readonly status: number;
}

export const TAMPER_REASONS = ['cover-opened', 'magnetic-field', 'enclosure-breach', 'other'] as const;
export type TamperReason = (typeof TAMPER_REASONS)[number];

export interface TamperEvent {
  readonly time: number;
  readonly reason: TamperReason;
  readonly importWh: number;
  readonly exportWh: number;
}

/** What the meter did with a command (the ack's result byte). */
export const ACK_RESULTS = ['executed', 'expired', 'replayed', 'signature-invalid', 'wrong-meter', 'malformed', 'unknown-key', 'not-yet-valid', 'already-executed'] as const;
export type AckResult = (typeof ACK_RESULTS)[number];

export interface CommandAck {
  readonly time: number;
  readonly commandId: Uint8Array;
  readonly commandCounter: number;
  readonly result: AckResult;
  readonly relayConnected: boolean;
}

export interface KeyEstablishment {
  /** Uncompressed P-256 point of the meter's ephemeral key (SEC 1 §2.3.3). */
  readonly ephemeralPublicKey: Uint8Array;
  /** Id of the head-end key-agreement key the meter agreed with. */
  readonly headEndKeyId: Uint8Array;
  readonly time: number;
  /** The meter certificate, DER. */
  readonly certificate: Uint8Array;
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function putU64(v: DataView, at: number, n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new CityTrustError('INPUT_INVALID', `${name} must be a non-negative safe integer`);
  v.setBigUint64(at, BigInt(n));
}

function getU64(v: DataView, at: number): number {
  const n = v.getBigUint64(at);
  // Registers and times stay far below 2^53; a larger value is not something a meter sends.
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new CityTrustError('METER_FRAME_MALFORMED', 'a 64-bit field exceeds 2^53 - 1');
  return Number(n);
}

export function encodeReading(r: Reading): Uint8Array {
  if (!Number.isInteger(r.powerW) || r.powerW < -0x8000_0000 || r.powerW > 0x7fff_ffff) throw new CityTrustError('INPUT_INVALID', 'power is an i32 in W');
  if (!Number.isInteger(r.status) || r.status < 0 || r.status > 0xff) throw new CityTrustError('INPUT_INVALID', 'status is a byte');
  const out = new Uint8Array(PAYLOAD_LENGTH.reading);
  const v = dv(out);
  putU64(v, 0, r.time, 'time');
  putU64(v, 8, r.importWh, 'importWh');
  putU64(v, 16, r.exportWh, 'exportWh');
  v.setInt32(24, r.powerW);
  out[28] = r.status;
  return out;
}

export function decodeReading(p: Uint8Array): Reading {
  if (p.length !== PAYLOAD_LENGTH.reading) throw new CityTrustError('METER_FRAME_MALFORMED', 'a reading is 29 bytes');
  const v = dv(p);
  return { time: getU64(v, 0), importWh: getU64(v, 8), exportWh: getU64(v, 16), powerW: v.getInt32(24), status: p[28]! };
}

export function encodeTamper(t: TamperEvent): Uint8Array {
  const reason = TAMPER_REASONS.indexOf(t.reason);
  if (reason < 0) throw new CityTrustError('INPUT_INVALID', 'unknown tamper reason');
  const out = new Uint8Array(PAYLOAD_LENGTH.tamper);
  const v = dv(out);
  putU64(v, 0, t.time, 'time');
  out[8] = reason + 1;
  putU64(v, 9, t.importWh, 'importWh');
  putU64(v, 17, t.exportWh, 'exportWh');
  return out;
}

export function decodeTamper(p: Uint8Array): TamperEvent {
  if (p.length !== PAYLOAD_LENGTH.tamper) throw new CityTrustError('METER_FRAME_MALFORMED', 'a tamper event is 25 bytes');
  const v = dv(p);
  const reason = TAMPER_REASONS[p[8]! - 1];
  if (reason === undefined) throw new CityTrustError('METER_FRAME_MALFORMED', 'unknown tamper reason');
  return { time: getU64(v, 0), reason, importWh: getU64(v, 9), exportWh: getU64(v, 17) };
}

export function encodeAck(a: CommandAck): Uint8Array {
  if (a.commandId.length !== COMMAND_ID_LENGTH) throw new CityTrustError('INPUT_INVALID', 'a command id is 16 bytes');
  const result = ACK_RESULTS.indexOf(a.result);
  if (result < 0) throw new CityTrustError('INPUT_INVALID', 'unknown ack result');
  const out = new Uint8Array(PAYLOAD_LENGTH.ack);
  const v = dv(out);
  putU64(v, 0, a.time, 'time');
  out.set(a.commandId, 8);
  putU64(v, 24, a.commandCounter, 'commandCounter');
  out[32] = result;
  out[33] = a.relayConnected ? 1 : 0;
  return out;
}

export function decodeAck(p: Uint8Array): CommandAck {
  if (p.length !== PAYLOAD_LENGTH.ack) throw new CityTrustError('METER_FRAME_MALFORMED', 'an ack is 34 bytes');
  const v = dv(p);
  const result = ACK_RESULTS[p[32]!];
  if (result === undefined || p[33]! > 1) throw new CityTrustError('METER_FRAME_MALFORMED', 'unknown ack result or relay state');
  return { time: getU64(v, 0), commandId: p.slice(8, 24), commandCounter: getU64(v, 24), result, relayConnected: p[33] === 1 };
}

export function encodeKeyEstablishment(k: KeyEstablishment): Uint8Array {
  if (k.ephemeralPublicKey.length !== 65 || k.ephemeralPublicKey[0] !== 0x04) throw new CityTrustError('INPUT_INVALID', 'the ephemeral key is an uncompressed P-256 point');
  if (k.headEndKeyId.length !== 8) throw new CityTrustError('INPUT_INVALID', 'a head-end key id is 8 bytes');
  if (k.certificate.length === 0 || k.certificate.length > MAX_CERTIFICATE_LENGTH) throw new CityTrustError('INPUT_INVALID', `the certificate is 1..${MAX_CERTIFICATE_LENGTH} bytes`);
  const out = new Uint8Array(KEY_ESTABLISHMENT_FIXED + k.certificate.length);
  const v = dv(out);
  out.set(k.ephemeralPublicKey, 0);
  out.set(k.headEndKeyId, 65);
  putU64(v, 73, k.time, 'time');
  v.setUint16(81, k.certificate.length);
  out.set(k.certificate, KEY_ESTABLISHMENT_FIXED);
  return out;
}

export function decodeKeyEstablishment(p: Uint8Array): KeyEstablishment {
  if (p.length <= KEY_ESTABLISHMENT_FIXED) throw new CityTrustError('METER_FRAME_MALFORMED', 'the key establishment body is too short');
  const v = dv(p);
  const certLength = v.getUint16(81);
  if (KEY_ESTABLISHMENT_FIXED + certLength !== p.length) throw new CityTrustError('METER_FRAME_MALFORMED', 'the certificate length does not match the body');
  if (p[0] !== 0x04) throw new CityTrustError('METER_FRAME_MALFORMED', 'the ephemeral key is not an uncompressed point');
  return {
    ephemeralPublicKey: p.subarray(0, 65),
    headEndKeyId: p.subarray(65, 73),
    time: getU64(v, 73),
    certificate: p.subarray(KEY_ESTABLISHMENT_FIXED),
  };
}

// ---- command arguments ----

export interface TariffArgument {
  readonly tariffId: number;
  /** When the meter switches to the tariff, ms since the epoch. */
  readonly activateAt: number;
}

export function encodeTariff(t: TariffArgument): Uint8Array {
  if (!Number.isInteger(t.tariffId) || t.tariffId < 0 || t.tariffId > 0xffff_ffff) throw new CityTrustError('METER_COMMAND_INVALID', 'a tariff id is a u32');
  if (!Number.isSafeInteger(t.activateAt) || t.activateAt < 0) throw new CityTrustError('METER_COMMAND_INVALID', 'activateAt is a time in ms');
  const out = new Uint8Array(12);
  const v = dv(out);
  v.setUint32(0, t.tariffId);
  v.setBigUint64(4, BigInt(t.activateAt));
  return out;
}

export function decodeTariff(a: Uint8Array): TariffArgument {
  if (a.length !== 12) throw new CityTrustError('METER_FRAME_MALFORMED', 'a tariff argument is 12 bytes');
  const v = dv(a);
  return { tariffId: v.getUint32(0), activateAt: getU64(v, 4) };
}

export function encodeTimeSync(time: number): Uint8Array {
  if (!Number.isSafeInteger(time) || time < 0) throw new CityTrustError('METER_COMMAND_INVALID', 'time is ms since the epoch');
  const out = new Uint8Array(8);
  dv(out).setBigUint64(0, BigInt(time));
  return out;
}

export function decodeTimeSync(a: Uint8Array): number {
  if (a.length !== 8) throw new CityTrustError('METER_FRAME_MALFORMED', 'a time-sync argument is 8 bytes');
  return getU64(dv(a), 0);
}
