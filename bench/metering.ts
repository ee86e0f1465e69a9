/**
 * npm run bench -- metering [--json] [--meters 1000] [--readings 10] [--no-mosquitto] [--verify-threads 0]
 *
 * Readings per second from MQTT publish to durable storage:
 *   1. embedded aedes broker + SQLite: meters publish QoS 1 from a worker thread; the embedded
 *      broker acknowledges a frame (PUBACK) only once ingest stored it, so the clock stops at
 *      the last PUBACK;
 *   2. our own Mosquitto (mutual TLS, ACL) + PostgreSQL, the head-end as a TLS client; the
 *      clock stops when the last reading is in the database (Mosquitto acks on receipt).
 * Beside them, in the same run, the raw verify + decrypt floor: ECDSA P-256 verification and
 * AES-128-GCM decryption of the same frames, on the main thread (sync) and spread over the
 * libuv pool (what ingest does). Frames are signed before the clock starts.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { webcrypto, type KeyObject } from 'node:crypto';
import { FixedClock } from '../src/core/clock.ts';
import { silentLogger } from '../src/core/log.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { Tenants } from '../src/access/tenants.ts';
import { SoftwareVault } from '../src/vault/index.ts';
import { Devices, BootstrapTokens } from '../src/devices/index.ts';
import { Pki, toPem } from '../src/pki/index.ts';
import { importSpkiPublicKey } from '../src/crypto/index.ts';
import { Metering } from '../src/metering/service.ts';
import { meteringCaller } from '../src/metering/keys.ts';
import { mosquittoAcl } from '../src/metering/mosquitto.ts';
import { MqttClient } from '../src/mqtt/client.ts';
import {
  KDF_SALT,
  MemoryMeterStorage,
  SESSION_KEY_LENGTH,
  SimulatedMeter,
  decodeKeyEstablishment,
  kdfInfo,
  meterTopics,
  openUplinkBody,
  parseUplinkFrame,
  sessionKeyObject,
  verifyUplinkSignature,
} from '../src/metering/meter.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { MemoryAudit } from '../test/vault/helpers.ts';
import { argValue, report } from './lib.ts';

/** --verify-threads n: signature checks on n worker threads (default 0 = WebCrypto on the libuv pool, what the server does). */
const VERIFY_THREADS = process.argv.includes('--verify-threads') ? Number(process.argv[process.argv.indexOf('--verify-threads') + 1]) : 0;

interface PublisherMeter {
  clientId: string;
  topic: string;
  frames: Uint8Array[];
  key?: string;
  cert?: string;
}

interface PublisherJob {
  url: string;
  ca?: string;
  meters: PublisherMeter[];
}

// ---- the publisher worker: meters on their own connections, every frame QoS 1, pipelined ----

async function publisher(job: PublisherJob): Promise<void> {
  const clients = await Promise.all(
    job.meters.map((m) =>
      MqttClient.connect({ url: job.url, clientId: m.clientId, clean: true, keepaliveSeconds: 60, ...(job.ca ? { tls: { ca: job.ca, cert: m.cert!, key: m.key!, servername: 'localhost' } } : {}) }),
    ),
  );
  parentPort!.postMessage({ ready: true });
  await new Promise<void>((r) => parentPort!.once('message', () => r()));
  const start = performance.now();
  await Promise.all(job.meters.map((m, i) => Promise.all(m.frames.map((f) => clients[i]!.publish(m.topic, f)))));
  const ms = performance.now() - start;
  await Promise.all(clients.map((c) => c.close()));
  parentPort!.postMessage({ done: true, ms });
}

if (!isMainThread) {
  await publisher(workerData as PublisherJob);
} else {
  await main();
}

// ---- the head-end side ----

interface HeadEnd {
  store: Store;
  vault: SoftwareVault;
  pki: Pki;
  metering: Metering;
  bootstrap: BootstrapTokens;
  clock: FixedClock;
  close(): Promise<void>;
}

async function headEnd(dir: string, databaseUrl?: string): Promise<HeadEnd> {
  // Real time: Mosquitto checks certificate validity against it.
  const clock = new FixedClock(Date.now());
  const audit = new MemoryAudit();
  const store = await openStore({ dataDir: dir, databaseUrl });
  const vault = await SoftwareVault.open({ dataDir: join(dir, 'vault'), clock, logger: silentLogger(), audit, usageFlushMs: 0 });
  await vault.init({ actor: 'bench', tenant: null }, { shares: 1, threshold: 1 });
  await new Tenants({ store, clock, audit }).create({ id: 'utility', name: 'Utility' }, 'bench');
  const devices = new Devices({ store, clock, audit });
  const bootstrap = new BootstrapTokens({ store, clock, audit, devices, defaultTtlSeconds: 3600 });
  const pki = new Pki({ store, vault, clock, audit, devices, bootstrap });
  await pki.init('bench');
  // Readings span a day of meter time before "now": the skew allowance covers the simulated day.
  const metering = new Metering({ store, vault, audit, clock, pki, devices, settings: { ingest: { maxClockSkewMs: 3 * 86_400_000, verifyThreads: VERIFY_THREADS }, identityCacheMs: 1000 } });
  return {
    store,
    vault,
    pki,
    metering,
    bootstrap,
    clock,
    close: async () => {
      await metering.close();
      await vault.close();
      await store.close();
    },
  };
}

interface Fleet {
  meters: SimulatedMeter[];
  frames: Uint8Array[][];
  /** What a head-end needs to open the frames by hand (the floor). */
  keys: { publicKey: KeyObject; sessionKey: KeyObject }[];
}

async function fleet(h: HeadEnd, count: number, readings: number): Promise<Fleet> {
  // Meter time runs ahead of the head-end by up to readings × 15 min (within the skew allowance): the head-end certificates must be valid at the meter clock.
  const meterClock = new FixedClock(h.clock.now());
  const meters: SimulatedMeter[] = [];
  const keys: Fleet['keys'] = [];
  const info = await h.metering.keys.setup('utility', 'bench').then(() => h.metering.keys.headEndInfo('utility'));
  const tenantKeys = await h.metering.keys.get('utility');
  for (let i = 0; i < count; i++) {
    const id = `m-${String(i).padStart(5, '0')}`;
    await h.metering.meters.register({ tenant: 'utility', id, district: `d-${i % 10}`, class: 'residential', customer: { name: `Customer ${i}`, address: `${i} Bench Street`, protected: false } }, 'bench');
    const m = SimulatedMeter.open({ tenant: 'utility', meterId: id, storage: new MemoryMeterStorage(), clock: meterClock });
    m.generateIdentity();
    const token = await h.bootstrap.create('utility', 'utility', id, 'bench');
    m.installCertificate((await h.pki.enroll(m.csr(), token.token, id)).der);
    m.trustHeadEnd(info);
    const ke = m.establishKey();
    const r = await h.metering.ingest.submit('utility', id, ke);
    if (r.status !== 'stored') throw new Error(`key establishment of ${id}: ${JSON.stringify(r)}`);
    const body = decodeKeyEstablishment(parseUplinkFrame(ke).body);
    const sk = await h.vault.deriveKey(meteringCaller('utility'), tenantKeys.kaKeyId, { peerPublicKey: body.ephemeralPublicKey, salt: KDF_SALT, info: kdfInfo(m.systemTitle, body.ephemeralPublicKey, body.headEndKeyId), length: SESSION_KEY_LENGTH });
    keys.push({ publicKey: importSpkiPublicKey('P-256', m.publicKeySpki()), sessionKey: sessionKeyObject(sk) });
    m.setLoad(1000);
    meters.push(m);
  }
  const frames: Uint8Array[][] = meters.map(() => []);
  for (let k = 0; k < readings; k++) {
    meterClock.advance(900_000);
    meters.forEach((m, i) => {
      m.advance(900_000);
      frames[i]!.push(m.reading());
    });
  }
  return { meters, frames, keys };
}

function floorSync(f: Fleet, max: number): number {
  const work = f.frames.flatMap((list, i) => list.map((b) => [b, i] as const)).slice(0, max);
  const start = performance.now();
  for (const [b, i] of work) {
    const frame = parseUplinkFrame(b);
    if (!verifyUplinkSignature(frame, f.keys[i]!.publicKey)) throw new Error('floor: signature');
    openUplinkBody(frame, f.keys[i]!.sessionKey);
  }
  return (work.length * 1000) / (performance.now() - start);
}

async function floorPool(f: Fleet, max: number): Promise<number> {
  const work = f.frames.flatMap((list, i) => list.map((b) => [b, i] as const)).slice(0, max);
  const cryptoKeys = await Promise.all(f.keys.map((k) => k.publicKey.toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])));
  const start = performance.now();
  await Promise.all(
    work.map(async ([b, i]) => {
      const frame = parseUplinkFrame(b);
      if (!(await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, cryptoKeys[i]!, frame.signature, frame.signed))) throw new Error('floor: signature');
      openUplinkBody(frame, f.keys[i]!.sessionKey);
    }),
  );
  return (work.length * 1000) / (performance.now() - start);
}

async function runPublishers(job: PublisherJob): Promise<{ worker: Worker; go: () => Promise<number> }> {
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', () => resolve());
  });
  return {
    worker,
    go: () =>
      new Promise<number>((resolve, reject) => {
        worker.once('error', reject);
        worker.once('message', (m: { ms: number }) => resolve(m.ms));
        worker.postMessage('go');
      }),
  };
}

async function count(store: Store): Promise<number> {
  return Number((await store.db.selectFrom('meter_readings').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
}

async function embedded(tmp: string, nMeters: number, nReadings: number): Promise<{ perS: number; floorSync: number; floorPool: number; total: number; avgBatch: number; commitMs: number }> {
  const h = await headEnd(join(tmp, 'embedded'));
  try {
    const info = await h.metering.startTransport({ embedded: true, host: '127.0.0.1', port: 0, tls: false, url: undefined, clientId: 'bench' });
    const f = await fleet(h, nMeters, nReadings);
    const fs = floorSync(f, 4000);
    const fp = await floorPool(f, 8000);
    const job: PublisherJob = { url: info.url!, meters: f.meters.map((m, i) => ({ clientId: `utility:${m.meterId}`, topic: meterTopics('utility', m.meterId).up, frames: f.frames[i]! })) };
    const pubs = await runPublishers(job);
    const before = { ...h.metering.ingest.stats };
    const start = performance.now();
    await pubs.go();
    const ms = performance.now() - start;
    await pubs.worker.terminate();
    const total = nMeters * nReadings;
    const stored = await count(h.store);
    if (stored !== total) throw new Error(`embedded: ${stored} of ${total} readings stored`);
    const st = h.metering.ingest.stats;
    const batches = Math.max(1, st.batches - before.batches);
    return { perS: (total * 1000) / ms, floorSync: fs, floorPool: fp, total, avgBatch: (st.stored - before.stored) / batches, commitMs: (st.commitMs - before.commitMs) / batches };
  } finally {
    await h.close();
  }
}

async function mosquittoPg(tmp: string, nMeters: number, nReadings: number): Promise<number> {
  const { createTestDatabase } = await import('../test/helpers/pg.ts');
  const { startMosquitto } = await import('../test/metering/mosquitto-harness.ts');
  const db = await createTestDatabase();
  const h = await headEnd(join(tmp, 'pg'), db.url);
  try {
    const server = await h.pki.serverTls(['localhost', '127.0.0.1']);
    const ca = (await h.pki.trustBundle()).map((d) => toPem('CERTIFICATE', d)).join('');
    const ids = Array.from({ length: nMeters }, (_, i) => ({ tenant: 'utility', id: `m-${String(i).padStart(5, '0')}` }));
    const broker = await startMosquitto({ dir: join(tmp, 'mosquitto'), ca, cert: server.certPem, key: server.keyPem, acl: mosquittoAcl({ meters: ids }) });
    try {
      await h.metering.startTransport({ url: broker.url, clientId: 'citytrust-headend-bench', embedded: false, host: '127.0.0.1', port: 0, tls: false });
      const f = await fleet(h, nMeters, nReadings);
      const job: PublisherJob = {
        url: broker.url,
        ca,
        meters: f.meters.map((m, i) => ({ clientId: m.meterId, topic: meterTopics('utility', m.meterId).up, frames: f.frames[i]!, ...m.tlsIdentity() })),
      };
      const pubs = await runPublishers(job);
      const total = nMeters * nReadings;
      const start = performance.now();
      await pubs.go();
      while ((await count(h.store)) < total) await new Promise((r) => setTimeout(r, 20));
      const ms = performance.now() - start;
      await pubs.worker.terminate();
      return (total * 1000) / ms;
    } finally {
      await h.metering.close();
      await broker.stop();
    }
  } finally {
    await h.close();
    await db.drop();
  }
}

async function main(): Promise<void> {
  const nMeters = argValue('meters', 1000);
  const nReadings = argValue('readings', 10);
  const tmp = tempDir('citytrust-bench-metering-');
  try {
    const e = await embedded(tmp.dir, nMeters, nReadings);
    const figures: Record<string, number> = {
      readings_embedded_sqlite_per_s: e.perS,
      floor_verify_decrypt_main_thread_per_s: e.floorSync,
      floor_verify_decrypt_libuv_pool_per_s: e.floorPool,
    };
    const notes = [`${e.total} readings from ${nMeters} meters (${nReadings} each), one QoS 1 connection per meter in a worker thread; PUBACK only after the SQLite commit (synchronous=FULL); ${Math.round(e.avgBatch)} frames per commit on average, ${e.commitMs.toFixed(1)} ms per commit; signatures ${VERIFY_THREADS === 0 ? 'on the libuv pool (WebCrypto)' : `on ${VERIFY_THREADS} worker thread(s)`}`];
    const haveMosquitto = !process.argv.includes('--no-mosquitto') && spawnSync('mosquitto', ['-h']).error === undefined;
    if (haveMosquitto) {
      try {
        figures.readings_mosquitto_tls_postgres_per_s = await mosquittoPg(tmp.dir, nMeters, nReadings);
        notes.push('Mosquitto: mutual TLS, subject ACL; the head-end acks each frame to Mosquitto only after the PostgreSQL commit; timed until the last row is stored');
      } catch (err) {
        notes.push(`Mosquitto + PostgreSQL figure not measured: ${(err as Error).message}`);
      }
    } else notes.push('Mosquitto + PostgreSQL figure skipped (no mosquitto binary, or --no-mosquitto)');
    notes.push('goal: >= 5,000 readings/s embedded (2 M meters every 15 min average ~2,200/s)');
    report(
      {
        bench: 'metering',
        figures,
        ratios: {
          embedded_vs_pool_floor: e.perS / e.floorPool,
          embedded_vs_main_thread_floor: e.perS / e.floorSync,
          ...(figures.readings_mosquitto_tls_postgres_per_s ? { mosquitto_pg_vs_embedded: figures.readings_mosquitto_tls_postgres_per_s / e.perS } : {}),
        },
      },
      notes,
    );
  } finally {
    tmp.remove();
  }
}
