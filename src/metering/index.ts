/**
 * Metering (docs/metering.md, docs/meter-frames.md): the head-end — meter registry, ingest,
 * alerts, commands and the blackout guard, MQTT transport — and, re-exported, the device-side
 * meter SDK (`citytrust/meter`, ./meter.ts).
 */
export * from './meter.ts';
export { Metering, type MeteringSettings, type TransportSettings, type TransportInfo, type StoredReading } from './service.ts';
export { MeteringKeys, meteringCaller, type TenantKeys } from './keys.ts';
export { Meters, checkDistrict, customerAad, type Meter, type Customer, type RegisterMeterInput } from './registry.ts';
export { PkiMeterIdentityResolver, identityKey, type MeterIdentityResolver, type VerifiedMeterCertificate, type IdentityKey, type IdentityStatus } from './identity.ts';
export { MeterIngest, DEFAULT_INGEST_SETTINGS, type IngestSettings, type IngestOutcome, type IngestStatus, type IngestStats } from './ingest.ts';
export { METER_CLASSES, PLAUSIBILITY_KINDS, checkMeterClass, checkReading, type MeterClass, type PlausibilityKind, type Anomaly, type PlausibilityRules, type PreviousReading } from './plausibility.ts';
export { ALERT_KINDS, isAlertKind, listAlerts, type Alert, type AlertKind, type AlertSeverity, type AlertFilter, type AlertInput } from './alerts.ts';
export { MeterCommands, DEFAULT_COMMAND_SETTINGS, MAX_COMMAND_METERS, type CommandSettings, type CommandTransport, type CommandInput, type CommandArgs, type CommandView, type CommandTarget } from './commands.ts';
export { DEFAULT_GUARD, budgetOf, checkGuard, type GuardSettings, type GuardVerdict } from './guard.ts';
export { MqttHeadEnd, type MqttHeadEndOptions } from './mqtt-headend.ts';
