import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { concatBytes } from '../../src/core/bytes.ts';
import { silentLogger } from '../../src/core/log.ts';
import type { Store } from '../../src/store/db.ts';
import { MeterIngest } from '../../src/metering/ingest.ts';
import { listAlerts } from '../../src/metering/alerts.ts';
import { MemoryMeterStorage, SimulatedMeter, encodeReading, encodeTamper, sessionKeyObject } from '../../src/metering/meter.ts';
import { FixedClock } from '../../src/core/clock.ts';
import { T0, manualMeter, openHeadEnd, provisionMeter, readyMeter, type HeadEnd } from './helpers.ts';
import { foreignCertificate } from './certs.ts';

const QUARTER = 900_000;

async function readingsOf(h: HeadEnd, id: string) {
  return h.store.db.selectFrom('meter_readings').selectAll().where('meter_id', '=', id).orderBy('counter').execute();
}

async function alertKinds(h: HeadEnd, id: string): Promise<string[]> {
  return (await listAlerts(h.store, 'utility', { meterId: id })).map((a) => a.kind).sort();
}

/** Lets a quarter hour pass for the meter and the head-end alike. */
function quarter(h: HeadEnd, m: SimulatedMeter, load = 1000): void {
  m.setLoad(load);
  h.clock.advance(QUARTER);
  m.advance(QUARTER);
}

describe('ingest of meter frames', () => {
  it('verifies, decrypts and stores readings, and advances the stored counter', async (t) => {
    const h = await openHeadEnd(t);
    const m = await readyMeter(h, 'm-1');
    quarter(h, m);
    assert.deepEqual(await h.ingest.submit('utility', 'm-1', m.reading()), { status: 'stored', type: 'reading', counter: 2 });
    quarter(h, m);
    await h.ingest.submit('utility', 'm-1', m.reading());
    const rows = await readingsOf(h, 'm-1');
    assert.deepEqual(
      rows.map((r) => [Number(r.counter), Number(r.import_wh), Number(r.power_w), r.flags]),
      [
        [2, 250, 1000, ''],
        [3, 500, 1000, ''],
      ],
    );
    const meter = await h.meters.get('utility', 'utility', 'm-1');
    assert.deepEqual([meter.lastCounter, meter.lastImportWh, meter.relay], [3, 500, 'connected']);
    assert.deepEqual(await alertKinds(h, 'm-1'), []);
  });

  it('stores a redelivered frame once (exactly once on meter + counter), even when copies arrive together', async (t) => {
    const h = await openHeadEnd(t);
    const m = await readyMeter(h, 'm-1');
    quarter(h, m);
    const frame = m.reading();
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map(() => h.ingest.submit('utility', 'm-1', frame)));
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'stored']);
    assert.equal((await readingsOf(h, 'm-1')).length, 1);
    assert.deepEqual(await alertKinds(h, 'm-1'), []);
  });

  it('refuses an old frame replayed after the redelivery window with METER_COUNTER_REPLAY, an alert and an audit event', async (t) => {
    const h = await openHeadEnd(t, { redeliveryWindowMs: 3_600_000 });
    const m = await readyMeter(h, 'm-1');
    quarter(h, m);
    const old = m.reading();
    await h.ingest.submit('utility', 'm-1', old);
    quarter(h, m);
    await h.ingest.submit('utility', 'm-1', m.reading());
    h.clock.advance(4 * 3_600_000);
    assert.deepEqual(await h.ingest.submit('utility', 'm-1', old), { status: 'rejected', code: 'METER_COUNTER_REPLAY' });
    assert.deepEqual(await alertKinds(h, 'm-1'), ['METER_COUNTER_REPLAY']);
    assert.ok(h.audit.events.some((e) => e.action === 'metering.frame.refuse' && e.details?.code === 'METER_COUNTER_REPLAY'));
    assert.equal((await readingsOf(h, 'm-1')).length, 2);
  });

  it('refuses lowered counters from a meter whose state was rolled back (a clone)', async (t) => {
    const h = await openHeadEnd(t);
    const storage = new MemoryMeterStorage();
    const m = await readyMeter(h, 'm-1', { storage });
    const snapshot = storage.load()!;
    for (let i = 0; i < 3; i++) {
      quarter(h, m);
      await h.ingest.submit('utility', 'm-1', m.reading());
    }
    const restored = new MemoryMeterStorage();
    restored.save({ ...snapshot, importWh: 9_999 });
    const clone = SimulatedMeter.open({ tenant: 'utility', meterId: 'm-1', storage: restored, clock: h.clock });
    // The clone's counters start where the snapshot was: below what the head-end stored.
    assert.equal((await h.ingest.submit('utility', 'm-1', clone.establishKey())).code, 'METER_COUNTER_REPLAY');
    assert.deepEqual(await alertKinds(h, 'm-1'), ['METER_COUNTER_REPLAY']);
  });

  it('refuses bad signatures, wrong system titles, bad tags, unknown keys and foreign certificates, each with its alert', async (t) => {
    const h = await openHeadEnd(t);
    const mm = await manualMeter(h, 'm-1');
    const ke = await mm.establish(1);
    assert.equal((await h.ingest.submit('utility', 'm-1', ke.frame)).status, 'stored');
    const plain = encodeReading({ time: h.clock.now(), importWh: 1, exportWh: 0, powerW: 10, status: 1 });
    const good = mm.frame('reading', 2, plain, ke.sessionKey, ke.keyId);
    const badSig = good.slice();
    badSig[badSig.length - 5]! ^= 0xff;
    const other = await manualMeter(h, 'm-2');
    const cases: [string, Uint8Array, string][] = [
      ['a flipped signature byte', badSig, 'METER_SIGNATURE_INVALID'],
      ['a frame signed by another meter', other.frame('reading', 3, plain, ke.sessionKey, ke.keyId, { systemTitle: mm.systemTitle }), 'METER_SIGNATURE_INVALID'],
      ["another meter's system title", mm.frame('reading', 4, plain, ke.sessionKey, ke.keyId, { systemTitle: other.systemTitle }), 'METER_SYSTEM_TITLE_MISMATCH'],
      ['a body sealed under another key (bad tag)', mm.frame('reading', 5, plain, sessionKeyObject(new Uint8Array(randomBytes(16))), ke.keyId), 'METER_DECRYPT_FAILED'],
      ['a key that was never established', mm.frame('reading', 6, plain, ke.sessionKey, Uint8Array.of(9, 9, 9, 9)), 'METER_KEY_UNKNOWN'],
      ['a key establishment with a certificate from a foreign CA', (await mm.establish(7, { certificate: await foreignCertificate(mm.key.publicKey.export({ type: 'spki', format: 'der' }), 'utility', 'm-1') })).frame, 'METER_IDENTITY_INVALID'],
      ["a key establishment with another meter's certificate", (await mm.establish(8, { certificate: other.certificate })).frame, 'METER_IDENTITY_INVALID'],
      ['a key establishment with a head-end key that is not ours', (await mm.establish(9, { headEndKeyId: new Uint8Array(8) })).frame, 'METER_KEY_UNKNOWN'],
      ['a truncated frame', good.subarray(0, 50), 'METER_FRAME_TRUNCATED'],
      ['an oversized frame', new Uint8Array(5000), 'METER_FRAME_TOO_LARGE'],
      ['garbage', concatBytes(Uint8Array.of(1, 0x7f), new Uint8Array(100)), 'METER_FRAME_MALFORMED'],
    ];
    for (const [what, frame, code] of cases) {
      assert.deepEqual(await h.ingest.submit('utility', 'm-1', frame), { status: 'rejected', code }, what);
    }
    assert.equal((await readingsOf(h, 'm-1')).length, 0, 'nothing refused is stored');
    assert.equal((await h.meters.get('utility', 'utility', 'm-1')).lastCounter, 1, 'nothing refused moves the counter');
    assert.deepEqual(await alertKinds(h, 'm-1'), [...new Set(cases.map((c) => c[2]))].sort());
    // The good frame is still accepted after all that.
    assert.equal((await h.ingest.submit('utility', 'm-1', good)).status, 'stored');
  });

  it('checks signatures on worker threads the same way', async (t) => {
    const h = await openHeadEnd(t, { verifyThreads: 1 });
    const m = await readyMeter(h, 'm-1');
    quarter(h, m);
    const good = m.reading();
    const forged = good.slice();
    forged[forged.length - 1]! ^= 1;
    assert.deepEqual((await Promise.all([h.ingest.submit('utility', 'm-1', forged), h.ingest.submit('utility', 'm-1', good)])).map((o) => o.code ?? o.status), ['METER_SIGNATURE_INVALID', 'stored']);
  });

  it('ignores frames for unknown meters without writing anything', async (t) => {
    const h = await openHeadEnd(t);
    const mm = await manualMeter(h, 'm-1');
    const ke = await mm.establish(1);
    assert.deepEqual(await h.ingest.submit('utility', 'nobody', ke.frame), { status: 'ignored', code: 'METER_NOT_FOUND' });
    assert.deepEqual(await h.ingest.submitTopic('city/utility/meters/m-1/down', ke.frame), { status: 'ignored', code: 'INPUT_INVALID' });
    assert.equal((await h.store.db.selectFrom('metering_alerts').selectAll().execute()).length, 0);
  });

  it('stops accepting frames of a revoked certificate or a suspended device', async (t) => {
    const h = await openHeadEnd(t);
    const a = await readyMeter(h, 'm-1');
    const b = await readyMeter(h, 'm-2');
    const cert = await h.pki.listCertificates('utility', { deviceId: 'm-1' });
    await h.pki.revoke('utility', cert[0]!.serial, 'keyCompromise', 'test:operator');
    await h.devices.setState('utility', 'utility', 'm-2', 'suspended', 'test:operator');
    quarter(h, a);
    b.advance(QUARTER);
    assert.equal((await h.ingest.submit('utility', 'm-1', a.reading())).code, 'METER_IDENTITY_INVALID');
    assert.equal((await h.ingest.submit('utility', 'm-2', b.reading())).code, 'METER_NOT_ACTIVE');
    assert.equal((await h.ingest.submit('utility', 'm-1', a.establishKey())).code, 'METER_IDENTITY_INVALID');
  });

  it('stores implausible readings flagged and alerts each anomaly', async (t) => {
    const h = await openHeadEnd(t, { maxClockSkewMs: 60_000 });
    const meterClock = new FixedClock(T0);
    const m = await readyMeter(h, 'm-1', { clock: meterClock });
    const quarter = (_h: HeadEnd, meter: SimulatedMeter, load = 1000) => {
      meter.setLoad(load);
      h.clock.advance(QUARTER);
      meterClock.advance(QUARTER);
      meter.advance(QUARTER);
    };
    quarter(h, m);
    await h.ingest.submit('utility', 'm-1', m.reading());
    // Registers go backwards.
    m.addEnergy(-100);
    quarter(h, m, 0);
    assert.deepEqual((await h.ingest.submit('utility', 'm-1', m.reading())).anomalies, ['METER_REGISTER_BACKWARDS']);
    // 100 kWh in a quarter hour on a residential (25 kW) connection.
    m.addEnergy(100_000);
    quarter(h, m, 0);
    assert.deepEqual((await h.ingest.submit('utility', 'm-1', m.reading())).anomalies, ['METER_CONSUMPTION_IMPLAUSIBLE']);
    // Frames lost in between: a counter gap; a long silence: a reading gap.
    quarter(h, m);
    m.reading();
    m.reading();
    h.clock.advance(3 * QUARTER);
    meterClock.advance(3 * QUARTER);
    m.advance(3 * QUARTER);
    assert.deepEqual((await h.ingest.submit('utility', 'm-1', m.reading())).anomalies, ['METER_COUNTER_GAP', 'METER_READING_GAP']);
    // The head-end's clock runs ahead of the meter's by ten minutes.
    h.clock.advance(600_000);
    quarter(h, m);
    assert.deepEqual((await h.ingest.submit('utility', 'm-1', m.reading())).anomalies, ['METER_CLOCK_SKEW']);
    const rows = await readingsOf(h, 'm-1');
    assert.deepEqual(
      rows.map((r) => r.flags),
      ['', 'METER_REGISTER_BACKWARDS', 'METER_CONSUMPTION_IMPLAUSIBLE', 'METER_COUNTER_GAP,METER_READING_GAP', 'METER_CLOCK_SKEW'],
    );
    assert.deepEqual(await alertKinds(h, 'm-1'), ['METER_CLOCK_SKEW', 'METER_CONSUMPTION_IMPLAUSIBLE', 'METER_COUNTER_GAP', 'METER_READING_GAP', 'METER_REGISTER_BACKWARDS']);
  });

  it('records a tamper event as a critical alert and in the audit log', async (t) => {
    const h = await openHeadEnd(t);
    const m = await readyMeter(h, 'm-1');
    const frame = m.tamper('magnetic-field')!;
    assert.equal((await h.ingest.submit('utility', 'm-1', frame)).status, 'stored');
    const [alert] = await listAlerts(h.store, 'utility', { meterId: 'm-1' });
    assert.deepEqual([alert?.kind, alert?.severity, alert?.details.reason], ['METER_TAMPER', 'critical', 'magnetic-field']);
    assert.ok(h.audit.events.some((e) => e.action === 'metering.meter.tamper' && e.subject === 'm-1'));
  });

  it('marks a meter that reports tampering compromised: certificates revoked, alert raised, later frames refused with METER_COMPROMISED', async (t) => {
    const h = await openHeadEnd(t);
    // A meter whose keys the test keeps, standing for an attacker who extracted them before the switch fired.
    const mm = await manualMeter(h, 'm-1');
    const ke = await mm.establish(1);
    await h.ingest.submit('utility', 'm-1', ke.frame);
    const tamper = mm.frame('tamper', 2, encodeTamper({ time: h.clock.now(), reason: 'cover-opened', importWh: 5, exportWh: 0 }), ke.sessionKey, ke.keyId);
    const reading = mm.frame('reading', 3, encodeReading({ time: h.clock.now(), importWh: 6, exportWh: 0, powerW: 10, status: 1 }), ke.sessionKey, ke.keyId);
    // The tamper event and a frame right behind it in the same batch.
    const [a, b] = await Promise.all([h.ingest.submit('utility', 'm-1', tamper), h.ingest.submit('utility', 'm-1', reading)]);
    assert.deepEqual([a.status, b], ['stored', { status: 'rejected', code: 'METER_COMPROMISED' }]);
    assert.equal((await h.devices.get('utility', 'utility', 'm-1')).state, 'compromised');
    assert.equal((await h.meters.get('utility', 'utility', 'm-1')).state, 'compromised');
    const certs = await h.store.db.selectFrom('pki_certificates').select(['status', 'reason']).where('tenant_id', '=', 'utility').where('device_id', '=', 'm-1').execute();
    assert.deepEqual(certs.map((c) => [c.status, c.reason]), [['revoked', 'keyCompromise']]);
    const alerts = await listAlerts(h.store, 'utility', { meterId: 'm-1' });
    const tamperAlert = alerts.find((x) => x.kind === 'METER_TAMPER');
    assert.deepEqual([tamperAlert?.severity, tamperAlert?.details.reason, tamperAlert?.details.deviceState], ['critical', 'cover-opened', 'compromised']);
    assert.equal(alerts.find((x) => x.kind === 'METER_COMPROMISED')?.severity, 'critical');
    assert.ok(h.audit.events.some((e) => e.action === 'device.state' && e.subject === 'm-1' && (e.details as { to?: string }).to === 'compromised'));
    // Later frames — a reading, a fresh key establishment — are refused, also by a restarted ingest that knows only the database.
    const later = mm.frame('reading', 4, encodeReading({ time: h.clock.now(), importWh: 7, exportWh: 0, powerW: 10, status: 1 }), ke.sessionKey, ke.keyId);
    assert.deepEqual(await h.ingest.submit('utility', 'm-1', later), { status: 'rejected', code: 'METER_COMPROMISED' });
    const fresh = new MeterIngest({ store: h.store, vault: h.vault, keys: h.keys, identity: h.identity, audit: h.audit, clock: h.clock, logger: silentLogger(), devices: h.devices });
    t.after(() => fresh.close());
    assert.deepEqual(await fresh.submit('utility', 'm-1', later), { status: 'rejected', code: 'METER_COMPROMISED' });
    assert.deepEqual(await fresh.submit('utility', 'm-1', (await mm.establish(5)).frame), { status: 'rejected', code: 'METER_COMPROMISED' });
    assert.equal((await readingsOf(h, 'm-1')).length, 0);
  });

  it('coalesces a flood of one anomaly into one alert row with a count', async (t) => {
    const h = await openHeadEnd(t);
    await provisionMeter(h, 'm-1');
    await Promise.all(Array.from({ length: 50 }, () => h.ingest.submit('utility', 'm-1', new Uint8Array(10))));
    const alerts = await listAlerts(h.store, 'utility', { meterId: 'm-1' });
    assert.deepEqual(
      alerts.map((a) => [a.kind, a.count]),
      [['METER_FRAME_TRUNCATED', 50]],
    );
  });

  it('survives a restart: counters persist, session keys are re-derived in the vault, copies are still recognised', async (t) => {
    const h = await openHeadEnd(t);
    const m = await readyMeter(h, 'm-1');
    quarter(h, m);
    const first = m.reading();
    await h.ingest.submit('utility', 'm-1', first);
    await h.ingest.close();
    const fresh = new MeterIngest({ store: h.store, vault: h.vault, keys: h.keys, identity: h.identity, audit: h.audit, clock: h.clock, logger: silentLogger() });
    t.after(() => fresh.close());
    quarter(h, m);
    assert.equal((await fresh.submit('utility', 'm-1', m.reading())).status, 'stored');
    assert.equal((await fresh.submit('utility', 'm-1', first)).status, 'duplicate');
    assert.equal((await readingsOf(h, 'm-1')).length, 2);
  });

  it('leaves a frame unacknowledged when its batch cannot be committed, and stores it when it comes again', async (t) => {
    const h = await openHeadEnd(t);
    const m = await readyMeter(h, 'm-1');
    let failing = true;
    const flaky: Store = {
      ...h.store,
      db: h.store.db,
      dialect: h.store.dialect,
      location: h.store.location,
      transaction: (fn) => (failing ? Promise.reject(new Error('disk full')) : h.store.transaction(fn)),
      close: () => h.store.close(),
    };
    const ingest = new MeterIngest({ store: flaky, vault: h.vault, keys: h.keys, identity: h.identity, audit: h.audit, clock: h.clock, logger: silentLogger() });
    t.after(() => ingest.close());
    quarter(h, m);
    const frame = m.reading();
    await assert.rejects(ingest.submit('utility', 'm-1', frame), (e: unknown) => (e as { code?: string }).code === 'STORE_UNAVAILABLE');
    assert.equal((await readingsOf(h, 'm-1')).length, 0);
    failing = false;
    assert.equal((await ingest.submit('utility', 'm-1', frame)).status, 'stored');
    assert.equal((await readingsOf(h, 'm-1')).length, 1);
  });

  it('leaves frames unacknowledged while the vault is sealed, with no alert, and stores them once it is unsealed', async (t) => {
    const h = await openHeadEnd(t);
    const m = await provisionMeter(h, 'm-1');
    const ke = m.establishKey();
    quarter(h, m);
    const reading = m.reading();
    await h.vault.seal({ actor: 'test', tenant: null });
    const sealed = await Promise.allSettled([h.ingest.submit('utility', 'm-1', ke), h.ingest.submit('utility', 'm-1', reading)]);
    assert.deepEqual(sealed.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : r.value.status)), ['VAULT_SEALED', 'UNAVAILABLE']);
    assert.deepEqual(await alertKinds(h, 'm-1'), []);
    assert.equal((await h.meters.get('utility', 'utility', 'm-1')).lastCounter, 0);
    await h.vault.unseal(h.unsealShare);
    assert.equal((await h.ingest.submit('utility', 'm-1', ke)).status, 'stored');
    assert.equal((await h.ingest.submit('utility', 'm-1', reading)).status, 'stored');
  });

  it('keeps tenants apart: a frame on another tenant topic is not this meter', async (t) => {
    const h = await openHeadEnd(t);
    const m = await readyMeter(h, 'm-1');
    await provisionMeter(h, 'm-1', { tenant: 'water' });
    quarter(h, m);
    assert.deepEqual(await h.ingest.submit('water', 'm-1', m.reading()), { status: 'rejected', code: 'METER_SYSTEM_TITLE_MISMATCH' });
    assert.deepEqual(await listAlerts(h.store, 'utility', {}), []);
  });

  it('refuses a tamper event under a wrong key like any frame', async (t) => {
    const h = await openHeadEnd(t);
    const mm = await manualMeter(h, 'm-1');
    const ke = await mm.establish(1);
    await h.ingest.submit('utility', 'm-1', ke.frame);
    const frame = mm.frame('tamper', 2, encodeTamper({ time: h.clock.now(), reason: 'other', importWh: 0, exportWh: 0 }), sessionKeyObject(new Uint8Array(randomBytes(16))), ke.keyId);
    assert.equal((await h.ingest.submit('utility', 'm-1', frame)).code, 'METER_DECRYPT_FAILED');
    assert.ok(!(await alertKinds(h, 'm-1')).includes('METER_TAMPER'));
  });
});
