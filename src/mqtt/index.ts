/**
 * MQTT for meter traffic (docs/metering.md, transport): the embedded aedes broker that
 * `citytrust serve` starts, and the head-end's QoS 1 client for external brokers (Mosquitto)
 * that acknowledges a message only once its handler has stored it.
 */
export { EmbeddedBroker, type EmbeddedBrokerOptions, type MeterIdentity } from './broker.ts';
export { MqttClient, type MqttClientOptions, type MqttTlsOptions } from './client.ts';
