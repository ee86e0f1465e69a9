/**
 * A head-end on a fresh SQLite store, software vault and city PKI, and simulated meters
 * enrolled through it. Keys are made at test time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixedClock, type Clock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/log.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { Tenants } from '../../src/access/tenants.ts';
import { SoftwareVault } from '../../src/vault/index.ts';
import { Devices, BootstrapTokens } from '../../src/devices/index.ts';
import { Pki } from '../../src/pki/index.ts';
import { MeteringKeys } from '../../src/metering/keys.ts';
import { Meters } from '../../src/metering/registry.ts';
import { PkiMeterIdentityResolver } from '../../src/metering/identity.ts';
import { MeterIngest, type IngestSettings } from '../../src/metering/ingest.ts';
import type { KeyObject } from 'node:crypto';
import { fromBase64, fromHex } from '../../src/core/bytes.ts';
import { exportRawPublicKey, generateEphemeralKeyPair, generateKeyPair, importSpkiPublicKey, type KeyPair } from '../../src/crypto/index.ts';
import {
  MemoryMeterStorage,
  SimulatedMeter,
  buildUplink,
  createMeterCsr,
  deriveMeterSessionKey,
  encodeKeyEstablishment,
  kdfInfo,
  sessionKeyId,
  sessionKeyObject,
  systemTitleOf,
  type MeterStorage,
  type UplinkType,
} from '../../src/metering/meter.ts';
import type { MeterClass } from '../../src/metering/plausibility.ts';
import { MemoryAudit } from '../vault/helpers.ts';

export const T0 = Date.UTC(2026, 10, 22, 12);

export interface HeadEnd {
  store: Store;
  vault: SoftwareVault;
  audit: MemoryAudit;
  clock: FixedClock;
  tenants: Tenants;
  devices: Devices;
  bootstrap: BootstrapTokens;
  pki: Pki;
  keys: MeteringKeys;
  meters: Meters;
  identity: PkiMeterIdentityResolver;
  ingest: MeterIngest;
  dir: string;
  /** The one unseal share of the test vault. */
  unsealShare: string;
}

type After = { after: (fn: () => Promise<void> | void) => void };

export async function openHeadEnd(t: After, settings: Partial<IngestSettings> = {}, o: { databaseUrl?: string; identityCacheMs?: number; start?: number } = {}): Promise<HeadEnd> {
  const dir = mkdtempSync(join(tmpdir(), 'citytrust-metering-'));
  // Real TLS peers (Mosquitto, openssl) check certificate validity against the real clock: services tests start there.
  const clock = new FixedClock(o.start ?? T0);
  const audit = new MemoryAudit();
  const store = await openStore({ dataDir: dir, databaseUrl: o.databaseUrl });
  const vault = await SoftwareVault.open({ dataDir: join(dir, 'vault'), clock, logger: silentLogger(), audit, usageFlushMs: 0 });
  const { shares } = await vault.init({ actor: 'test', tenant: null }, { shares: 1, threshold: 1 });
  const tenants = new Tenants({ store, clock, audit });
  await tenants.create({ id: 'utility', name: 'Utility' }, 'test');
  await tenants.create({ id: 'water', name: 'Water' }, 'test');
  const devices = new Devices({ store, clock, audit });
  const bootstrap = new BootstrapTokens({ store, clock, audit, devices, defaultTtlSeconds: 3600 });
  const pki = new Pki({ store, vault, clock, audit, devices, bootstrap });
  await pki.init('test:admin');
  const keys = new MeteringKeys({ store, vault, clock, audit, pki });
  const meters = new Meters({ store, clock, audit, keys, devices });
  const identity = new PkiMeterIdentityResolver({ pki, store, clock, cacheMs: o.identityCacheMs ?? 0 });
  const ingest = new MeterIngest({ store, vault, keys, identity, audit, clock, logger: silentLogger(), settings, devices });
  t.after(async () => {
    await ingest.close().catch(() => undefined);
    await vault.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, vault, audit, clock, tenants, devices, bootstrap, pki, keys, meters, identity, ingest, dir, unsealShare: shares[0]! };
}

export interface MeterOptions {
  tenant?: string;
  district?: string;
  class?: MeterClass;
  protected?: boolean;
  storage?: MeterStorage;
  /** The meter's own oscillator (default: the head-end's clock). */
  clock?: Clock;
  /** Stop after registration and identity (no certificate). */
  enrol?: boolean;
}

/** Registers a meter, enrols it with a bootstrap token and pins the head-end keys. */
export async function provisionMeter(h: HeadEnd, id: string, o: MeterOptions = {}): Promise<SimulatedMeter> {
  const tenant = o.tenant ?? 'utility';
  await h.meters.register({ tenant, id, district: o.district ?? 'north', class: o.class ?? 'residential', customer: { name: `Customer ${id}`, address: `${id} Main Street`, protected: o.protected ?? false } }, 'test:operator');
  const m = SimulatedMeter.open({ tenant, meterId: id, storage: o.storage ?? new MemoryMeterStorage(), clock: o.clock ?? h.clock });
  m.generateIdentity();
  if (o.enrol === false) return m;
  const token = await h.bootstrap.create(tenant, tenant, id, 'test:operator');
  const issued = await h.pki.enroll(m.csr(), token.token, id);
  m.installCertificate(issued.der);
  m.trustHeadEnd(await h.keys.headEndInfo(tenant), [await cityRoot(h)]);
  return m;
}

/** The city root certificate (DER): what a meter is provisioned with. */
export async function cityRoot(h: HeadEnd): Promise<Uint8Array> {
  return (await h.pki.cas.all()).find((c) => c.purpose === 'root')!.certDer;
}

/** Provisions a meter and stores its key establishment. */
export async function readyMeter(h: HeadEnd, id: string, o: MeterOptions = {}): Promise<SimulatedMeter> {
  const m = await provisionMeter(h, id, o);
  const r = await h.ingest.submit(m.tenant, id, m.establishKey());
  if (r.status !== 'stored') throw new Error(`key establishment not stored: ${JSON.stringify(r)}`);
  return m;
}

/**
 * A meter whose keys the test holds, to build frames a correct meter never would (a wrong
 * session key under a valid signature, chosen counters, foreign certificates).
 */
export interface ManualMeter {
  readonly tenant: string;
  readonly id: string;
  readonly key: KeyPair;
  readonly certificate: Uint8Array;
  readonly systemTitle: Uint8Array;
  /** Builds a key establishment; returns the frame and the session key a correct head-end derives. */
  establish(counter: number, o?: { certificate?: Uint8Array; headEndKeyId?: Uint8Array }): Promise<{ frame: Uint8Array; sessionKey: KeyObject; keyId: Uint8Array }>;
  frame(type: UplinkType, counter: number, plaintext: Uint8Array, sessionKey: KeyObject, keyId: Uint8Array, o?: { systemTitle?: Uint8Array }): Uint8Array;
}

export async function manualMeter(h: HeadEnd, id: string, tenant = 'utility'): Promise<ManualMeter> {
  await h.meters.register({ tenant, id, district: 'north', class: 'residential', customer: { name: 'M', address: 'A', protected: false } }, 'test:operator');
  const key = generateKeyPair('P-256');
  const token = await h.bootstrap.create(tenant, tenant, id, 'test:operator');
  const issued = await h.pki.enroll(createMeterCsr(key.privateKey, key.publicKey, id), token.token, id);
  const systemTitle = systemTitleOf(tenant, id);
  const info = await h.keys.headEndInfo(tenant);
  const kaPub = importSpkiPublicKey('P-256', fromBase64(info.keyAgreement.spki));
  const build = (type: UplinkType, counter: number, plaintext: Uint8Array, sessionKey: KeyObject | undefined, keyId: Uint8Array, title = systemTitle) =>
    buildUplink({ type, systemTitle: title, counter, keyId, plaintext, signingKey: key.privateKey, ...(sessionKey ? { sessionKey } : {}) });
  return {
    tenant,
    id,
    key,
    certificate: issued.der,
    systemTitle,
    async establish(counter, o = {}) {
      const eph = generateEphemeralKeyPair();
      const ephPub = exportRawPublicKey(eph.publicKey);
      const headEndKeyId = o.headEndKeyId ?? fromHex(info.keyAgreement.keyId);
      const sessionKey = sessionKeyObject(deriveMeterSessionKey(eph.privateKey, kaPub, kdfInfo(systemTitle, ephPub, headEndKeyId)));
      const keyId = sessionKeyId(ephPub);
      const body = encodeKeyEstablishment({ ephemeralPublicKey: ephPub, headEndKeyId, time: h.clock.now(), certificate: o.certificate ?? issued.der });
      return { frame: build('keyEstablishment', counter, body, undefined, keyId), sessionKey, keyId };
    },
    frame: (type, counter, plaintext, sessionKey, keyId, o = {}) => build(type, counter, plaintext, sessionKey, keyId, o.systemTitle),
  };
}
