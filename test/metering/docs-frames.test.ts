/** docs/meter-frames.md: the byte-level example and the test vector are what the code produces. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromHex, toHex, concatBytes } from '../../src/core/bytes.ts';
import { ecdhSharedSecret, exportRawPublicKey, exportSpkiPublicKey, hkdfSha256, importRawPrivateKey, importRawPublicKey, publicKeyOf, verifySignature } from '../../src/crypto/index.ts';
import {
  decodeReading,
  encodeCommandToSign,
  encodeReading,
  gcmIv,
  kdfInfo,
  openUplinkBody,
  parseCommandFrame,
  parseUplinkFrame,
  publicKeyId,
  sessionKeyId,
  sessionKeyObject,
  systemTitleOf,
  verifyUplinkSignature,
} from '../../src/metering/meter.ts';
import { aesGcmSeal } from '../../src/crypto/index.ts';

const doc = readFileSync(new URL('../../docs/meter-frames.md', import.meta.url), 'utf8');
const block = /```test-vector\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
const v = Object.fromEntries(
  block
    .split('\n')
    .filter((l) => l.includes(' = '))
    .map((l) => l.split(' = ') as [string, string]),
);
const hex = (k: string) => fromHex(v[k]!);

describe('docs/meter-frames.md test vector', () => {
  it('holds every value the test needs', () => {
    assert.ok(Object.keys(v).length >= 20, 'the test-vector block is there');
  });

  it('reproduces the system title, key ids, the ECDH secret, the HKDF info and the session key', () => {
    const meter = importRawPrivateKey('P-256', hex('meter_identity_d'));
    const eph = importRawPrivateKey('P-256', hex('ephemeral_d'));
    const head = importRawPrivateKey('P-256', hex('head_end_d'));
    assert.equal(toHex(exportRawPublicKey(publicKeyOf(meter))), v.meter_identity_Q);
    assert.equal(toHex(exportRawPublicKey(publicKeyOf(eph))), v.ephemeral_Q);
    assert.equal(toHex(exportSpkiPublicKey(publicKeyOf(head))), v.head_end_spki);
    assert.equal(toHex(systemTitleOf(v.tenant!, v.meter!)), v.system_title);
    assert.equal(toHex(publicKeyId(hex('head_end_spki'))), v.head_end_key_id);
    assert.equal(toHex(sessionKeyId(hex('ephemeral_Q'))), v.session_key_id);
    // Both halves of the agreement give the same Z.
    assert.equal(toHex(ecdhSharedSecret(eph, publicKeyOf(head))), v.Z);
    assert.equal(toHex(ecdhSharedSecret(head, importRawPublicKey('P-256', hex('ephemeral_Q')))), v.Z);
    assert.equal(toHex(kdfInfo(hex('system_title'), hex('ephemeral_Q'), hex('head_end_key_id'))), v.hkdf_info);
    assert.equal(toHex(hkdfSha256(hex('Z'), new Uint8Array(0), hex('hkdf_info'), 16)), v.session_key);
  });

  it('reproduces the reading frame byte for byte, and its signature verifies with the meter key', () => {
    const reading = { time: Date.UTC(2026, 10, 22, 12), importWh: 1_234_567, exportWh: 890, powerW: 1500, status: 1 };
    assert.equal(toHex(encodeReading(reading)), v.reading_plaintext);
    assert.equal(toHex(gcmIv(hex('system_title'), Number(v.counter))), v.iv);
    assert.equal(toHex(aesGcmSeal(hex('session_key'), hex('iv'), hex('reading_plaintext'), hex('header'))), v.body);
    const frame = parseUplinkFrame(concatBytes(hex('header'), hex('body'), hex('signature')));
    assert.deepEqual([frame.type, frame.counter, toHex(frame.keyId)], ['reading', 2, v.session_key_id]);
    assert.ok(verifyUplinkSignature(frame, publicKeyOf(importRawPrivateKey('P-256', hex('meter_identity_d')))));
    assert.deepEqual(decodeReading(openUplinkBody(frame, sessionKeyObject(hex('session_key')))), reading);
    // The annotated listing is the same frame.
    const listing = /```\n01 {24}version 1\n([\s\S]*?)```/.exec(doc)?.[0] ?? '';
    const bytes = listing
      .split('\n')
      .map((l) => /^([0-9a-f]+)\s/.exec(l)?.[1] ?? '')
      .join('');
    assert.equal(bytes, v.header! + v.body! + v.signature!);
  });

  it('reproduces the command frame, and its signature verifies with the command key', () => {
    const cmd = importRawPrivateKey('P-256', hex('command_key_d'));
    assert.equal(toHex(publicKeyId(exportSpkiPublicKey(publicKeyOf(cmd)))), v.command_key_id);
    const signed = encodeCommandToSign({
      systemTitle: hex('system_title'),
      keyId: hex('command_key_id'),
      counter: 1,
      issuedAt: Date.UTC(2026, 10, 22, 12, 5),
      expiresAt: Date.UTC(2026, 10, 22, 12, 15),
      commandId: fromHex('00112233445566778899aabbccddeeff'),
      action: 'disconnect',
      argument: new Uint8Array(0),
    });
    assert.equal(toHex(signed), v.command_signed);
    const c = parseCommandFrame(concatBytes(signed, hex('command_signature')));
    assert.ok(verifySignature('ES256', publicKeyOf(cmd), c.signed, c.signature, 'raw'));
  });
});
