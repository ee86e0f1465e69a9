/**
 * A small MQTT 3.1.1 client for the head-end (OASIS MQTT 3.1.1), QoS 1 only, on the
 * mqtt-packet codec. It exists for one property the usual clients do not have: incoming QoS 1
 * messages are handled concurrently and each is acknowledged (PUBACK, §3.4) only when its
 * handler has resolved — i.e. once the frame is durably stored — while the next messages keep
 * flowing. A handler that fails leaves its message unacknowledged and drops the connection:
 * the broker redelivers it, with DUP set, when the session resumes (§4.4), so nothing is lost.
 *
 * Sessions are persistent (clean session 0) so that a broker holds QoS 1 messages while the
 * head-end is away; outgoing QoS 1 publishes are resent with DUP after a reconnect until acked.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import { CityTrustError } from '../core/errors.ts';

export interface MqttTlsOptions {
  /** PEM of the CAs the broker certificate must chain to. */
  readonly ca: string;
  /** Client certificate chain and key (mutual TLS). */
  readonly cert?: string;
  readonly key?: string;
  readonly servername?: string;
}

export interface MqttClientOptions {
  /** mqtt://host:port or mqtts://host:port */
  readonly url: string;
  readonly clientId: string;
  /** Default false: a persistent session. */
  readonly clean?: boolean;
  readonly keepaliveSeconds?: number;
  readonly tls?: MqttTlsOptions;
  readonly username?: string;
  readonly password?: Uint8Array;
  /** QoS 1 subscriptions, (re)made on every connection. */
  readonly subscriptions?: readonly string[];
  /** Resolve to acknowledge the message; reject to have it redelivered. */
  readonly onMessage?: (topic: string, payload: Uint8Array, dup: boolean) => Promise<void>;
  readonly logger?: Logger;
  /** Longest wait between reconnection attempts (ms). */
  readonly maxReconnectMs?: number;
}

interface Outgoing {
  readonly packet: IPublishPacket;
  resolve(): void;
  reject(e: unknown): void;
}

export class MqttClient {
  readonly #o: MqttClientOptions;
  readonly #url: URL;
  #socket: Socket | TLSSocket | undefined;
  #connected = false;
  #closing = false;
  #nextId = 1;
  readonly #outgoing = new Map<number, Outgoing>();
  #pingTimer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #backoff = 100;
  #firstConnect: { resolve(): void; reject(e: unknown): void } | undefined;
  /** Connections made so far (a test can watch a reconnect). */
  connections = 0;

  private constructor(o: MqttClientOptions) {
    this.#o = o;
    this.#url = new URL(o.url);
    if (this.#url.protocol !== 'mqtt:' && this.#url.protocol !== 'mqtts:') throw new CityTrustError('CONFIG_INVALID', 'an MQTT URL starts with mqtt:// or mqtts://', { details: { key: 'mqtt.url' } });
    if (this.#url.protocol === 'mqtts:' && !o.tls) throw new CityTrustError('CONFIG_INVALID', 'mqtts:// needs the TLS trust anchors', { details: { key: 'mqtt.tls' } });
  }

  /** Connects and subscribes; resolves once the first SUBACK (or CONNACK without subscriptions) arrived. */
  static async connect(o: MqttClientOptions): Promise<MqttClient> {
    const c = new MqttClient(o);
    await new Promise<void>((resolve, reject) => {
      c.#firstConnect = { resolve, reject };
      c.#open();
    });
    return c;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** QoS 1 publish; resolves at the broker's PUBACK (after reconnects, if need be). */
  publish(topic: string, payload: Uint8Array): Promise<void> {
    if (this.#closing) return Promise.reject(new CityTrustError('UNAVAILABLE', 'the MQTT client is closed'));
    return new Promise<void>((resolve, reject) => {
      const messageId = this.#allocateId();
      const packet: IPublishPacket = { cmd: 'publish', topic, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), qos: 1, retain: false, dup: false, messageId };
      this.#outgoing.set(messageId, { packet, resolve, reject });
      if (this.#connected) this.#send(packet);
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#pingTimer);
    for (const o of this.#outgoing.values()) o.reject(new CityTrustError('UNAVAILABLE', 'the MQTT client closed'));
    this.#outgoing.clear();
    const s = this.#socket;
    if (!s || s.destroyed) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      if (this.#connected) s.end(mqttPacket.generate({ cmd: 'disconnect' }));
      else s.destroy();
      setTimeout(() => s.destroy(), 1000).unref();
    });
  }

  #allocateId(): number {
    for (let i = 0; i < 65535; i++) {
      const id = this.#nextId;
      this.#nextId = id === 65535 ? 1 : id + 1;
      if (!this.#outgoing.has(id)) return id;
    }
    throw new CityTrustError('UNAVAILABLE', 'too many unacknowledged publishes');
  }

  #send(p: Packet): void {
    const s = this.#socket;
    if (s && !s.destroyed) s.write(mqttPacket.generate(p));
  }

  #open(): void {
    const port = Number(this.#url.port || (this.#url.protocol === 'mqtts:' ? 8883 : 1883));
    const host = this.#url.hostname;
    const t = this.#o.tls;
    const socket = t
      ? tlsConnect({ host, port, ca: t.ca, ...(t.cert ? { cert: t.cert } : {}), ...(t.key ? { key: t.key } : {}), ...(t.servername || !isIP(host) ? { servername: t.servername ?? host } : {}) })
      : netConnect({ host, port });
    this.#socket = socket;
    socket.setNoDelay(true);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => this.#onPacket(p));
    parser.on('error', (e: Error) => {
      this.#o.logger?.warn({ err: e }, 'mqtt: protocol error; reconnecting');
      socket.destroy();
    });
    socket.on(t ? 'secureConnect' : 'connect', () => {
      this.#send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: this.#o.clientId,
        clean: this.#o.clean ?? false,
        keepalive: this.#o.keepaliveSeconds ?? 30,
        ...(this.#o.username !== undefined ? { username: this.#o.username } : {}),
        ...(this.#o.password !== undefined ? { password: Buffer.from(this.#o.password) } : {}),
      });
    });
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('error', (e: Error) => {
      if (this.#firstConnect) {
        this.#firstConnect.reject(new CityTrustError('METER_TRANSPORT_UNAVAILABLE', `cannot reach the MQTT broker at ${this.#url.host}`, { cause: e }));
        this.#firstConnect = undefined;
        this.#closing = true;
      } else this.#o.logger?.warn({ err: e }, 'mqtt: connection error');
    });
    socket.on('close', () => this.#onClose());
  }

  #onClose(): void {
    this.#connected = false;
    clearInterval(this.#pingTimer);
    if (this.#firstConnect) {
      // Closed before the first CONNACK (e.g. the broker refused our certificate): report it, do not retry.
      this.#firstConnect.reject(new CityTrustError('METER_TRANSPORT_UNAVAILABLE', `the MQTT broker at ${this.#url.host} closed the connection before accepting it`));
      this.#firstConnect = undefined;
      this.#closing = true;
    }
    if (this.#closing) return;
    const wait = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, this.#o.maxReconnectMs ?? 5000);
    this.#reconnectTimer = setTimeout(() => this.#open(), wait);
  }

  #onPacket(p: Packet): void {
    switch (p.cmd) {
      case 'connack': {
        if (p.returnCode !== 0) {
          const err = new CityTrustError('METER_TRANSPORT_UNAVAILABLE', `the MQTT broker refused the connection (return code ${p.returnCode})`);
          this.#o.logger?.error({ returnCode: p.returnCode }, 'mqtt: connection refused');
          if (this.#firstConnect) {
            this.#firstConnect.reject(err);
            this.#firstConnect = undefined;
            this.#closing = true;
          }
          this.#socket?.destroy();
          return;
        }
        this.#connected = true;
        this.connections++;
        this.#backoff = 100;
        const keepalive = (this.#o.keepaliveSeconds ?? 30) * 1000;
        this.#pingTimer = setInterval(() => this.#send({ cmd: 'pingreq' }), keepalive / 2);
        this.#pingTimer.unref();
        // MQTT-4.4.0-1: unacknowledged publishes are resent with DUP on a resumed session.
        for (const o of this.#outgoing.values()) this.#send({ ...o.packet, dup: this.connections > 1 });
        const subs = this.#o.subscriptions ?? [];
        if (subs.length > 0) {
          this.#send({ cmd: 'subscribe', messageId: this.#allocateSubscribeId(), subscriptions: subs.map((topic) => ({ topic, qos: 1 })) });
        } else this.#ready();
        return;
      }
      case 'suback':
        if ((p.granted as unknown[]).some((g) => g === 128 || (typeof g === 'object' && g !== null && (g as { qos?: number }).qos === 128))) {
          this.#o.logger?.error({ granted: p.granted }, 'mqtt: the broker refused a subscription');
          if (this.#firstConnect) {
            this.#firstConnect.reject(new CityTrustError('METER_TRANSPORT_UNAVAILABLE', 'the MQTT broker refused the subscription (check the ACL)'));
            this.#firstConnect = undefined;
            this.#closing = true;
            this.#socket?.destroy();
            return;
          }
        }
        this.#ready();
        return;
      case 'puback': {
        const o = this.#outgoing.get(p.messageId!);
        if (o) {
          this.#outgoing.delete(p.messageId!);
          o.resolve();
        }
        return;
      }
      case 'publish':
        this.#onPublish(p);
        return;
      default:
        return;
    }
  }

  #subscribeId = 0;
  #allocateSubscribeId(): number {
    // Subscribe ids only need to differ from in-flight publishes; keep them out of the publish range's way.
    this.#subscribeId = (this.#subscribeId % 1000) + 1;
    return 65535 - this.#subscribeId;
  }

  #ready(): void {
    if (this.#firstConnect) {
      this.#firstConnect.resolve();
      this.#firstConnect = undefined;
    }
  }

  #onPublish(p: IPublishPacket): void {
    const socket = this.#socket;
    const payload = new Uint8Array(p.payload as Buffer);
    const handler = this.#o.onMessage;
    const ack = () => {
      // Only on the connection the message came in on: after a reconnect the broker redelivers it anyway.
      if (p.qos > 0 && socket && socket === this.#socket && !socket.destroyed) socket.write(mqttPacket.generate({ cmd: 'puback', messageId: p.messageId! }));
    };
    if (!handler) {
      ack();
      return;
    }
    handler(p.topic, payload, p.dup).then(ack, (e: unknown) => {
      this.#o.logger?.warn({ err: e, topic: p.topic }, 'mqtt: message not stored; dropping the connection so the broker redelivers it');
      socket?.destroy();
    });
  }
}
