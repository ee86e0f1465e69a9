/**
 * The embedded MQTT broker (aedes) that `citytrust serve` starts for meter traffic when no
 * external broker is configured (docs/metering.md, transport).
 *
 * Meters publish frames on `city/<tenant>/meters/<id>/up` and receive commands on `…/down`,
 * QoS 1. A meter may publish only on its own up topic and subscribe only to its own down
 * topic. With TLS the meter is who its client certificate says (issued by the city PKI, mapped
 * to the device by `authenticateCertificate`); without TLS — development only — it names itself
 * in its client id `<tenant>:<meter>`, which authenticates nothing (frames are still signed
 * end to end, so a liar can only publish frames that fail verification).
 *
 * An uplink frame is handed to ingest before aedes sends PUBACK (aedes calls authorizePublish
 * before it acknowledges): the meter's PUBACK means the frame is durably stored. If ingest
 * cannot store it, the connection is closed unacknowledged and the meter sends it again.
 */
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { CityTrustError } from '../core/errors.ts';
import { meterTopics, parseMeterTopic } from '../metering/topics.ts';

export interface MeterIdentity {
  readonly tenant: string;
  readonly meterId: string;
}

export interface EmbeddedBrokerOptions {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  /** Serve MQTT over TLS and require client certificates. */
  readonly tls?: { readonly key: string; readonly cert: string; readonly ca: string };
  /** Maps a verified TLS client certificate (DER) to its meter; rejects to refuse the connection. */
  readonly authenticateCertificate?: (der: Uint8Array) => Promise<MeterIdentity>;
  /** A meter subscribed to its down topic (it connected or reconnected): commands it lacks can go out. */
  readonly onSubscribe?: (id: MeterIdentity) => void;
  /** Stores an uplink frame; PUBACK waits for it. */
  readonly onUplink: (topic: string, payload: Uint8Array) => Promise<unknown>;
  readonly logger?: Logger;
}

const CLIENT_ID = /^([a-z0-9][a-z0-9-]{1,38}[a-z0-9]):([a-z0-9][a-z0-9._-]{0,62})$/;

function refused(): Error & { returnCode: number } {
  // CONNACK return code 5: not authorised (MQTT 3.1.1 §3.2.2.3).
  return Object.assign(new Error('not authorised'), { returnCode: 5 });
}

export class EmbeddedBroker {
  readonly #aedes: Aedes;
  readonly #server: Server;
  readonly #identities = new WeakMap<Client, MeterIdentity>();
  readonly #o: EmbeddedBrokerOptions;
  readonly #sockets = new Set<Socket>();
  #open = false;
  url = '';

  private constructor(o: EmbeddedBrokerOptions, aedes: Aedes, server: Server) {
    this.#o = o;
    this.#aedes = aedes;
    this.#server = server;
  }

  static async start(o: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    const aedes = await Aedes.createBroker({ maxClientsIdLength: 128, heartbeatInterval: 3_600_000, drainTimeout: 30_000 });
    const server = o.tls
      ? createTlsServer({ key: o.tls.key, cert: o.tls.cert, ca: o.tls.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, aedes.handle)
      : createNetServer(aedes.handle);
    const b = new EmbeddedBroker(o, aedes, server);
    aedes.authenticate = (client, _u, _p, done) => {
      b.#authenticate(client).then(
        (id) => {
          b.#identities.set(client, id);
          done(null, true);
        },
        (e: unknown) => {
          o.logger?.warn({ err: e, clientId: client.id }, 'mqtt: connection refused');
          done(refused(), false);
        },
      );
    };
    aedes.authorizePublish = (client, packet, done) => b.#authorizePublish(client, packet, done);
    aedes.authorizeSubscribe = (client, sub, done) => {
      const id = b.#identities.get(client);
      if (!id || sub.topic !== meterTopics(id.tenant, id.meterId).down) return done(null, null);
      done(null, { ...sub, qos: sub.qos > 1 ? 1 : sub.qos });
    };
    aedes.on('subscribe', (subs, client) => {
      const id = client ? b.#identities.get(client) : undefined;
      if (id && subs.some((x) => x.topic === meterTopics(id.tenant, id.meterId).down)) o.onSubscribe?.(id);
    });
    aedes.on('clientError', (client, err) => o.logger?.debug({ err, clientId: client.id }, 'mqtt: client error'));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(o.port, o.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      await new Promise<void>((r) => aedes.close(() => r()));
      throw new CityTrustError('METER_TRANSPORT_UNAVAILABLE', `the embedded MQTT broker cannot listen on ${o.host}:${o.port}`, { cause: e });
    }
    const a = server.address() as AddressInfo;
    server.on(o.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      b.#sockets.add(socket);
      socket.once('close', () => b.#sockets.delete(socket));
    });
    b.url = `${o.tls ? 'mqtts' : 'mqtt'}://${o.host}:${a.port}`;
    b.#open = true;
    return b;
  }

  get available(): boolean {
    return this.#open;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Publishes a command frame to a meter's down topic, QoS 1 (held for a meter that is away). */
  publish(tenant: string, meterId: string, frame: Uint8Array): Promise<void> {
    if (!this.#open) return Promise.reject(new CityTrustError('METER_TRANSPORT_UNAVAILABLE', 'the embedded broker is closed'));
    const packet = { cmd: 'publish', topic: meterTopics(tenant, meterId).down, payload: Buffer.from(frame), qos: 1, retain: false, dup: false } as PublishPacket;
    return new Promise<void>((resolve, reject) => this.#aedes.publish(packet, (e) => (e ? reject(e) : resolve())));
  }

  /** Stops listening, closes every session and drops every connection (clients reconnect elsewhere or later). */
  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    await new Promise<void>((r) => this.#aedes.close(() => r()));
    // A client may have reconnected between the two; it must not keep the port open.
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  async #authenticate(client: Client): Promise<MeterIdentity> {
    if (this.#o.tls) {
      const der = (client.conn as TLSSocket).getPeerCertificate?.(false)?.raw;
      if (!der || !this.#o.authenticateCertificate) throw new CityTrustError('PKI_CLIENT_CERT_REQUIRED', 'a client certificate is required');
      return this.#o.authenticateCertificate(new Uint8Array(der));
    }
    const m = CLIENT_ID.exec(client.id);
    if (!m) throw new CityTrustError('INPUT_INVALID', 'without TLS, a meter connects with client id <tenant>:<meter id>');
    return { tenant: m[1]!, meterId: m[2]! };
  }

  #authorizePublish(client: Client | null, packet: PublishPacket, done: (e?: Error | null) => void): void {
    const id = client ? this.#identities.get(client) : undefined;
    // No wills, no QoS 0/2, no foreign topics: each closes the connection (MQTT-3.3.5-2).
    if (!id || packet.qos !== 1 || packet.topic !== meterTopics(id.tenant, id.meterId).up || !parseMeterTopic(packet.topic)) {
      done(new Error('not authorised to publish here'));
      return;
    }
    const payload = new Uint8Array(packet.payload as Buffer);
    this.#o.onUplink(packet.topic, payload).then(
      () => done(null),
      (e: unknown) => {
        this.#o.logger?.warn({ err: e, topic: packet.topic }, 'mqtt: frame not stored; closing the connection unacknowledged');
        done(e instanceof Error ? e : new Error('not stored'));
      },
    );
  }
}
