/** The device registry and bootstrap tokens (docs/pki.md). */
export { Devices, checkDeviceId, checkTenantId, type RegisterInput, type ListFilter } from './registry.ts';
export { BootstrapTokens, type CreatedBootstrapToken } from './bootstrap.ts';
export { DEVICE_STATES, DEVICE_TYPES, TRANSITIONS, DEVICE_ID, type Device, type DeviceState, type DeviceType, type DeviceCertificateHooks } from './types.ts';
