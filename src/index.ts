/**
 * citytrust. Domains are also available as subpath exports: citytrust/core, citytrust/crypto,
 * citytrust/audit, and the device SDKs citytrust/reader, citytrust/wallet, citytrust/meter.
 */
export * as core from './core/index.ts';
export * as crypto from './crypto/index.ts';
export * as audit from './audit/index.ts';
export * as vault from './vault/index.ts';
export { CityTrustError, isCityTrustError, type ErrorCode } from './core/errors.ts';
