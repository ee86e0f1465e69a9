/**
 * Device-side: one certificate parsed for path validation (RFC 5280 §6.1), with the exact
 * signed bytes and the extensions the validator understands. Imports no server code.
 */
import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  KeyUsage,
  NameConstraints,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { CityTrustError } from '../core/errors.ts';
import { parseDer, serialHex, signedPart } from './x509/der.ts';
import { children, expectTag, only, oidToString, value } from './x509/asn1.ts';
import { signatureAlgorithm, spkiKeyType, type PkiKeyType, type SignatureAlgorithm } from './x509/keys.ts';
import {
  EXT_AUTHORITY_INFO_ACCESS,
  EXT_AUTHORITY_KEY_ID,
  EXT_BASIC_CONSTRAINTS,
  EXT_CERTIFICATE_POLICIES,
  EXT_CRL_DISTRIBUTION_POINTS,
  EXT_EXT_KEY_USAGE,
  EXT_KEY_USAGE,
  EXT_NAME_CONSTRAINTS,
  EXT_OCSP_NOCHECK,
  EXT_SUBJECT_ALT_NAME,
  EXT_SUBJECT_KEY_ID,
} from './x509/oids.ts';

/** Extensions this validator processes; any other marked critical fails the path (§4.2). */
const UNDERSTOOD = new Set([
  EXT_BASIC_CONSTRAINTS,
  EXT_KEY_USAGE,
  EXT_EXT_KEY_USAGE,
  EXT_SUBJECT_ALT_NAME,
  EXT_NAME_CONSTRAINTS,
  EXT_CERTIFICATE_POLICIES,
  EXT_AUTHORITY_KEY_ID,
  EXT_SUBJECT_KEY_ID,
  EXT_CRL_DISTRIBUTION_POINTS,
  EXT_AUTHORITY_INFO_ACCESS,
  EXT_OCSP_NOCHECK,
]);

export interface ParsedCert {
  readonly der: Uint8Array;
  readonly cert: Certificate;
  readonly tbs: Uint8Array;
  readonly serial: string;
  readonly issuerDer: Uint8Array;
  readonly subjectDer: Uint8Array;
  readonly spkiDer: Uint8Array;
  readonly publicKey: Uint8Array;
  /** null when the key type is not on the allow-list. */
  readonly keyType: PkiKeyType | null;
  /** null when the signature algorithm is not on the allow-list. */
  readonly sigAlg: SignatureAlgorithm | null;
  readonly signature: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly basicConstraints?: BasicConstraints;
  readonly keyUsage?: KeyUsage;
  readonly eku?: readonly string[];
  readonly policies: readonly string[];
  readonly san?: SubjectAlternativeName;
  readonly nameConstraints?: NameConstraints;
  readonly ski?: Uint8Array;
  readonly aki?: Uint8Array;
  readonly ocspNoCheck: boolean;
  /** OID of a critical extension we do not understand, if any. */
  readonly unknownCritical?: string;
  readonly selfIssued: boolean;
}

function ext<T>(c: Certificate, oid: string, type: new () => T): T | undefined {
  const e = c.tbsCertificate.extensions?.find((x) => x.extnID === oid);
  if (!e) return undefined;
  return AsnConvert.parse(e.extnValue, type);
}

/**
 * A SEQUENCE OF OID-led entries read with our own decoder: asn1js renders arcs above 2^53
 * wrongly, and the citytrust policies and EKUs live under a UUID arc (2.25.<128-bit>).
 * `wrapped`: each entry is a SEQUENCE whose first element is the OID (PolicyInformation);
 * otherwise each entry is the OID itself (ExtKeyUsageSyntax).
 */
function oidsOf(c: Certificate, extnId: string, wrapped: boolean): string[] | undefined {
  const e = c.tbsCertificate.extensions?.find((x) => x.extnID === extnId);
  if (!e) return undefined;
  const v = new Uint8Array(e.extnValue.buffer);
  const M = 'PKI_CHAIN_MALFORMED' as const;
  return children(v, only(v, 0x30, M, 'extension value'), M).map((entry) => {
    const idT = wrapped ? children(v, expectTag(entry, 0x30, M, 'PolicyInformation'), M)[0] : entry;
    return oidToString(value(v, expectTag(idT, 0x06, M, 'object identifier')));
  });
}

/** Parses certificate DER for validation; PKI_CHAIN_MALFORMED for anything that is not a well-formed X.509 certificate. */
export function parseCertificate(der: Uint8Array): ParsedCert {
  const M = 'PKI_CHAIN_MALFORMED' as const;
  const cert = parseDer(der, Certificate, M, 'certificate');
  try {
    const tbs = cert.tbsCertificate;
    // §4.1.1.2: the outer algorithm must equal the one inside the signed part.
    const inner = new Uint8Array(AsnConvert.serialize(tbs.signature));
    const outer = new Uint8Array(AsnConvert.serialize(cert.signatureAlgorithm));
    if (!Buffer.from(inner).equals(Buffer.from(outer))) throw new CityTrustError(M, 'signatureAlgorithm differs from tbsCertificate.signature');
    const ids = (tbs.extensions ?? []).map((e) => e.extnID);
    if (new Set(ids).size !== ids.length) throw new CityTrustError(M, 'an extension appears twice (RFC 5280 §4.2)');
    const issuerDer = new Uint8Array(AsnConvert.serialize(tbs.issuer));
    const subjectDer = new Uint8Array(AsnConvert.serialize(tbs.subject));
    const spkiDer = new Uint8Array(AsnConvert.serialize(tbs.subjectPublicKeyInfo));
    const bc = ext(cert, EXT_BASIC_CONSTRAINTS, BasicConstraints);
    const ku = ext(cert, EXT_KEY_USAGE, KeyUsage);
    const eku = oidsOf(cert, EXT_EXT_KEY_USAGE, false);
    const cp = oidsOf(cert, EXT_CERTIFICATE_POLICIES, true) ?? [];
    const san = ext(cert, EXT_SUBJECT_ALT_NAME, SubjectAlternativeName);
    const nc = ext(cert, EXT_NAME_CONSTRAINTS, NameConstraints);
    const ski = ext(cert, EXT_SUBJECT_KEY_ID, SubjectKeyIdentifier);
    const aki = ext(cert, EXT_AUTHORITY_KEY_ID, AuthorityKeyIdentifier);
    const unknownCritical = tbs.extensions?.find((e) => e.critical && !UNDERSTOOD.has(e.extnID))?.extnID;
    const sig = new Uint8Array(cert.signatureValue);
    return {
      der,
      cert,
      tbs: signedPart(der, M),
      serial: serialHex(new Uint8Array(tbs.serialNumber)),
      issuerDer,
      subjectDer,
      spkiDer,
      publicKey: new Uint8Array(tbs.subjectPublicKeyInfo.subjectPublicKey),
      keyType: spkiKeyType(tbs.subjectPublicKeyInfo),
      sigAlg: signatureAlgorithm(cert.signatureAlgorithm),
      signature: sig,
      notBefore: tbs.validity.notBefore.getTime().getTime(),
      notAfter: tbs.validity.notAfter.getTime().getTime(),
      ...(bc ? { basicConstraints: bc } : {}),
      ...(ku ? { keyUsage: ku } : {}),
      ...(eku ? { eku } : {}),
      policies: cp,
      ...(san ? { san } : {}),
      ...(nc ? { nameConstraints: nc } : {}),
      ...(ski ? { ski: new Uint8Array(ski.buffer) } : {}),
      ...(aki?.keyIdentifier ? { aki: new Uint8Array(aki.keyIdentifier.buffer) } : {}),
      ocspNoCheck: ids.includes(EXT_OCSP_NOCHECK),
      ...(unknownCritical ? { unknownCritical } : {}),
      selfIssued: Buffer.from(issuerDer).equals(Buffer.from(subjectDer)),
    };
  } catch (e) {
    if (e instanceof CityTrustError) throw e;
    throw new CityTrustError(M, 'a certificate extension is malformed', { cause: e });
  }
}

export function fingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}
