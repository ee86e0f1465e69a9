import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { silentLogger } from '../../src/core/log.ts';
import { EmbeddedBroker } from '../../src/mqtt/broker.ts';
import { MqttClient } from '../../src/mqtt/client.ts';
import { MeterCommands } from '../../src/metering/commands.ts';
import { MeterMqttClient } from '../../src/metering/meter-mqtt.ts';
import { MqttHeadEnd } from '../../src/metering/mqtt-headend.ts';
import { MeterIngest } from '../../src/metering/ingest.ts';
import type { Store } from '../../src/store/db.ts';
import { meterTopics } from '../../src/metering/meter.ts';
import { openHeadEnd, provisionMeter, type HeadEnd } from './helpers.ts';
import { foreignCertificate } from './certs.ts';
import { Metering } from '../../src/metering/service.ts';
import { toPem } from '../../src/pki/index.ts';
import { generateKeyPairSync } from 'node:crypto';

async function storedCount(h: HeadEnd, id?: string): Promise<number> {
  let q = h.store.db.selectFrom('meter_readings').select((eb) => eb.fn.countAll<number>().as('n'));
  if (id) q = q.where('meter_id', '=', id);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

async function startBroker(h: HeadEnd, port = 0): Promise<EmbeddedBroker> {
  return EmbeddedBroker.start({ host: '127.0.0.1', port, onUplink: (topic, payload) => h.ingest.submitTopic(topic, payload), logger: silentLogger() });
}

async function until(cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('meter traffic over MQTT with the embedded broker', () => {
  it('stores a reading before the meter gets its PUBACK', async (t) => {
    const h = await openHeadEnd(t);
    const broker = await startBroker(h);
    t.after(() => broker.close());
    const meter = await provisionMeter(h, 'm-1');
    const link = await MeterMqttClient.connect(meter, { url: broker.url });
    t.after(() => link.close());
    await link.establishKey();
    meter.setLoad(500);
    meter.advance(900_000);
    await link.sendReading();
    // send() resolved at PUBACK: the row is already durable.
    assert.equal(await storedCount(h, 'm-1'), 1);
  });

  it('carries a disconnect to the meter and its signed ack back', async (t) => {
    const h = await openHeadEnd(t);
    const broker = await startBroker(h);
    t.after(() => broker.close());
    const commands = new MeterCommands({ store: h.store, vault: h.vault, keys: h.keys, meters: h.meters, audit: h.audit, clock: h.clock, transport: broker });
    const meter = await provisionMeter(h, 'm-1');
    const results: string[] = [];
    const link = await MeterMqttClient.connect(meter, { url: broker.url, onCommand: (r) => results.push(r) });
    t.after(() => link.close());
    await link.establishKey();
    await link.sendReading();
    const c = await commands.request({ tenant: 'utility', action: 'disconnect', meters: ['m-1'], reason: 'test' }, 'token:a');
    await until(async () => (await commands.get('utility', 'utility', c.id)).targets?.[0]?.state === 'executed');
    await link.idle();
    assert.deepEqual(results, ['executed']);
    assert.equal(meter.relayConnected, false);
    assert.equal((await h.meters.get('utility', 'utility', 'm-1')).relay, 'disconnected');
  });

  it('delivers a command to a meter that was offline when it was sent (persistent session)', async (t) => {
    const h = await openHeadEnd(t);
    const broker = await startBroker(h);
    t.after(() => broker.close());
    const commands = new MeterCommands({ store: h.store, vault: h.vault, keys: h.keys, meters: h.meters, audit: h.audit, clock: h.clock, transport: broker });
    const meter = await provisionMeter(h, 'm-1');
    const first = await MeterMqttClient.connect(meter, { url: broker.url });
    await first.establishKey();
    await first.sendReading();
    await first.close();
    await commands.request({ tenant: 'utility', action: 'tariff', meters: ['m-1'], args: { tariffId: 9, activateAt: h.clock.now() }, reason: 'new tariff' }, 'token:a');
    const again = await MeterMqttClient.connect(meter, { url: broker.url });
    t.after(() => again.close());
    await until(() => meter.tariffId === 9);
  });

  it('lets a meter publish only on its own up topic and read only its own down topic', async (t) => {
    const h = await openHeadEnd(t);
    const broker = await startBroker(h);
    t.after(() => broker.close());
    const a = await provisionMeter(h, 'm-1');
    await provisionMeter(h, 'm-2');
    const rogue = await mqtt.connectAsync(broker.url, { clientId: 'utility:m-1', clean: false, protocolVersion: 4, reconnectPeriod: 0 });
    t.after(() => rogue.endAsync(true));
    // SUBACK 0x80 (failure): the client library reports it as an error.
    await assert.rejects(rogue.subscribeAsync(meterTopics('utility', 'm-2').down, { qos: 1 }));
    const closed = new Promise<void>((r) => rogue.once('close', () => r()));
    rogue.publish(meterTopics('utility', 'm-2').up, Buffer.from(a.establishKey()), { qos: 1 });
    await closed;
    assert.equal(Number((await h.store.db.selectFrom('meter_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n), 0);
    await assert.rejects(mqtt.connectAsync(broker.url, { clientId: 'not-a-meter', protocolVersion: 4, reconnectPeriod: 0 }));
  });

  it('loses nothing and stores nothing twice when the broker restarts during ingestion', async (t) => {
    // Test time runs a minute per round; frames delayed by the outage must not look skewed.
    const h = await openHeadEnd(t, { maxClockSkewMs: 7_200_000 });
    let broker = await startBroker(h);
    const port = broker.port;
    t.after(() => broker.close());
    const meters = await Promise.all(['m-1', 'm-2', 'm-3', 'm-4'].map((id) => provisionMeter(h, id)));
    const links = await Promise.all(meters.map((m) => MeterMqttClient.connect(m, { url: broker.url, keepaliveSeconds: 5 })));
    t.after(() => Promise.all(links.map((l) => l.close())));
    await Promise.all(links.map((l) => l.establishKey()));
    const perMeter = 60;
    let reconnects = 0;
    for (const l of links) l.client.on('reconnect', () => reconnects++);
    let storedAtRestart = -1;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < perMeter; i++) {
      h.clock.advance(60_000);
      for (const l of links) {
        l.meter.setLoad(1000);
        l.meter.advance(60_000);
        sends.push(l.sendReading());
      }
      if (i === perMeter / 2) {
        // Mid-stream: the broker goes away with frames in flight, and comes back on the same port.
        storedAtRestart = await storedCount(h);
        await broker.close();
        broker = await startBroker(h, port);
      }
    }
    await Promise.all(sends);
    assert.ok(storedAtRestart < (perMeter / 2 + 1) * links.length, 'frames were in flight when the broker went away');
    assert.ok(reconnects >= links.length, 'every meter reconnected');
    assert.equal(await storedCount(h), perMeter * links.length);
    const counters = await h.store.db.selectFrom('meter_readings').select(['meter_id', 'counter']).execute();
    assert.equal(new Set(counters.map((c) => `${c.meter_id}/${c.counter}`)).size, perMeter * links.length, 'no frame stored twice');
    assert.deepEqual(await h.store.db.selectFrom('metering_alerts').select('kind').execute(), [], 'no replay or gap alerts');
  });
});

describe('commands across a head-end restart (nothing acknowledged is lost)', () => {
  /** The server's metering on the test's store, with its embedded broker (what `citytrust serve` starts). */
  async function headEndProcess(t: { after: (fn: () => Promise<void>) => void }, h: HeadEnd): Promise<Metering> {
    const m = new Metering({ store: h.store, vault: h.vault, audit: h.audit, clock: h.clock, pki: h.pki, devices: h.devices, logger: silentLogger(), settings: { identityCacheMs: 0 } });
    t.after(() => m.close());
    await m.startTransport({ embedded: true, host: '127.0.0.1', port: 0, tls: false, url: undefined, clientId: 'test' });
    return m;
  }

  it('sends an accepted command again after a restart until the meter acknowledges it, and the meter executes it once', async (t) => {
    const h = await openHeadEnd(t);
    const before = await headEndProcess(t, h);
    const meter = await provisionMeter(h, 'm-1');
    const results: string[] = [];
    const first = await MeterMqttClient.connect(meter, { url: before.broker!.url, onCommand: (r) => results.push(r) });
    await first.establishKey();
    await first.close();
    // Accepted and signed while the meter is away; then the server goes down with it in memory only.
    const c = await before.commands.request({ tenant: 'utility', action: 'tariff', meters: ['m-1'], args: { tariffId: 7, activateAt: h.clock.now() }, reason: 'test' }, 'token:a');
    assert.equal(c.targets?.[0]?.state, 'sent');
    const stored = (await h.store.db.selectFrom('metering_command_targets').select('frame').where('command_id', '=', c.id).executeTakeFirstOrThrow()).frame;
    assert.ok(stored && stored.length > 0, 'the signed frame is durable before the request returns');
    await before.close();

    const after = await headEndProcess(t, h);
    const link = await MeterMqttClient.connect(meter, { url: after.broker!.url, onCommand: (r) => results.push(r) });
    t.after(() => link.close());
    await until(async () => (await after.commands.get('utility', 'utility', c.id)).targets?.[0]?.state === 'executed');
    await link.idle();
    assert.equal(meter.tariffId, 7);
    assert.deepEqual(results, ['executed']);
    const target = await h.store.db.selectFrom('metering_command_targets').select('frame').where('command_id', '=', c.id).executeTakeFirstOrThrow();
    assert.equal(target.frame, null, 'an acknowledged frame is not kept');

    // A crash after the meter executed it but before its ack was stored: the next start sends it
    // again; the meter acks it again without executing it twice, and no alert is raised.
    const counter = meter.commandCounter;
    await h.store.db.updateTable('metering_command_targets').set({ state: 'sent', result: null, acked_at: null, frame: stored }).where('command_id', '=', c.id).execute();
    await link.close();
    await after.close();
    const third = await headEndProcess(t, h);
    const relink = await MeterMqttClient.connect(meter, { url: third.broker!.url, onCommand: (r) => results.push(r) });
    t.after(() => relink.close());
    await until(async () => (await third.commands.get('utility', 'utility', c.id)).targets?.[0]?.state === 'executed');
    await relink.idle();
    assert.deepEqual([meter.commandCounter, meter.tariffId, results], [counter, 7, ['executed', 'already-executed']]);
    assert.deepEqual(await third.alerts(null, 'utility', { meterId: 'm-1' }), []);
  });

  it('acks a re-sent copy of the last accepted command with its first result, without executing it again', async (t) => {
    const h = await openHeadEnd(t);
    const m = await headEndProcess(t, h);
    const meter = await provisionMeter(h, 'm-1');
    const seen: Uint8Array[] = [];
    const link = await MeterMqttClient.connect(meter, { url: m.broker!.url });
    t.after(() => link.close());
    await link.establishKey();
    link.client.on('message', (_topic, payload) => seen.push(new Uint8Array(payload)));
    const c = await m.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['m-1'], reason: 'test' }, 'token:a');
    await until(async () => (await m.commands.get('utility', 'utility', c.id)).targets?.[0]?.state === 'executed');
    await link.idle();
    assert.equal(meter.relayConnected, false);
    // The meter is reconnected by hand at the site; then the old disconnect arrives again.
    const copy = seen[0]!;
    const counter = meter.commandCounter;
    const again = meter.handleCommand(copy);
    assert.deepEqual([again.result, meter.commandCounter, meter.relayConnected], ['already-executed', counter, false]);
    await link.send(again.ack);
    await m.ingest.drain();
    assert.deepEqual(await m.alerts(null, 'utility', { meterId: 'm-1' }), []);
    const view = (await m.commands.get('utility', 'utility', c.id)).targets?.[0];
    assert.deepEqual([view?.state, view?.result], ['executed', 'executed']);
  });
});

describe('the embedded broker over mutual TLS', () => {
  it('admits a meter by its PKI certificate, and refuses foreign certificates and suspended devices', async (t) => {
    // Node's TLS checks certificate validity against the real clock.
    const h = await openHeadEnd(t, {}, { start: Date.now() });
    const metering = new Metering({ store: h.store, vault: h.vault, audit: h.audit, clock: h.clock, pki: h.pki, devices: h.devices });
    t.after(() => metering.close());
    const info = await metering.startTransport({ embedded: true, host: '127.0.0.1', port: 0, tls: true, url: undefined, clientId: 'x' });
    assert.match(info.url ?? '', /^mqtts:/);
    const ca = (await h.pki.trustBundle()).map((d) => toPem('CERTIFICATE', d)).join('');
    const meter = await provisionMeter(h, 'm-1');
    const link = await MeterMqttClient.connect(meter, { url: info.url!, ca });
    await link.establishKey();
    await link.sendReading();
    await link.close();
    assert.equal(await storedCount(h, 'm-1'), 1);

    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const foreign = await foreignCertificate(new Uint8Array(stranger.publicKey.export({ type: 'spki', format: 'der' })), 'utility', 'm-1');
    const refused = (e: unknown) => (e as { code?: string }).code === 'METER_TRANSPORT_UNAVAILABLE';
    // The TLS handshake fails: a certificate of a CA we do not trust.
    await assert.rejects(MqttClient.connect({ url: info.url!, clientId: 'x', tls: { ca, key: String(stranger.privateKey.export({ type: 'pkcs8', format: 'pem' })), cert: toPem('CERTIFICATE', foreign) } }), refused);
    // The handshake passes but CONNACK refuses: our certificate, but the device is suspended.
    await h.devices.setState('utility', 'utility', 'm-1', 'suspended', 'test');
    await assert.rejects(MqttClient.connect({ url: info.url!, clientId: 'y', tls: { ca, ...meter.tlsIdentity() } }), refused);
  });
});

describe('the head-end on an external broker', () => {
  async function plainBroker(t: { after: (fn: () => Promise<void> | void) => void }, port = 0): Promise<{ port: number; aedes: Aedes; close: () => Promise<void> }> {
    const aedes = await Aedes.createBroker();
    const server = createServer(aedes.handle);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    const close = async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    };
    t.after(close);
    return { port: (server.address() as AddressInfo).port, aedes, close };
  }

  it('acknowledges a frame to the broker only once stored, so a failed commit is redelivered', async (t) => {
    const h = await openHeadEnd(t);
    const b = await plainBroker(t);
    let failing = true;
    const flaky: Store = { ...h.store, db: h.store.db, dialect: h.store.dialect, location: h.store.location, transaction: (fn) => (failing ? Promise.reject(new Error('disk full')) : h.store.transaction(fn)), close: () => h.store.close() };
    const ingest = new MeterIngest({ store: flaky, vault: h.vault, keys: h.keys, identity: h.identity, audit: h.audit, clock: h.clock, logger: silentLogger() });
    const headEnd = await MqttHeadEnd.connect({ url: `mqtt://127.0.0.1:${b.port}`, clientId: 'citytrust-headend-test', ingest, logger: silentLogger() });
    t.after(() => headEnd.close());
    const meter = await provisionMeter(h, 'm-1');
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.port}`, { clientId: 'pub', protocolVersion: 4 });
    t.after(() => pub.endAsync(true));
    await pub.publishAsync(meterTopics('utility', 'm-1').up, Buffer.from(meter.establishKey()), { qos: 1 });
    await until(() => headEnd.client.connections >= 2);
    assert.equal((await h.store.db.selectFrom('meter_events').selectAll().execute()).length, 0);
    failing = false;
    await until(async () => (await h.store.db.selectFrom('meter_events').selectAll().execute()).length === 1);
    await ingest.close();
  });

  it('publishes commands QoS 1 and resends an unacknowledged one after the broker comes back', async (t) => {
    const a = await plainBroker(t);
    const client = await MqttClient.connect({ url: `mqtt://127.0.0.1:${a.port}`, clientId: 'c1', logger: silentLogger(), maxReconnectMs: 200 });
    t.after(() => client.close());
    const seen: string[] = [];
    a.aedes.on('publish', (p) => p.topic.startsWith('x/') && seen.push(p.topic));
    await client.publish('x/1', Uint8Array.of(1));
    assert.deepEqual(seen, ['x/1']);
    await a.close();
    const pending = client.publish('x/2', Uint8Array.of(2));
    const b = await plainBroker(t, a.port);
    const again: string[] = [];
    b.aedes.on('publish', (p) => p.topic.startsWith('x/') && again.push(p.topic));
    await pending;
    assert.deepEqual(again, ['x/2']);
    assert.ok(client.connections >= 2);
    await assert.rejects(MqttClient.connect({ url: 'mqtt://127.0.0.1:1', clientId: 'c2' }), (e: unknown) => (e as { code?: string }).code === 'METER_TRANSPORT_UNAVAILABLE');
    await assert.rejects(MqttClient.connect({ url: 'http://127.0.0.1:1', clientId: 'c3' }), (e: unknown) => (e as { code?: string }).code === 'CONFIG_INVALID');
  });
});
