/**
 * What a citytrust reader certificate says about its holder, read from the leaf (docs/tap-protocol.md
 * §4.2): the P-256 key, the tenant and reader id from the device URN, the site from the site URN when
 * the certificate carries one, and the profile from the certificate policy. Reading is not
 * trusting: these facts count only after the chain validated (X509ReaderAuthenticator) or when the
 * key is pinned (PinnedReaderAuthenticator).
 */
import type { KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CertificatePolicies, SubjectAlternativeName, id_ce_certificatePolicies, id_ce_subjectAltName } from '@peculiar/asn1-x509';
import { isCityTrustError } from '../../core/errors.ts';
import { importSpkiPublicKey } from '../../crypto/index.ts';
import { POLICY_ARC } from '../../pki/x509/oids.ts';
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

/** `urn:citytrust:site:<tenant>:<site>`: the SAN that binds a reader to a site (requested from the PKI). */
export function siteUrn(tenant: string, site: string): string {
  return `${SITE_URN_PREFIX}${tenant}:${site}`;
}

function parse(der: Uint8Array): { cert: Certificate; publicKey: KeyObject } {
  let cert: Certificate;
  try {
    cert = AsnConvert.parse(der, Certificate);
  } catch (e) {
    return untrusted('the reader certificate is not DER X.509', e);
  }
  try {
    return { cert, publicKey: importSpkiPublicKey('P-256', new Uint8Array(AsnConvert.serialize(cert.tbsCertificate.subjectPublicKeyInfo))) };
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
  const tbs = cert.tbsCertificate;
  const uris: string[] = [];
  let profile: 'reader' | 'gate' | undefined;
  for (const ext of tbs.extensions ?? []) {
    try {
      if (ext.extnID === id_ce_subjectAltName) {
        for (const g of AsnConvert.parse(ext.extnValue, SubjectAlternativeName)) if (g.uniformResourceIdentifier !== undefined) uris.push(g.uniformResourceIdentifier);
      } else if (ext.extnID === id_ce_certificatePolicies) {
        for (const p of AsnConvert.parse(ext.extnValue, CertificatePolicies)) {
          if (p.policyIdentifier === `${POLICY_ARC}.1`) profile = 'reader';
          else if (p.policyIdentifier === `${POLICY_ARC}.2`) profile = 'gate';
        }
      }
    } catch (e) {
      return untrusted('an extension of the reader certificate is malformed', e);
    }
  }
  if (profile === undefined) untrusted('the certificate is not issued for the reader or gate profile');
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
  return {
    publicKey,
    tenant,
    readerId,
    profile,
    ...(site !== undefined && { site }),
    notBefore: tbs.validity.notBefore.getTime().getTime(),
    notAfter: tbs.validity.notAfter.getTime().getTime(),
  };
}
