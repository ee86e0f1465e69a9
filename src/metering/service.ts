/**
 * Metering as the server wires it: tenant keys, the meter registry, ingest, commands, alerts,
 * and the MQTT transport — the embedded aedes broker, or an external broker (Mosquitto) that
 * the head-end joins as a client with a certificate from the city PKI.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import type { KeyVault } from '../vault/types.ts';
import type { Devices } from '../devices/registry.ts';
import type { Pki } from '../pki/pki.ts';
import { toPem } from '../pki/x509/der.ts';
import { EmbeddedBroker } from '../mqtt/broker.ts';
import { listAlerts, type Alert, type AlertFilter } from './alerts.ts';
import { MeterCommands, type CommandSettings, type CommandTransport } from './commands.ts';
import { PkiMeterIdentityResolver, type MeterIdentityResolver } from './identity.ts';
import { MeterIngest, type IngestSettings } from './ingest.ts';
import { MeteringKeys } from './keys.ts';
import { MqttHeadEnd } from './mqtt-headend.ts';
import { Meters } from './registry.ts';
import { createMeterCsr } from './csr.ts';
import { HEAD_END_DEVICE } from './mosquitto.ts';

export interface MeteringSettings {
  readonly ingest?: Partial<IngestSettings>;
  readonly commands?: Partial<CommandSettings>;
  readonly identityCacheMs?: number;
}

export interface TransportSettings {
  /** External broker (mqtt:// or mqtts://); when set the embedded broker is not started. */
  readonly url?: string | undefined;
  readonly clientId: string;
  readonly embedded: boolean;
  readonly host: string;
  readonly port: number;
  /** Embedded broker over TLS with client certificates from the city PKI. */
  readonly tls: boolean;
}

export interface StoredReading {
  readonly counter: number;
  readonly meterTime: number;
  readonly receivedAt: number;
  readonly importWh: number;
  readonly exportWh: number;
  readonly powerW: number;
  readonly status: number;
  readonly flags: readonly string[];
}

export interface TransportInfo {
  readonly kind: 'embedded' | 'external' | 'none';
  readonly url?: string;
}

export class Metering {
  readonly keys: MeteringKeys;
  readonly meters: Meters;
  readonly identity: MeterIdentityResolver;
  readonly ingest: MeterIngest;
  readonly commands: MeterCommands;
  readonly #store: Store;
  readonly #pki: Pki;
  readonly #logger: Logger | undefined;
  readonly #devices: Devices;
  #broker: EmbeddedBroker | undefined;
  /** External broker: one session per tenant, under that tenant's head-end identity. */
  readonly #external = new Map<string, Promise<MqttHeadEnd>>();
  #externalUrl: { url: string; clientId: string } | undefined;
  readonly #joined = new Map<string, MqttHeadEnd>();
  readonly #externalTransport: CommandTransport = ((m: Metering, joined: Map<string, MqttHeadEnd>) => ({
    get available() {
      return [...joined.values()].some((h) => h.available);
    },
    publish: async (tenant: string, meterId: string, frame: Uint8Array) => (await m.#joinExternal(tenant)).publish(tenant, meterId, frame),
  }))(this, this.#joined);

  constructor(deps: { store: Store; vault: KeyVault; audit: AuditSink; clock: Clock; logger?: Logger; pki: Pki; devices: Devices; settings?: MeteringSettings; identity?: MeterIdentityResolver }) {
    const { store, vault, audit, clock } = deps;
    this.#store = store;
    this.#pki = deps.pki;
    this.#logger = deps.logger;
    this.#devices = deps.devices;
    this.keys = new MeteringKeys({ store, vault, clock, audit, pki: deps.pki });
    // A tenant set up while an external broker is in use gets its head-end session at once, so
    // that its meters' first frames have a subscriber.
    this.keys.onSetup = async (tenant) => {
      if (this.#externalUrl) await this.#joinExternal(tenant).catch((e: unknown) => this.#logger?.warn({ err: e, tenant }, 'metering: joining the broker for a new tenant failed; retried on the next command'));
    };
    this.meters = new Meters({ store, clock, audit, keys: this.keys, devices: deps.devices });
    this.identity = deps.identity ?? new PkiMeterIdentityResolver({ pki: deps.pki, store, clock, cacheMs: deps.settings?.identityCacheMs ?? 1000 });
    const logger = deps.logger ? { logger: deps.logger } : {};
    this.ingest = new MeterIngest({ store, vault, keys: this.keys, identity: this.identity, audit, clock, devices: deps.devices, ...logger, ...(deps.settings?.ingest ? { settings: deps.settings.ingest } : {}) });
    this.commands = new MeterCommands({ store, vault, keys: this.keys, meters: this.meters, audit, clock, ...logger, ...(deps.settings?.commands ? { settings: deps.settings.commands } : {}) });
  }

  /** Starts the embedded broker or joins the external one; commands flow once this resolved. */
  async startTransport(t: TransportSettings): Promise<TransportInfo> {
    await this.commands.loadPending();
    if (t.url) {
      this.#externalUrl = { url: t.url, clientId: t.clientId };
      const tenants = await this.#store.db.selectFrom('metering_tenants').select('tenant_id').orderBy('tenant_id').execute();
      for (const r of tenants) await this.#joinExternal(r.tenant_id);
      this.commands.setTransport(this.#externalTransport);
      // Commands dispatched before a restart and not acknowledged yet go out again.
      void this.commands.resendPending().catch((e: unknown) => this.#logger?.warn({ err: e }, 'metering: re-sending pending commands failed'));
      return { kind: 'external', url: t.url };
    }
    if (!t.embedded) return { kind: 'none' };
    // The broker's certificate names what meters dial; the services CA constrains DNS names to its domains.
    const tls = t.tls ? await this.#pki.serverTls([...new Set(['localhost', '127.0.0.1', ...(/^\d+\.\d+\.\d+\.\d+$/.test(t.host) && t.host !== '0.0.0.0' ? [t.host] : [])])]) : undefined;
    this.#broker = await EmbeddedBroker.start({
      host: t.host,
      port: t.port,
      onUplink: (topic, payload) => this.ingest.submitTopic(topic, payload),
      // The embedded broker's sessions live in memory: after a restart, a meter gets its
      // unacknowledged commands again when it subscribes.
      onSubscribe: (id) => void this.commands.resendPending(id).catch((e: unknown) => this.#logger?.warn({ err: e, meter: id }, 'metering: re-sending pending commands failed')),
      ...(this.#logger ? { logger: this.#logger } : {}),
      ...(tls
        ? {
            tls: { key: tls.keyPem, cert: tls.certPem, ca: tls.caPem },
            authenticateCertificate: async (der: Uint8Array) => {
              const id = await this.#pki.authenticateClient(der);
              if (id.tenant === null || id.deviceId === null || id.profile !== 'meter') throw new CityTrustError('PKI_CLIENT_CERT_UNKNOWN', 'only meter certificates connect to the meter broker');
              return { tenant: id.tenant, meterId: id.deviceId };
            },
          }
        : {}),
    });
    this.commands.setTransport(this.#broker);
    return { kind: 'embedded', url: this.#broker.url };
  }

  /** The embedded broker, when running (tests connect meters to it). */
  get broker(): EmbeddedBroker | undefined {
    return this.#broker;
  }

  get transport(): CommandTransport | undefined {
    return this.#broker ?? (this.#externalUrl ? this.#externalTransport : undefined);
  }

  /** The tenant's session on the external broker (made once; a failed attempt is retried on the next call). */
  #joinExternal(tenant: string): Promise<MqttHeadEnd> {
    const s = this.#externalUrl;
    if (!s) return Promise.reject(new CityTrustError('METER_TRANSPORT_UNAVAILABLE', 'no external broker is configured'));
    let p = this.#external.get(tenant);
    if (!p) {
      p = (async () => {
        const tls = s.url.startsWith('mqtts:') ? await this.#clientTls(tenant) : undefined;
        return MqttHeadEnd.connect({
          url: s.url,
          clientId: `${s.clientId}-${tenant}`,
          filter: `city/${tenant}/meters/+/up`,
          ingest: this.ingest,
          ...(tls ? { tls } : {}),
          ...(this.#logger ? { logger: this.#logger } : {}),
        });
      })();
      this.#external.set(tenant, p);
      p.then(
        (h) => this.#joined.set(tenant, h),
        () => this.#external.get(tenant) === p && this.#external.delete(tenant),
      );
    }
    return p;
  }

  /**
   * A tenant head-end's client identity towards an external broker: the tenant's `head-end`
   * service device (registered here on first use) with a tls-client certificate for a key made
   * now and kept in memory only, as the server's own TLS key is. Its subject
   * `CN=head-end,OU=tls-client,O=<tenant>` is what the Mosquitto ACL grants the tenant's
   * head-end topics to; no other certificate has those rights.
   */
  async #clientTls(tenant: string): Promise<{ ca: string; cert: string; key: string }> {
    const device = await this.#devices.get(tenant, tenant, HEAD_END_DEVICE).catch((e: unknown) => {
      if (e instanceof CityTrustError && e.code === 'DEVICE_NOT_FOUND') return undefined;
      throw e;
    });
    if (device && device.type !== 'service') throw new CityTrustError('DEVICE_EXISTS', `device ${HEAD_END_DEVICE} of ${tenant} is a ${device.type}; the id is reserved for the metering head-end`);
    if (!device) await this.#devices.register({ tenant, id: HEAD_END_DEVICE, type: 'service', site: 'metering head-end', label: 'metering head-end (MQTT client)' }, 'system:metering');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const csr = createMeterCsr(privateKey, publicKey, HEAD_END_DEVICE);
    const issued = await this.#pki.issue(null, { csr, tenant, deviceId: HEAD_END_DEVICE, profile: 'tls-client' }, 'system:metering');
    const bundle = await this.#pki.trustBundle();
    return {
      ca: bundle.map((d) => toPem('CERTIFICATE', d)).join(''),
      cert: issued.certificatePem + issued.chainPem.join(''),
      key: String(privateKey.export({ type: 'pkcs8', format: 'pem' })),
    };
  }

  async readings(scope: string | null | undefined, tenant: string, meterId: string, f: { since?: number; limit?: number } = {}): Promise<StoredReading[]> {
    await this.meters.get(scope, tenant, meterId);
    let q = this.#store.db.selectFrom('meter_readings').selectAll().where('tenant_id', '=', tenant).where('meter_id', '=', meterId);
    if (f.since !== undefined) q = q.where('counter', '>', f.since);
    const rows = await q.orderBy('counter').limit(Math.min(Math.max(f.limit ?? 100, 1), 1000)).execute();
    return rows.map((r) => ({
      counter: Number(r.counter),
      meterTime: Number(r.meter_time),
      receivedAt: Number(r.received_at),
      importWh: Number(r.import_wh),
      exportWh: Number(r.export_wh),
      powerW: Number(r.power_w),
      status: Number(r.status),
      flags: r.flags === '' ? [] : r.flags.split(','),
    }));
  }

  async alerts(scope: string | null | undefined, tenant: string, f: AlertFilter = {}): Promise<Alert[]> {
    if (scope && scope !== tenant) return [];
    return listAlerts(this.#store, tenant, f);
  }

  async close(): Promise<void> {
    await this.#broker?.close();
    for (const p of this.#external.values()) await (await p.catch(() => undefined))?.close();
    this.#external.clear();
    this.#joined.clear();
    await this.ingest.close();
  }
}
