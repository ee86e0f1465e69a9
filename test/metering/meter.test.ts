import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FixedClock } from '../../src/core/clock.ts';
import { concatBytes, toBase64, toHex } from '../../src/core/bytes.ts';
import { createSignature, ecdhSharedSecret, exportSpkiPublicKey, generateKeyPair, hkdfSha256, importRawPublicKey, importSpkiPublicKey, type KeyPair } from '../../src/crypto/index.ts';
import { checkCsr } from '../../src/pki/index.ts';
import {
  FileMeterStorage,
  MemoryMeterStorage,
  SimulatedMeter,
  decodeAck,
  decodeKeyEstablishment,
  decodeReading,
  decodeTamper,
  encodeCommandToSign,
  encodeTariff,
  encodeTimeSync,
  kdfInfo,
  openUplinkBody,
  parseUplinkFrame,
  publicKeyId,
  sessionKeyObject,
  verifyUplinkSignature,
  type CommandAction,
  type HeadEndInfo,
  type MeterStorage,
} from '../../src/metering/meter.ts';
import { tempDir, throwsWith } from '../vault/helpers.ts';
import { T0 } from './helpers.ts';
import { selfSignedCertificate, testCity, type TestCity } from './certs.ts';

interface Fixture {
  meter: SimulatedMeter;
  clock: FixedClock;
  ka: KeyPair;
  cmd: KeyPair;
  info: HeadEndInfo;
  /** The session key as the head-end derives it from the key establishment. */
  sessionKey: ReturnType<typeof sessionKeyObject>;
}

// The city's root and meters CA, of the test's own: the head-end's keys come with certificates from it.
const city = await testCity();

async function headEnd(o: { ka?: Parameters<TestCity['certify']>[2]; cmd?: Parameters<TestCity['certify']>[2]; kaProfile?: 'head-end' | 'head-end-command' | 'meter' } = {}): Promise<{ ka: KeyPair; cmd: KeyPair; info: HeadEndInfo }> {
  const ka = generateKeyPair('P-256');
  const cmd = generateKeyPair('P-256');
  const rec = async (k: KeyPair, profile: 'head-end' | 'head-end-command' | 'meter', co?: Parameters<TestCity['certify']>[2]) => {
    const spki = exportSpkiPublicKey(k.publicKey);
    return { keyId: toHex(publicKeyId(spki)), spki: toBase64(spki), certificate: toBase64(await city.certify(spki, profile, co)) };
  };
  return {
    ka,
    cmd,
    info: { tenant: 'utility', keyAgreement: await rec(ka, o.kaProfile ?? 'head-end', o.ka), commandKeys: [await rec(cmd, 'head-end-command', o.cmd)], chain: [toBase64(city.metersCa), toBase64(city.root)] },
  };
}

async function ready(storage: MeterStorage = new MemoryMeterStorage()): Promise<Fixture> {
  const clock = new FixedClock(T0);
  const meter = SimulatedMeter.open({ tenant: 'utility', meterId: 'm-1', storage, clock });
  meter.generateIdentity();
  meter.installCertificate(await selfSignedCertificate(meter));
  const { ka, cmd, info } = await headEnd();
  meter.trustHeadEnd(info, [city.root]);
  const f = parseUplinkFrame(meter.establishKey());
  const ke = decodeKeyEstablishment(f.body);
  const z = ecdhSharedSecret(ka.privateKey, importRawPublicKey('P-256', ke.ephemeralPublicKey));
  const sessionKey = sessionKeyObject(hkdfSha256(z, new Uint8Array(0), kdfInfo(meter.systemTitle, ke.ephemeralPublicKey, ke.headEndKeyId), 16));
  return { meter, clock, ka, cmd, info, sessionKey };
}

let nextCounter = 1;
function command(fx: Fixture, action: CommandAction, o: { counter?: number; issuedAt?: number; expiresAt?: number; systemTitle?: Uint8Array; key?: KeyPair; keyId?: Uint8Array; argument?: Uint8Array } = {}): Uint8Array {
  const now = fx.clock.now();
  const key = o.key ?? fx.cmd;
  const argument = o.argument ?? (action === 'tariff' ? encodeTariff({ tariffId: 7, activateAt: now }) : action === 'time-sync' ? encodeTimeSync(now + 60_000) : new Uint8Array(0));
  const signed = encodeCommandToSign({
    systemTitle: o.systemTitle ?? fx.meter.systemTitle,
    keyId: o.keyId ?? publicKeyId(exportSpkiPublicKey(fx.cmd.publicKey)),
    counter: o.counter ?? nextCounter++,
    issuedAt: o.issuedAt ?? now,
    expiresAt: o.expiresAt ?? now + 600_000,
    commandId: new Uint8Array(randomBytes(16)),
    action,
    argument,
  });
  return concatBytes(signed, createSignature('ES256', key.privateKey, signed, 'raw'));
}

describe('the simulated meter', () => {
  it('goes from new to ready: identity, certificate, head-end keys, key establishment', async () => {
    const clock = new FixedClock(T0);
    const m = SimulatedMeter.open({ tenant: 'utility', meterId: 'm-1', storage: new MemoryMeterStorage(), clock });
    assert.equal(m.phase, 'new');
    throwsWith(() => m.csr(), 'METER_NOT_PROVISIONED');
    m.generateIdentity();
    assert.equal(m.phase, 'keyed');
    throwsWith(() => m.establishKey(), 'METER_NOT_PROVISIONED');
    m.installCertificate(await selfSignedCertificate(m));
    assert.equal(m.phase, 'certified');
    throwsWith(() => m.reading(), 'METER_NOT_PROVISIONED');
    m.trustHeadEnd((await headEnd()).info, [city.root]);
    m.establishKey();
    assert.equal(m.phase, 'ready');
  });

  it('asks for its certificate with a PKCS#10 request the PKI accepts', () => {
    const m = SimulatedMeter.open({ tenant: 'utility', meterId: 'm-9', storage: new MemoryMeterStorage(), clock: new FixedClock(T0) });
    m.generateIdentity();
    const csr = checkCsr(m.csr());
    assert.deepEqual(csr.spki, m.publicKeySpki());
    assert.equal(csr.keyType, 'ec-p256');
    assert.deepEqual(csr.requestedNames, []);
  });

  it('refuses a certificate for another key and head-end keys whose ids do not match', async () => {
    const a = SimulatedMeter.open({ tenant: 'utility', meterId: 'a', storage: new MemoryMeterStorage(), clock: new FixedClock(T0) });
    const b = SimulatedMeter.open({ tenant: 'utility', meterId: 'b', storage: new MemoryMeterStorage(), clock: new FixedClock(T0) });
    a.generateIdentity();
    b.generateIdentity();
    throwsWith(() => a.installCertificate(Uint8Array.of(1, 2, 3)), 'METER_ENROLMENT_FAILED');
    const certB = await selfSignedCertificate(b);
    throwsWith(() => a.installCertificate(certB), 'METER_ENROLMENT_FAILED');
    const { info } = await headEnd();
    throwsWith(() => a.trustHeadEnd({ ...info, tenant: 'water' }), 'INPUT_INVALID');
  });

  it("validates the head-end's certificates offline before it agrees a key or accepts a command (chain to the city root, profile, tenant, validity, key id)", async () => {
    const clock = new FixedClock(T0);
    const fresh = async () => {
      const m = SimulatedMeter.open({ tenant: 'utility', meterId: 'a', storage: new MemoryMeterStorage(), clock });
      m.generateIdentity();
      m.installCertificate(await selfSignedCertificate(m));
      return m;
    };
    const a = await fresh();
    const good = (await headEnd()).info;
    const cases: [string, HeadEndInfo, string][] = [
      ['a key id that is not the certified key', { ...good, keyAgreement: { ...good.keyAgreement, keyId: '00'.repeat(8) } }, 'key-id'],
      ['no certificate', { ...good, keyAgreement: { keyId: good.keyAgreement.keyId, spki: good.keyAgreement.spki } }, 'no-certificate'],
      ['a command certificate for the key-agreement key', (await headEnd({ kaProfile: 'head-end-command' })).info, 'PKI_CHAIN_KEY_USAGE'],
      ["another tenant's head-end", (await headEnd({ ka: { tenant: 'water' } })).info, 'foreign-certificate'],
      ['an expired certificate', (await headEnd({ cmd: { notAfter: T0 - 1000 } })).info, 'PKI_CHAIN_EXPIRED'],
      ['a certificate not valid yet', (await headEnd({ ka: { notBefore: T0 + 86_400_000 } })).info, 'PKI_CHAIN_NOT_YET_VALID'],
      ['a chain to a foreign root', (await headEnd()).info, 'PKI_CHAIN_SIGNATURE_INVALID'],
    ];
    const foreign = await testCity();
    for (const [what, info, reason] of cases) {
      const roots = what === 'a chain to a foreign root' ? [foreign.root] : [city.root];
      try {
        a.trustHeadEnd(info, roots);
        assert.fail(`accepted ${what}`);
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'METER_HEAD_END_UNTRUSTED', what);
        assert.equal((e as { details?: { reason?: string } }).details?.reason, reason, what);
      }
      throwsWith(() => a.establishKey(), 'METER_NOT_PROVISIONED');
    }
    // Trusted: then a certificate that expires while the meter runs stops key agreement at the meter clock.
    const b = await fresh();
    b.trustHeadEnd((await headEnd({ ka: { notAfter: T0 + 60_000 } })).info, [city.root]);
    b.establishKey();
    clock.advance(120_000);
    throwsWith(() => b.establishKey(), 'METER_HEAD_END_UNTRUSTED');
    // Without a pinned root, the chain's root is taken only if it also certified the meter itself.
    const c = await fresh();
    throwsWith(() => c.trustHeadEnd(good), 'METER_HEAD_END_UNTRUSTED');
  });

  it('agrees on the session key with the head-end and sends signed, encrypted readings', async () => {
    const fx = await ready();
    fx.meter.setLoad(2000);
    fx.meter.advance(900_000);
    const f = parseUplinkFrame(fx.meter.reading());
    assert.ok(verifyUplinkSignature(f, importSpkiPublicKey('P-256', fx.meter.publicKeySpki())));
    const r = decodeReading(openUplinkBody(f, fx.sessionKey));
    assert.deepEqual([r.importWh, r.exportWh, r.powerW, r.status & 1], [500, 0, 2000, 1]);
    assert.equal(f.counter, 2);
  });

  it('never reuses an invocation counter across restarts, even with reserved blocks', async (t) => {
    const dir = tempDir(t);
    const storage = new FileMeterStorage(join(dir, 'meter.json'));
    const clock = new FixedClock(T0);
    const m1 = SimulatedMeter.open({ tenant: 'utility', meterId: 'm-1', storage, clock, counterBlock: 10 });
    m1.generateIdentity();
    m1.installCertificate(await selfSignedCertificate(m1));
    m1.trustHeadEnd((await headEnd()).info, [city.root]);
    m1.establishKey();
    m1.reading();
    assert.equal(m1.counter, 2);
    // Power cut: counters 3..10 were reserved and may have been used.
    const m2 = SimulatedMeter.open({ tenant: 'utility', meterId: 'm-1', storage, clock, counterBlock: 10 });
    assert.equal(m2.phase, 'certified');
    m2.establishKey();
    assert.equal(parseUplinkFrame(m2.reading()).counter, 12);
    assert.equal(JSON.parse(readFileSync(join(dir, 'meter.json'), 'utf8')).counterReserved, 20);
  });

  it('accumulates energy only while its relay is connected', async () => {
    const fx = await ready();
    fx.meter.setLoad(3600);
    fx.meter.advance(3_600_000);
    assert.equal(fx.meter.registers.importWh, 3600);
    fx.meter.handleCommand(command(fx, 'disconnect'));
    fx.meter.advance(3_600_000);
    assert.equal(fx.meter.registers.importWh, 3600);
    assert.equal(fx.meter.registers.powerW, 0);
    fx.meter.setLoad(-1800);
    fx.meter.handleCommand(command(fx, 'reconnect'));
    fx.meter.advance(3_600_000);
    assert.equal(fx.meter.registers.exportWh, 1800);
  });
});

describe('commands at the meter', () => {
  it('executes a valid command and answers with a signed, encrypted ack naming it', async () => {
    const fx = await ready();
    const cmd = command(fx, 'disconnect');
    const { ack, result } = fx.meter.handleCommand(cmd);
    assert.equal(result, 'executed');
    assert.equal(fx.meter.relayConnected, false);
    const a = decodeAck(openUplinkBody(parseUplinkFrame(ack), fx.sessionKey));
    assert.deepEqual([a.result, a.relayConnected, toHex(a.commandId)], ['executed', false, toHex(cmd.subarray(43, 59))]);
  });

  it('applies tariff and time-sync commands', async () => {
    const fx = await ready();
    assert.equal(fx.meter.handleCommand(command(fx, 'tariff')).result, 'executed');
    assert.equal(fx.meter.tariffId, 7);
    assert.equal(fx.meter.handleCommand(command(fx, 'time-sync')).result, 'executed');
    assert.equal(fx.meter.now(), fx.clock.now() + 60_000);
  });

  it('refuses replayed, lowered, expired, early, foreign, forged and malformed commands without changing state', async () => {
    const fx = await ready();
    const first = command(fx, 'tariff', { counter: 100 });
    assert.equal(fx.meter.handleCommand(first).result, 'executed');
    const before = { relay: fx.meter.relayConnected, counter: fx.meter.commandCounter };
    const other = await headEnd();
    const cases: [string, Uint8Array, string][] = [
      // A re-sent copy of the last accepted command (the head-end lost its ack): acked, not executed again.
      ['the same command again', first, 'already-executed'],
      ['a lower counter', command(fx, 'disconnect', { counter: 99 }), 'replayed'],
      ['an expired command', command(fx, 'disconnect', { counter: 200, issuedAt: fx.clock.now() - 3_600_000, expiresAt: fx.clock.now() - 600_000 }), 'expired'],
      ['a command from the future', command(fx, 'disconnect', { counter: 201, issuedAt: fx.clock.now() + 3_600_000, expiresAt: fx.clock.now() + 7_200_000 }), 'not-yet-valid'],
      ['a command for another meter', command(fx, 'disconnect', { counter: 202, systemTitle: new Uint8Array(8) }), 'wrong-meter'],
      ['a command signed by another key under our key id', command(fx, 'disconnect', { counter: 203, key: other.cmd }), 'signature-invalid'],
      ['a command naming an unknown key', command(fx, 'disconnect', { counter: 204, key: other.cmd, keyId: publicKeyId(exportSpkiPublicKey(other.cmd.publicKey)) }), 'unknown-key'],
      ['a truncated command', command(fx, 'disconnect', { counter: 205 }).subarray(0, 70), 'malformed'],
    ];
    for (const [what, bytes, expected] of cases) {
      const { ack, result } = fx.meter.handleCommand(bytes);
      assert.equal(result, expected, what);
      assert.equal(decodeAck(openUplinkBody(parseUplinkFrame(ack), fx.sessionKey)).result, expected, what);
    }
    assert.deepEqual({ relay: fx.meter.relayConnected, counter: fx.meter.commandCounter }, before);
  });

  it('tolerates clock skew within its allowance', async () => {
    const fx = await ready();
    const now = fx.clock.now();
    assert.equal(fx.meter.handleCommand(command(fx, 'tariff', { counter: 1000, issuedAt: now + 60_000, expiresAt: now + 120_000 })).result, 'executed');
    assert.equal(fx.meter.handleCommand(command(fx, 'tariff', { counter: 1001, issuedAt: now - 700_000, expiresAt: now - 60_000 })).result, 'executed');
  });
});

describe('the tamper switch', () => {
  it('sends a signed tamper event, then wipes the keys from memory and storage', async (t) => {
    const dir = tempDir(t);
    const storage = new FileMeterStorage(join(dir, 'meter.json'));
    const fx = await ready(storage);
    const spki = fx.meter.publicKeySpki();
    fx.meter.addEnergy(42);
    const frame = fx.meter.tamper('cover-opened');
    assert.ok(frame);
    const f = parseUplinkFrame(frame);
    assert.ok(verifyUplinkSignature(f, importSpkiPublicKey('P-256', spki)));
    assert.deepEqual(decodeTamper(openUplinkBody(f, fx.sessionKey)), { time: T0, reason: 'cover-opened', importWh: 42, exportWh: 0 });
    assert.equal(fx.meter.phase, 'wiped');
    throwsWith(() => fx.meter.reading(), 'METER_WIPED');
    throwsWith(() => fx.meter.handleCommand(command(fx, 'reconnect')), 'METER_WIPED');
    const stored = readFileSync(join(dir, 'meter.json'), 'utf8');
    assert.equal(JSON.parse(stored).identityKey, undefined);
    assert.equal(JSON.parse(stored).wiped, true);
    const again = SimulatedMeter.open({ tenant: 'utility', meterId: 'm-1', storage, clock: fx.clock });
    assert.equal(again.phase, 'wiped');
    throwsWith(() => again.generateIdentity(), 'METER_WIPED');
  });

  it('wipes a meter that has no session yet without sending anything', () => {
    const m = SimulatedMeter.open({ tenant: 'utility', meterId: 'm-2', storage: new MemoryMeterStorage(), clock: new FixedClock(T0) });
    m.generateIdentity();
    assert.equal(m.tamper('enclosure-breach'), undefined);
    assert.equal(m.phase, 'wiped');
  });
});
