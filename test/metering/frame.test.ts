import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../../src/crypto/index.ts';
import { concatBytes } from '../../src/core/bytes.ts';
import {
  COMMAND_HEADER_LENGTH,
  MAX_UPLINK_FRAME,
  PAYLOAD_LENGTH,
  SIGNATURE_LENGTH,
  TAG_LENGTH,
  UPLINK_HEADER_LENGTH,
  buildUplink,
  decodeAck,
  decodeKeyEstablishment,
  decodeReading,
  decodeTamper,
  decodeTariff,
  decodeTimeSync,
  encodeAck,
  encodeCommandToSign,
  encodeKeyEstablishment,
  encodeReading,
  encodeTamper,
  encodeTariff,
  encodeTimeSync,
  gcmIv,
  openUplinkBody,
  parseCommandFrame,
  parseUplinkFrame,
  sessionKeyObject,
  systemTitleOf,
  verifyUplinkSignature,
} from '../../src/metering/meter.ts';
import { throwsWith } from '../vault/helpers.ts';
import { isCityTrustError } from '../../src/core/errors.ts';
import { randomBytes } from 'node:crypto';

const identity = generateKeyPair('P-256');
const title = systemTitleOf('utility', 'm-1');
const keyId = Uint8Array.of(1, 2, 3, 4);
const reading = { time: Date.UTC(2026, 0, 1), importWh: 123_456, exportWh: 789, powerW: -1500, status: 1 };

function sealedReading(counter = 7, key = sessionKeyObject(new Uint8Array(randomBytes(16)))) {
  const frame = buildUplink({ type: 'reading', systemTitle: title, counter, keyId, plaintext: encodeReading(reading), sessionKey: key, signingKey: identity.privateKey });
  return { frame, key };
}

describe('uplink frames (docs/meter-frames.md)', () => {
  it('lay out header, GCM body and signature, and parse back to views of the same bytes', () => {
    const { frame, key } = sealedReading();
    assert.equal(frame.length, UPLINK_HEADER_LENGTH + PAYLOAD_LENGTH.reading + TAG_LENGTH + SIGNATURE_LENGTH);
    const f = parseUplinkFrame(frame);
    assert.equal(f.type, 'reading');
    assert.equal(f.securityControl, 0x31);
    assert.deepEqual(f.systemTitle, title);
    assert.equal(f.counter, 7);
    assert.deepEqual(f.keyId, keyId);
    assert.ok(verifyUplinkSignature(f, identity.publicKey));
    assert.deepEqual(decodeReading(openUplinkBody(f, key)), reading);
  });

  it('builds the GCM IV from the system title and the big-endian invocation counter', () => {
    assert.deepEqual(gcmIv(title, 0x01020304), concatBytes(title, Uint8Array.of(1, 2, 3, 4)));
  });

  it('derives a system title per tenant and meter, the same on both sides', () => {
    assert.equal(title.length, 8);
    assert.deepEqual(systemTitleOf('utility', 'm-1'), title);
    assert.notDeepEqual(systemTitleOf('water', 'm-1'), title);
    assert.notDeepEqual(systemTitleOf('utility', 'm-2'), title);
  });

  it('fails the signature when any byte of header, body or signature changes', () => {
    const { frame } = sealedReading();
    for (const i of [0 + 3, 11, 15, 19 + 2, 30, frame.length - 1]) {
      const bad = frame.slice();
      bad[i]! ^= 0x01;
      let f;
      try {
        f = parseUplinkFrame(bad);
      } catch {
        continue; // a length or type byte: refused by the parser instead
      }
      assert.equal(verifyUplinkSignature(f, identity.publicKey), false, `byte ${i}`);
    }
  });

  it('refuses a body sealed under another key with METER_DECRYPT_FAILED, even when signed', () => {
    const { frame } = sealedReading(9);
    const f = parseUplinkFrame(frame);
    assert.ok(verifyUplinkSignature(f, identity.publicKey));
    throwsWith(() => openUplinkBody(f, sessionKeyObject(new Uint8Array(randomBytes(16)))), 'METER_DECRYPT_FAILED');
  });

  it('refuses each malformed shape with its own code', () => {
    const { frame } = sealedReading();
    const at = (i: number, v: number) => {
      const b = frame.slice();
      b[i] = v;
      return b;
    };
    const cases: [string, Uint8Array, Parameters<typeof throwsWith>[1]][] = [
      ['empty', new Uint8Array(0), 'METER_FRAME_TRUNCATED'],
      ['cut in the header', frame.subarray(0, 20), 'METER_FRAME_TRUNCATED'],
      ['cut in the signature', frame.subarray(0, frame.length - 1), 'METER_FRAME_TRUNCATED'],
      ['a trailing byte', concatBytes(frame, Uint8Array.of(0)), 'METER_FRAME_MALFORMED'],
      ['version 2', at(0, 2), 'METER_FRAME_MALFORMED'],
      ['an unknown type', at(1, 0x7f), 'METER_FRAME_MALFORMED'],
      ['a downlink type', at(1, 0x81), 'METER_FRAME_MALFORMED'],
      ['a reading without encryption', at(2, 0x01), 'METER_FRAME_MALFORMED'],
      ['another security suite', at(2, 0x30), 'METER_FRAME_MALFORMED'],
      ['a body longer than a reading', at(20, PAYLOAD_LENGTH.reading + TAG_LENGTH + 1), 'METER_FRAME_TOO_LARGE'],
      ['a body shorter than a reading', at(20, PAYLOAD_LENGTH.reading + TAG_LENGTH - 1), 'METER_FRAME_MALFORMED'],
      ['a frame over the size limit', new Uint8Array(MAX_UPLINK_FRAME + 1), 'METER_FRAME_TOO_LARGE'],
    ];
    for (const [what, bytes, code] of cases) {
      assert.throws(() => parseUplinkFrame(bytes), (e: unknown) => isCityTrustError(e, code), what);
    }
    throwsWith(() => parseUplinkFrame('frame' as unknown as Uint8Array), 'METER_FRAME_MALFORMED');
  });

  it('bounds a key establishment body by the largest certificate', () => {
    const ke = encodeKeyEstablishment({ ephemeralPublicKey: concatBytes(Uint8Array.of(4), new Uint8Array(64)), headEndKeyId: new Uint8Array(8), time: 1, certificate: new Uint8Array(2048) });
    const frame = buildUplink({ type: 'keyEstablishment', systemTitle: title, counter: 1, keyId, plaintext: ke, signingKey: identity.privateKey });
    assert.equal(parseUplinkFrame(frame).type, 'keyEstablishment');
    throwsWith(() => encodeKeyEstablishment({ ephemeralPublicKey: concatBytes(Uint8Array.of(4), new Uint8Array(64)), headEndKeyId: new Uint8Array(8), time: 1, certificate: new Uint8Array(2049) }), 'INPUT_INVALID');
    const big = frame.slice();
    new DataView(big.buffer).setUint16(19, 83 + 2049);
    throwsWith(() => parseUplinkFrame(big), 'METER_FRAME_TOO_LARGE');
  });

  it('refuses to build what it could not parse', () => {
    throwsWith(() => buildUplink({ type: 'reading', systemTitle: new Uint8Array(7), counter: 1, keyId, plaintext: encodeReading(reading), signingKey: identity.privateKey }), 'INPUT_INVALID');
    throwsWith(() => buildUplink({ type: 'reading', systemTitle: title, counter: 2 ** 32, keyId, plaintext: encodeReading(reading), signingKey: identity.privateKey }), 'INPUT_INVALID');
    throwsWith(() => buildUplink({ type: 'reading', systemTitle: title, counter: 1, keyId, plaintext: encodeReading(reading), signingKey: identity.privateKey }), 'METER_NOT_PROVISIONED');
  });
});

describe('payloads', () => {
  it('round-trip readings, tamper events, acks, key establishments and command arguments', () => {
    assert.deepEqual(decodeReading(encodeReading(reading)), reading);
    const t = { time: 5, reason: 'magnetic-field' as const, importWh: 10, exportWh: 20 };
    assert.deepEqual(decodeTamper(encodeTamper(t)), t);
    const a = { time: 6, commandId: new Uint8Array(16).fill(7), commandCounter: 42, result: 'replayed' as const, relayConnected: false };
    assert.deepEqual(decodeAck(encodeAck(a)), a);
    const ke = { ephemeralPublicKey: concatBytes(Uint8Array.of(4), new Uint8Array(64).fill(1)), headEndKeyId: new Uint8Array(8).fill(2), time: 9, certificate: Uint8Array.of(0x30, 0) };
    const back = decodeKeyEstablishment(encodeKeyEstablishment(ke));
    assert.deepEqual([back.ephemeralPublicKey, back.headEndKeyId, back.time, back.certificate], [ke.ephemeralPublicKey, ke.headEndKeyId, 9, ke.certificate]);
    assert.deepEqual(decodeTariff(encodeTariff({ tariffId: 3, activateAt: 99 })), { tariffId: 3, activateAt: 99 });
    assert.equal(decodeTimeSync(encodeTimeSync(123)), 123);
  });

  it('refuses values a meter never sends', () => {
    const r = encodeReading(reading);
    new DataView(r.buffer).setBigUint64(8, 2n ** 60n);
    throwsWith(() => decodeReading(r), 'METER_FRAME_MALFORMED');
    const t = encodeTamper({ time: 1, reason: 'other', importWh: 0, exportWh: 0 });
    t[8] = 9;
    throwsWith(() => decodeTamper(t), 'METER_FRAME_MALFORMED');
    const a = encodeAck({ time: 1, commandId: new Uint8Array(16), commandCounter: 1, result: 'executed', relayConnected: true });
    a[33] = 2;
    throwsWith(() => decodeAck(a), 'METER_FRAME_MALFORMED');
    const ke = encodeKeyEstablishment({ ephemeralPublicKey: concatBytes(Uint8Array.of(4), new Uint8Array(64)), headEndKeyId: new Uint8Array(8), time: 1, certificate: Uint8Array.of(1, 2) });
    throwsWith(() => decodeKeyEstablishment(ke.subarray(0, ke.length - 1)), 'METER_FRAME_MALFORMED');
    throwsWith(() => encodeReading({ ...reading, powerW: 2 ** 31 }), 'INPUT_INVALID');
    throwsWith(() => encodeTariff({ tariffId: -1, activateAt: 0 }), 'METER_COMMAND_INVALID');
  });
});

describe('command frames', () => {
  const fields = { systemTitle: title, keyId: new Uint8Array(8).fill(9), counter: 5, issuedAt: 1000, expiresAt: 2000, commandId: new Uint8Array(16).fill(3), action: 'tariff' as const, argument: encodeTariff({ tariffId: 1, activateAt: 1500 }) };

  it('lay out the fields and parse back', () => {
    const signed = encodeCommandToSign(fields);
    assert.equal(signed.length, COMMAND_HEADER_LENGTH + 12);
    const c = parseCommandFrame(concatBytes(signed, new Uint8Array(64)));
    assert.deepEqual([c.counter, c.issuedAt, c.expiresAt, c.action], [5, 1000, 2000, 'tariff']);
    assert.deepEqual(c.signed, signed);
  });

  it('refuses malformed commands with their codes', () => {
    const whole = concatBytes(encodeCommandToSign(fields), new Uint8Array(64));
    const at = (i: number, v: number) => {
      const b = whole.slice();
      b[i] = v;
      return b;
    };
    throwsWith(() => parseCommandFrame(whole.subarray(0, 40)), 'METER_FRAME_TRUNCATED');
    throwsWith(() => parseCommandFrame(whole.subarray(0, whole.length - 1)), 'METER_FRAME_TRUNCATED');
    throwsWith(() => parseCommandFrame(concatBytes(whole, Uint8Array.of(0))), 'METER_FRAME_MALFORMED');
    throwsWith(() => parseCommandFrame(at(1, 0x01)), 'METER_FRAME_MALFORMED');
    throwsWith(() => parseCommandFrame(at(59, 9)), 'METER_FRAME_MALFORMED');
    throwsWith(() => parseCommandFrame(at(61, 11)), 'METER_FRAME_MALFORMED');
    throwsWith(() => parseCommandFrame(new Uint8Array(4096)), 'METER_FRAME_TOO_LARGE');
    throwsWith(() => encodeCommandToSign({ ...fields, argument: new Uint8Array(3) }), 'METER_COMMAND_INVALID');
    throwsWith(() => encodeCommandToSign({ ...fields, action: 'explode' as 'tariff' }), 'METER_COMMAND_INVALID');
  });
});
