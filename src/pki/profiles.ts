/**
 * Certificate profiles (docs/pki.md, profiles table). A profile decides everything a
 * certificate says — issuing CA, key usage, extended key usage, policy, subject, names and
 * validity. The CSR contributes only its public key.
 */
import { CityTrustError } from '../core/errors.ts';
import { EKU_CLIENT_AUTH, EKU_CODE_SIGNING, EKU_HEAD_END_COMMAND, EKU_HEAD_END_KEY_AGREEMENT, EKU_OCSP_SIGNING, EKU_SERVER_AUTH, POLICY_ARC } from './x509/oids.ts';
import type { KeyUsageName } from './x509/extensions.ts';
import type { PkiSettings } from './settings.ts';

export const PROFILES = ['reader', 'gate', 'vehicle', 'meter', 'tls-server', 'tls-client', 'code-signing', 'ocsp-signing', 'head-end', 'head-end-command'] as const;
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
  // A tenant's metering head-end keys live in the vault (no CSR: the ECDH key cannot sign one);
  // the meters CA certifies them so that a meter validates them offline against the city root.
  'head-end': { name: 'head-end', ca: 'meters', keyUsage: ['keyAgreement'], eku: [EKU_HEAD_END_KEY_AGREEMENT], policy: `${POLICY_ARC}.9`, deviceTypes: [], validityDays: (s) => s.deviceCertDays },
  'head-end-command': { name: 'head-end-command', ca: 'meters', keyUsage: DS, eku: [EKU_HEAD_END_COMMAND], policy: `${POLICY_ARC}.10`, deviceTypes: [], validityDays: (s) => s.deviceCertDays },
};

/**
 * Profiles certified for a key held in the vault (`Pki.issueForVaultKey`), with the vault
 * usage the key must have: a key-agreement certificate for a key that cannot derive, or a
 * command certificate for a key that cannot sign, would certify a purpose the key lacks.
 */
export const VAULT_KEY_PROFILES: Readonly<Partial<Record<ProfileName, { readonly usage: 'derive' | 'sign'; readonly keyTypes: readonly string[] }>>> = {
  'head-end': { usage: 'derive', keyTypes: ['ec-p256', 'ec-p384'] },
  'head-end-command': { usage: 'sign', keyTypes: ['ec-p256', 'ec-p384', 'ed25519'] },
};

/** Profiles an operator can name (the OCSP signer is issued by the responder itself). */
export const OPERATOR_PROFILES: readonly ProfileName[] = PROFILES.filter((p) => p !== 'ocsp-signing');

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
    throw new CityTrustError('PKI_PROFILE_UNKNOWN', `unknown profile; use one of ${OPERATOR_PROFILES.join(', ')}`);
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

/**
 * The SAN of a tenant's metering head-end certificates (both profiles): the service is named,
 * the profile (KU, EKU, policy) says which of its keys this is.
 */
export function headEndUrn(tenant: string): string {
  return `urn:citytrust:service:${tenant}:head-end`;
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
