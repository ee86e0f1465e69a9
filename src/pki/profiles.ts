/**
 * Certificate profiles (docs/pki.md, profiles table). A profile decides everything a
 * certificate says — issuing CA, key usage, extended key usage, policy, subject, names and
 * validity. The CSR contributes only its public key.
 */
import { CityTrustError } from '../core/errors.ts';
import { EKU_CLIENT_AUTH, EKU_CODE_SIGNING, EKU_OCSP_SIGNING, EKU_SERVER_AUTH, POLICY_ARC } from './x509/oids.ts';
import type { KeyUsageName } from './x509/extensions.ts';
import type { PkiSettings } from './settings.ts';

export const PROFILES = ['reader', 'gate', 'vehicle', 'meter', 'tls-server', 'tls-client', 'code-signing', 'ocsp-signing'] as const;
export type ProfileName = (typeof PROFILES)[number];

/** Issuing CAs by purpose; `root` signs only them. */
export const CA_PURPOSES = ['root', 'readers', 'vehicles', 'meters', 'services', 'code-signing'] as const;
export type CaPurpose = (typeof CA_PURPOSES)[number];
export const ISSUING_PURPOSES: readonly Exclude<CaPurpose, 'root'>[] = ['readers', 'vehicles', 'meters', 'services', 'code-signing'];

export const DEVICE_TYPES = ['reader', 'gate', 'vehicle', 'meter', 'service', 'server', 'signer'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export interface Profile {
  readonly name: ProfileName;
  readonly ca: Exclude<CaPurpose, 'root'> | 'issuing';
  readonly keyUsage: readonly KeyUsageName[];
  readonly eku: readonly string[];
  /** citytrust certificate policy OID naming the profile (docs/pki.md). */
  readonly policy: string;
  /** Device types allowed to hold a certificate of this profile (none: city-only). */
  readonly deviceTypes: readonly DeviceType[];
  readonly validityDays: (s: PkiSettings) => number;
}

const DS: readonly KeyUsageName[] = ['digitalSignature'];

export const PROFILE_TABLE: Readonly<Record<ProfileName, Profile>> = {
  reader: { name: 'reader', ca: 'readers', keyUsage: DS, eku: [EKU_CLIENT_AUTH], policy: `${POLICY_ARC}.1`, deviceTypes: ['reader'], validityDays: (s) => s.deviceCertDays },
  gate: { name: 'gate', ca: 'readers', keyUsage: DS, eku: [EKU_CLIENT_AUTH], policy: `${POLICY_ARC}.2`, deviceTypes: ['gate'], validityDays: (s) => s.deviceCertDays },
  vehicle: { name: 'vehicle', ca: 'vehicles', keyUsage: DS, eku: [EKU_CLIENT_AUTH], policy: `${POLICY_ARC}.3`, deviceTypes: ['vehicle'], validityDays: (s) => s.deviceCertDays },
  meter: { name: 'meter', ca: 'meters', keyUsage: DS, eku: [EKU_CLIENT_AUTH], policy: `${POLICY_ARC}.4`, deviceTypes: ['meter'], validityDays: (s) => s.deviceCertDays },
  'tls-server': { name: 'tls-server', ca: 'services', keyUsage: DS, eku: [EKU_SERVER_AUTH], policy: `${POLICY_ARC}.5`, deviceTypes: ['server'], validityDays: (s) => s.serviceCertDays },
  'tls-client': { name: 'tls-client', ca: 'services', keyUsage: DS, eku: [EKU_CLIENT_AUTH], policy: `${POLICY_ARC}.6`, deviceTypes: ['service'], validityDays: (s) => s.serviceCertDays },
  'code-signing': { name: 'code-signing', ca: 'code-signing', keyUsage: DS, eku: [EKU_CODE_SIGNING], policy: `${POLICY_ARC}.7`, deviceTypes: ['signer'], validityDays: (s) => s.codeSigningCertDays },
  // Issued by each issuing CA to its own delegated responder (RFC 6960 §4.2.2.2).
  'ocsp-signing': { name: 'ocsp-signing', ca: 'issuing', keyUsage: DS, eku: [EKU_OCSP_SIGNING], policy: `${POLICY_ARC}.8`, deviceTypes: [], validityDays: (s) => s.ocspSignerDays },
};

/** The profile a device type enrols with. */
export const DEVICE_PROFILE: Readonly<Record<DeviceType, ProfileName>> = {
  reader: 'reader',
  gate: 'gate',
  vehicle: 'vehicle',
  meter: 'meter',
  service: 'tls-client',
  server: 'tls-server',
  signer: 'code-signing',
};

export function profileByName(name: unknown): Profile {
  if (typeof name !== 'string' || !(PROFILES as readonly string[]).includes(name)) {
    throw new CityTrustError('PKI_PROFILE_UNKNOWN', `unknown profile; use one of ${PROFILES.filter((p) => p !== 'ocsp-signing').join(', ')}`);
  }
  return PROFILE_TABLE[name as ProfileName];
}

export function profileForPolicy(oid: string): ProfileName | undefined {
  return PROFILES.find((p) => PROFILE_TABLE[p].policy === oid);
}

/** The SAN every device certificate carries: `urn:citytrust:device:<tenant>:<device-id>`. */
export function deviceUrn(tenant: string, deviceId: string): string {
  return `urn:citytrust:device:${tenant}:${deviceId}`;
}

const DNS = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Lower-case DNS name, no wildcard, no trailing dot; else PKI_NAME_INVALID. */
export function checkDnsName(n: unknown): string {
  if (typeof n !== 'string' || !DNS.test(n.toLowerCase())) throw new CityTrustError('PKI_NAME_INVALID', 'a DNS name must be lower-case labels of a–z, 0–9 and inner hyphens (no wildcards)');
  return n.toLowerCase();
}

/** IPv4 dotted quad (IPv6 SANs are not issued yet). */
export function checkIp(n: unknown): string {
  if (typeof n !== 'string' || !IPV4.test(n)) throw new CityTrustError('PKI_NAME_INVALID', 'an IP address must be an IPv4 dotted quad');
  return n;
}

/** RFC 5280 §4.2.1.10: a dNSName is within a constraint when it equals it or ends with "." + it. */
export function dnsWithin(name: string, constraint: string): boolean {
  const c = constraint.replace(/^\./, '');
  return name === c || name.endsWith(`.${c}`);
}
