/**
 * The head-end on an external broker (Mosquitto, EMQX): one persistent MQTT session per tenant,
 * under that tenant's head-end identity, that subscribes to the tenant's meters' up topics and
 * publishes commands on their down topics. Each
 * frame is acknowledged to the broker only after ingest stored it (src/mqtt/client.ts), so the
 * broker keeps — and after a restart with persistence, still has — whatever is not stored yet.
 */
import type { Logger } from 'pino';
import { MqttClient, type MqttTlsOptions } from '../mqtt/client.ts';
import type { CommandTransport } from './commands.ts';
import type { MeterIngest } from './ingest.ts';
import { meterTopics, UP_FILTER } from './topics.ts';

export interface MqttHeadEndOptions {
  readonly url: string;
  readonly clientId: string;
  readonly tls?: MqttTlsOptions;
  readonly ingest: MeterIngest;
  readonly logger?: Logger;
  /** Up topics to subscribe to (default every tenant's: `city/+/meters/+/up`). */
  readonly filter?: string;
}

export class MqttHeadEnd implements CommandTransport {
  readonly client: MqttClient;

  private constructor(client: MqttClient) {
    this.client = client;
  }

  static async connect(o: MqttHeadEndOptions): Promise<MqttHeadEnd> {
    const client = await MqttClient.connect({
      url: o.url,
      clientId: o.clientId,
      clean: false,
      ...(o.tls ? { tls: o.tls } : {}),
      subscriptions: [o.filter ?? UP_FILTER],
      ...(o.logger ? { logger: o.logger } : {}),
      // Rejected and ignored frames are acknowledged too (their alert is stored); only a failed commit is not.
      onMessage: async (topic, payload) => {
        await o.ingest.submitTopic(topic, payload);
      },
    });
    return new MqttHeadEnd(client);
  }

  get available(): boolean {
    return this.client.connected;
  }

  publish(tenant: string, meterId: string, frame: Uint8Array): Promise<void> {
    return this.client.publish(meterTopics(tenant, meterId).down, frame);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
