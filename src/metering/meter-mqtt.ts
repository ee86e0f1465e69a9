/**
 * The meter's MQTT link (device-side): a persistent session (clean session 0) to the broker,
 * frames published QoS 1 on the meter's up topic, commands received on its down topic and
 * answered with a signed ack. `send` resolves at PUBACK, which the head-end's brokers give
 * only once the frame is stored (embedded) or queued durably for the head-end (Mosquitto);
 * unacknowledged frames are resent after a reconnect, and the head-end stores each only once.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { CityTrustError } from '../core/errors.ts';
import type { AckResult, TamperReason } from './payload.ts';
import type { SimulatedMeter } from './simulated-meter.ts';
import { meterTopics } from './topics.ts';

export interface MeterMqttOptions {
  /** mqtt://host:port (embedded broker, development) or mqtts://host:port (mutual TLS). */
  readonly url: string;
  /** PEM of the CAs the broker's certificate chains to (mqtts). */
  readonly ca?: string;
  /** Default `<tenant>:<meter id>`, which is how the embedded broker without TLS names meters. */
  readonly clientId?: string;
  readonly keepaliveSeconds?: number;
  /** Called after each command the meter handled. */
  readonly onCommand?: (result: AckResult) => void;
}

export class MeterMqttClient {
  readonly meter: SimulatedMeter;
  readonly client: MqttClient;
  readonly #topics: { up: string; down: string };
  #commands: Promise<void>;
  #markReady: () => void = () => undefined;

  private constructor(meter: SimulatedMeter, client: MqttClient, onCommand?: (r: AckResult) => void) {
    this.meter = meter;
    this.client = client;
    this.#topics = meterTopics(meter.tenant, meter.meterId);
    // After a restart the meter has no session key until it re-establishes one, and a resumed
    // session delivers queued commands right after CONNACK: hold them until the ack can be sealed.
    this.#commands = meter.phase === 'ready' ? Promise.resolve() : new Promise<void>((r) => (this.#markReady = r));
    client.on('message', (topic, payload) => {
      if (topic !== this.#topics.down) return;
      // One command at a time, in arrival order: counters must be checked in sequence.
      this.#commands = this.#commands.then(async () => {
        try {
          const { ack, result } = meter.handleCommand(new Uint8Array(payload));
          await this.send(ack);
          onCommand?.(result);
        } catch {
          // A wiped or unprovisioned meter cannot answer; the head-end sees the command expire.
        }
      });
    });
  }

  static async connect(meter: SimulatedMeter, o: MeterMqttOptions): Promise<MeterMqttClient> {
    const tls = o.url.startsWith('mqtts:') ? { ...meter.tlsIdentity(), ...(o.ca ? { ca: o.ca } : {}), rejectUnauthorized: true } : {};
    const client = mqtt.connect(o.url, {
      clientId: o.clientId ?? `${meter.tenant}:${meter.meterId}`,
      clean: false,
      protocolVersion: 4,
      keepalive: o.keepaliveSeconds ?? 30,
      reconnectPeriod: 200,
      connectTimeout: 10_000,
      ...tls,
    });
    // Listen before the CONNACK: a resumed session delivers queued commands right behind it.
    const c = new MeterMqttClient(meter, client, o.onCommand);
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
    } catch (e) {
      await client.endAsync(true);
      throw new CityTrustError('METER_TRANSPORT_UNAVAILABLE', 'the meter cannot connect to the broker', { cause: e });
    }
    await client.subscribeAsync(c.#topics.down, { qos: 1 });
    return c;
  }

  /** Publishes a frame QoS 1; resolves at PUBACK. */
  async send(frame: Uint8Array): Promise<void> {
    await this.client.publishAsync(this.#topics.up, Buffer.from(frame), { qos: 1 });
  }

  async establishKey(): Promise<void> {
    await this.send(this.meter.establishKey());
    this.#markReady();
  }

  sendReading(): Promise<void> {
    return this.send(this.meter.reading());
  }

  /** The tamper switch: the signed event goes out, the meter's keys are already gone. */
  async tamper(reason: TamperReason): Promise<void> {
    const frame = this.meter.tamper(reason);
    if (frame) await this.send(frame);
  }

  /** Resolves when every command received so far was answered. */
  async idle(): Promise<void> {
    await this.#commands;
  }

  /**
   * Tears the link down at once. Frames whose `send` has not resolved are not acknowledged and
   * stay the caller's to send again (a real meter keeps them in its outbox).
   */
  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
