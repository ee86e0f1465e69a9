/**
 * The production transport: our own Mosquitto with a mutual-TLS listener trusting the city CA
 * and an ACL per meter, the head-end joining it with a tls-client certificate from the PKI,
 * PostgreSQL as the store. The whole flow — enrolment, key establishment, readings, a command
 * and its ack — runs through it; a broker restart during ingestion loses nothing and stores
 * nothing twice; a meter cannot publish on another meter's topic.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { toPem } from '../../src/pki/index.ts';
import { Metering } from '../../src/metering/service.ts';
import { MeterMqttClient, meterTopics } from '../../src/metering/meter.ts';
import { headEndSubject, meterSubject, mosquittoAcl } from '../../src/metering/mosquitto.ts';
import { generateKeyPairSync } from 'node:crypto';
import { createMeterCsr } from '../../src/metering/meter.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { openHeadEnd, provisionMeter } from '../metering/helpers.ts';
import { MeterIngest } from '../../src/metering/ingest.ts';
import { startMosquitto } from '../metering/mosquitto-harness.ts';

async function until(cond: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('metering through Mosquitto (mutual TLS, ACL) and PostgreSQL', () => {
  it('runs enrolment, readings, a command and its ack, survives a broker restart, and keeps meters to their own topics', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const h = await openHeadEnd(t, { maxClockSkewMs: 7_200_000 }, { databaseUrl: db.url, start: Date.now() });
    const ids = ['m-1', 'm-2', 'm-3'];
    const meters = [];
    for (const id of ids) meters.push(await provisionMeter(h, id));
    const server = await h.pki.serverTls(['localhost', '127.0.0.1']);
    // Another city service's tls-client certificate (issued now: Mosquitto checks validity against the real clock).
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const otherCert = await h.pki.issue(null, { csr: createMeterCsr(other.privateKey, other.publicKey, 'other'), profile: 'tls-client' }, 'test');
    const ca = (await h.pki.trustBundle()).map((d) => toPem('CERTIFICATE', d)).join('');
    const broker = await startMosquitto({
      dir: join(h.dir, 'mosquitto'),
      ca,
      cert: server.certPem,
      key: server.keyPem,
      acl: mosquittoAcl({ meters: ids.map((id) => ({ tenant: 'utility', id })) }),
      persistence: true,
    });
    t.after(() => broker.stop());

    const metering = new Metering({ store: h.store, vault: h.vault, audit: h.audit, clock: h.clock, pki: h.pki, devices: h.devices, settings: { ingest: { maxClockSkewMs: 7_200_000 }, identityCacheMs: 0 } });
    t.after(() => metering.close());
    const info = await metering.startTransport({ url: broker.url, clientId: 'citytrust-headend-test', embedded: false, host: '127.0.0.1', port: 0, tls: false });
    assert.equal(info.kind, 'external');

    const links = await Promise.all(meters.map((m) => MeterMqttClient.connect(m, { url: broker.url, ca, keepaliveSeconds: 5 })));
    t.after(() => Promise.all(links.map((l) => l.close())));
    await Promise.all(links.map((l) => l.establishKey()));

    // Readings, with a broker restart (SIGTERM, persistence on) half-way through.
    const perMeter = 40;
    const stored = async () => Number((await h.store.db.selectFrom('meter_readings').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    let storedAtRestart = -1;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < perMeter; i++) {
      h.clock.advance(60_000);
      for (const l of links) {
        l.meter.setLoad(800);
        l.meter.advance(60_000);
        sends.push(l.sendReading());
      }
      if (i === perMeter / 2) {
        storedAtRestart = await stored();
        await broker.stop('SIGTERM');
        await broker.start();
      }
    }
    await Promise.all(sends);
    assert.ok(storedAtRestart < (perMeter / 2 + 1) * ids.length, 'frames were in flight when the broker stopped');
    // PUBACK from Mosquitto means queued for the head-end, not stored yet: wait for ingest.
    await until(async () => (await stored()) >= perMeter * ids.length);
    await metering.ingest.drain();
    assert.equal(await stored(), perMeter * ids.length, broker.log());
    const rows = await h.store.db.selectFrom('meter_readings').select(['meter_id', 'counter']).execute();
    assert.equal(new Set(rows.map((r) => `${r.meter_id}/${r.counter}`)).size, rows.length, 'nothing stored twice');

    // A command over Mosquitto: signed by the vault key, verified and acked by the meter.
    const c = await metering.commands.request({ tenant: 'utility', action: 'tariff', meters: ['m-1'], args: { tariffId: 3, activateAt: h.clock.now() }, reason: 'test' }, 'token:a');
    await until(async () => (await metering.commands.get('utility', 'utility', c.id)).targets?.[0]?.state === 'executed');
    assert.equal(meters[0]!.tariffId, 3);

    // The ACL: m-1's certificate may not publish on m-2's topic (Mosquitto drops it silently for MQTT 3.1.1).
    const m1 = meters[0]!.tlsIdentity();
    const rogue = await mqtt.connectAsync(broker.url, { ...m1, ca, clientId: 'rogue', protocolVersion: 4, reconnectPeriod: 0, rejectUnauthorized: true });
    await rogue.publishAsync(meterTopics('utility', 'm-2').up, Buffer.from(meters[0]!.reading()), { qos: 1 });
    await rogue.endAsync();
    await new Promise((r) => setTimeout(r, 500));
    await metering.ingest.drain();
    assert.equal(Number((await h.store.db.selectFrom('meter_readings').select((eb) => eb.fn.countAll<number>().as('n')).where('meter_id', '=', 'm-2').executeTakeFirstOrThrow()).n), perMeter);
    // Had the broker let it through, ingest would have refused it with an alert for m-2.
    assert.deepEqual(await metering.alerts(null, 'utility', { meterId: 'm-2' }), []);
    // Subscriptions and head-end rights. Whatever a client without the right receives lands here.
    const leaked: string[] = [];
    const m2Got: string[] = [];
    links[1]!.client.on('message', (topic) => m2Got.push(topic));
    // m-1's certificate may not read m-2's down topic…
    const snoop = await mqtt.connectAsync(broker.url, { ...m1, ca, clientId: 'snoop', protocolVersion: 4, reconnectPeriod: 0, rejectUnauthorized: true });
    t.after(() => snoop.endAsync(true));
    snoop.on('message', (topic) => leaked.push(`snoop ${topic}`));
    await snoop.subscribeAsync(meterTopics('utility', 'm-2').down, { qos: 1 });
    // …nor act as the head-end: read every up topic, or write a command onto m-2's down topic.
    await snoop.subscribeAsync('city/+/meters/+/up', { qos: 1 });
    const c2 = await metering.commands.request({ tenant: 'utility', action: 'tariff', meters: ['m-2'], args: { tariffId: 4, activateAt: h.clock.now() }, reason: 'test' }, 'token:a');
    await until(async () => (await metering.commands.get('utility', 'utility', c2.id)).targets?.[0]?.state === 'executed');
    const counterM2 = meters[1]!.commandCounter;
    await snoop.publishAsync(meterTopics('utility', 'm-2').down, Buffer.from(new Uint8Array(200)), { qos: 1 });
    // A tls-client certificate of the city's other services (the identity the head-end once had) gets no head-end rights either.
    const service = await mqtt.connectAsync(broker.url, { ca, cert: otherCert.certificatePem + otherCert.chainPem.join(''), key: String(other.privateKey.export({ type: 'pkcs8', format: 'pem' })), clientId: 'other-service', protocolVersion: 4, reconnectPeriod: 0, rejectUnauthorized: true });
    t.after(() => service.endAsync(true));
    service.on('message', (topic) => leaked.push(`service ${topic}`));
    await service.subscribeAsync('city/utility/meters/+/up', { qos: 1 });
    await service.publishAsync(meterTopics('utility', 'm-2').down, Buffer.from(new Uint8Array(200)), { qos: 1 });
    h.clock.advance(60_000);
    await links[2]!.sendReading();
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(leaked, [], 'no foreign subscription receives anything');
    assert.deepEqual(m2Got, [meterTopics('utility', 'm-2').down], "m-2 got the head-end's command and nothing the others wrote");
    assert.equal(meters[1]!.commandCounter, counterM2);
    assert.equal(headEndSubject('utility'), 'CN=head-end,OU=tls-client,O=utility');
    assert.equal((await h.devices.get('utility', 'utility', 'head-end')).type, 'service');

    // A client without a certificate of ours is refused at the TLS handshake.
    await assert.rejects(mqtt.connectAsync(broker.url, { ca, clientId: 'anon', protocolVersion: 4, reconnectPeriod: 0, rejectUnauthorized: true, connectTimeout: 3000 }));
    assert.equal(meterSubject('utility', 'm-1'), 'CN=m-1,OU=meter,O=utility');
  });

  it("advances each meter's stored counter and registers on PostgreSQL in one statement per batch, never backwards", async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const h = await openHeadEnd(t, {}, { databaseUrl: db.url });
    const ms = [];
    for (const id of ['p-1', 'p-2', 'p-3']) ms.push(await provisionMeter(h, id));
    for (const m of ms) assert.equal((await h.ingest.submit('utility', m.meterId, m.establishKey())).status, 'stored');
    h.clock.advance(900_000);
    const outcomes = await Promise.all(
      ms.map((m, i) => {
        m.setLoad(1000 * (i + 1));
        m.advance(900_000);
        return h.ingest.submit('utility', m.meterId, m.reading());
      }),
    );
    assert.deepEqual(outcomes.map((o) => o.status), ['stored', 'stored', 'stored']);
    const rows = await Promise.all(ms.map((m) => h.meters.get('utility', 'utility', m.meterId)));
    assert.deepEqual(rows.map((r) => [r.lastCounter, r.lastImportWh, r.relay]), [[2, 250, 'connected'], [2, 500, 'connected'], [2, 750, 'connected']]);
    // A slower instance holding an older state cannot move the counter back.
    await h.store.db.updateTable('meters').set({ last_counter: 9 }).where('id', '=', 'p-1').execute();
    h.clock.advance(900_000);
    ms[0]!.advance(900_000);
    const fresh = new MeterIngest({ store: h.store, vault: h.vault, keys: h.keys, identity: h.identity, audit: h.audit, clock: h.clock, devices: h.devices });
    t.after(() => fresh.close());
    assert.equal((await fresh.submit('utility', 'p-1', ms[0]!.reading())).code, 'METER_COUNTER_REPLAY');
    assert.equal((await h.meters.get('utility', 'utility', 'p-1')).lastCounter, 9);
  });
});
