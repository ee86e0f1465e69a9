/**
 * What a citytrust reader certificate says about its holder, read from the leaf with the PKI's own
 * device-side parser (src/pki/validate-cert.ts; it decodes the UUID policy arcs that generic ASN.1
 * libraries garble): the P-256 key, the tenant and reader id from the device URN, the site from
 * the site URN when the certificate carries one, and the profile from the certificate policy.
 * Reading is not trusting: these facts count only after the chain validated
 * (CityReaderAuthenticator) or when the key is pinned (PinnedReaderAuthenticator).
 */
import type { KeyObject } from 'node:crypto';
import { isCityTrustError } from '../../core/errors.ts';
import { importSpkiPublicKey } from '../../crypto/index.ts';
import { profileForPolicy } from '../../pki/profiles.ts';
import { parseCertificate, type ParsedCert } from '../../pki/validate-cert.ts';
import { tapError } from '../../tap/errors.ts';

export const DEVICE_URN_PREFIX = 'urn:citytrust:device:';
export const SITE_URN_PREFIX = 'urn:citytrust:site:';
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SITE = /^[A-Za-z0-9._~-]{1,64}$/;

export interface ReaderCertificateFacts {
  readonly publicKey: KeyObject;
  readonly tenant: string;
  readonly readerId: string;
  readonly site?: string;
  readonly profile: 'reader' | 'gate';
  /** Milliseconds since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
}

function untrusted(message: string, cause?: unknown): never {
  throw tapError('TAP_READER_UNTRUSTED', message, cause);
}

/** `urn:citytrust:site:<tenant>:<site>`: the SAN that binds a reader to a site. */
export function siteUrn(tenant: string, site: string): string {
  return `${SITE_URN_PREFIX}${tenant}:${site}`;
}

function parse(der: Uint8Array): { cert: ParsedCert; publicKey: KeyObject } {
  let cert: ParsedCert;
  try {
    cert = parseCertificate(der);
  } catch (e) {
    return untrusted('the reader certificate is not DER X.509', e);
  }
  try {
    return { cert, publicKey: importSpkiPublicKey('P-256', cert.spkiDer) };
  } catch (e) {
    return untrusted('the reader key is not a P-256 key', isCityTrustError(e) ? e : undefined);
  }
}

/** Only the leaf's P-256 key (pinned readers need nothing else). */
export function certificateKey(der: Uint8Array): KeyObject {
  return parse(der).publicKey;
}

export function readerCertificateFacts(der: Uint8Array): ReaderCertificateFacts {
  const { cert, publicKey } = parse(der);
  const profile = cert.policies.map(profileForPolicy).find((p) => p === 'reader' || p === 'gate');
  if (profile !== 'reader' && profile !== 'gate') untrusted('the certificate is not issued for the reader or gate profile');
  const uris = [...(cert.san ?? [])].map((g) => g.uniformResourceIdentifier).filter((u): u is string => u !== undefined);
  const devices = uris.filter((u) => u.startsWith(DEVICE_URN_PREFIX)).map((u) => u.slice(DEVICE_URN_PREFIX.length).split(':'));
  if (devices.length !== 1 || devices[0]!.length !== 2 || !devices[0]!.every((x) => ID.test(x))) untrusted('the certificate names no single device (urn:citytrust:device:<tenant>:<id>)');
  const [tenant, readerId] = devices[0] as [string, string];
  const sites = uris.filter((u) => u.startsWith(SITE_URN_PREFIX)).map((u) => u.slice(SITE_URN_PREFIX.length).split(':'));
  if (sites.length > 1) untrusted('the certificate names more than one site');
  let site: string | undefined;
  if (sites.length === 1) {
    const s = sites[0] as string[];
    if (s.length !== 2 || s[0] !== tenant || !SITE.test(s[1] as string)) untrusted('the site URN is not urn:citytrust:site:<tenant>:<site> of the device tenant');
    site = s[1];
  }
  return { publicKey, tenant, readerId, profile, ...(site !== undefined && { site }), notBefore: cert.notBefore, notAfter: cert.notAfter };
}
