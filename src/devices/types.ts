/** The device registry's vocabulary (docs/pki.md, device registry and lifecycle). */
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';
import { DEVICE_TYPES, type DeviceType } from '../pki/profiles.ts';

export { DEVICE_TYPES, type DeviceType };

export const DEVICE_STATES = ['pending', 'active', 'suspended', 'compromised', 'retired'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

export interface Device {
  readonly tenant: string;
  readonly id: string;
  readonly type: DeviceType;
  readonly site: string;
  readonly label: string;
  readonly state: DeviceState;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** What the device last reported as installed, artifact name → version (signed install reports, docs/updates.md). */
  readonly firmware: Readonly<Record<string, string>>;
  /** When that report was received; null before the first one. */
  readonly firmwareReportedAt: number | null;
}

/**
 * What the registry asks of the PKI when a device changes state, inside the same
 * transaction as the state change; the returned function runs after the commit (cache
 * invalidation, CRL regeneration, audit of each certificate).
 */
export interface DeviceCertificateHooks {
  applyDeviceState(trx: Transaction<Database>, device: Device, to: DeviceState, actor: string): Promise<() => Promise<void>>;
}

/** Allowed transitions; `compromised` and `retired` are final. */
export const TRANSITIONS: Readonly<Record<DeviceState, readonly DeviceState[]>> = {
  pending: ['active', 'suspended', 'compromised', 'retired'],
  active: ['suspended', 'compromised', 'retired'],
  suspended: ['active', 'compromised', 'retired'],
  compromised: [],
  retired: [],
};

/** Device ids appear in URNs, subjects and topics: a safe, stable alphabet. */
export const DEVICE_ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;
