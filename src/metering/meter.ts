/**
 * citytrust/meter: the meter SDK, device-side. Frame formats (docs/meter-frames.md), the suite 1
 * cryptography, a simulated meter with persisted state, command verification, EST enrolment and
 * an MQTT client. It never imports server code (test/architecture/import-rule.test.ts).
 */
export {
  FRAME_VERSION,
  FRAME_TYPE,
  SC_ENCRYPTED,
  SC_SIGNED,
  SYSTEM_TITLE_LENGTH,
  KEY_ID_LENGTH,
  COMMAND_KEY_ID_LENGTH,
  COMMAND_ID_LENGTH,
  SIGNATURE_LENGTH,
  TAG_LENGTH,
  UPLINK_HEADER_LENGTH,
  COMMAND_HEADER_LENGTH,
  MAX_INVOCATION_COUNTER,
  PAYLOAD_LENGTH,
  MAX_CERTIFICATE_LENGTH,
  MAX_UPLINK_FRAME,
  MAX_COMMAND_FRAME,
  COMMAND_ACTIONS,
  ARGUMENT_LENGTH,
  parseUplinkFrame,
  encodeUplinkHeader,
  parseCommandFrame,
  encodeCommandToSign,
  type UplinkType,
  type UplinkHeader,
  type UplinkFrame,
  type CommandAction,
  type CommandFields,
  type CommandFrame,
} from './frame.ts';
export {
  STATUS,
  TAMPER_REASONS,
  ACK_RESULTS,
  encodeReading,
  decodeReading,
  encodeTamper,
  decodeTamper,
  encodeAck,
  decodeAck,
  encodeKeyEstablishment,
  decodeKeyEstablishment,
  encodeTariff,
  decodeTariff,
  encodeTimeSync,
  decodeTimeSync,
  type Registers,
  type Reading,
  type TamperReason,
  type TamperEvent,
  type AckResult,
  type CommandAck,
  type KeyEstablishment,
  type TariffArgument,
} from './payload.ts';
export {
  SESSION_KEY_LENGTH,
  KDF_SALT,
  systemTitleOf,
  sessionKeyId,
  publicKeyId,
  kdfInfo,
  deriveMeterSessionKey,
  gcmIv,
  buildUplink,
  verifyUplinkSignature,
  openUplinkBody,
  sessionKeyObject,
  type BuildUplinkOptions,
} from './suite.ts';
export { verifyCommand, ackResultFor, type CommandTrust } from './meter-command.ts';
export { validateHeadEndKey, type TrustedHeadEndKey } from './head-end-trust.ts';
export { createMeterCsr } from './csr.ts';
export { MemoryMeterStorage, FileMeterStorage, type MeterStorage, type PersistedMeterState, type HeadEndKeyRecord } from './meter-storage.ts';
export { SimulatedMeter, type SimulatedMeterOptions, type HeadEndInfo, type MeterPhase } from './simulated-meter.ts';
export { MeterMqttClient, type MeterMqttOptions } from './meter-mqtt.ts';
export { estEnroll, parseCertsOnly, type EstOptions, type EstResult } from './est.ts';
export { meterTopics, parseMeterTopic, isTenantId, isMeterId, UP_FILTER, DOWN_FILTER, type MeterTopics } from './topics.ts';
export { MeterUpdates, type MeterUpdatesOptions } from './firmware.ts';
