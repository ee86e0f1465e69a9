/** The certificate and CRL extensions we issue, as DER (RFC 5280 §4.2, §5.2, §5.3; RFC 6960 §4.2.2.2.1). */
import { createHash } from 'node:crypto';
import { enumerated, extensionDer, octets, oid, seq, smallUint, tlv, bitString, TRUE, NULL } from './asn1.ts';
import {
  AD_CA_ISSUERS,
  AD_OCSP,
  EXT_AUTHORITY_INFO_ACCESS,
  EXT_AUTHORITY_KEY_ID,
  EXT_BASIC_CONSTRAINTS,
  EXT_CERTIFICATE_POLICIES,
  EXT_CRL_DISTRIBUTION_POINTS,
  EXT_CRL_NUMBER,
  EXT_CRL_REASON,
  EXT_EXT_KEY_USAGE,
  EXT_KEY_USAGE,
  EXT_NAME_CONSTRAINTS,
  EXT_OCSP_NOCHECK,
  EXT_SUBJECT_ALT_NAME,
  EXT_SUBJECT_KEY_ID,
} from './oids.ts';

export type KeyUsageName = 'digitalSignature' | 'nonRepudiation' | 'keyEncipherment' | 'dataEncipherment' | 'keyAgreement' | 'keyCertSign' | 'cRLSign';
export const KEY_USAGE_BITS: Record<KeyUsageName, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
};

/** §4.2.1.9, critical. An end entity carries an empty SEQUENCE (cA defaults to FALSE). */
export function basicConstraints(ca: boolean, pathLen?: number): Uint8Array {
  const body = ca ? (pathLen === undefined ? seq(TRUE) : seq(TRUE, smallUint(pathLen))) : seq();
  return extensionDer(EXT_BASIC_CONSTRAINTS, true, body);
}

/** §4.2.1.3, critical. Named bits, trailing zero bits dropped as DER requires (X.690 §11.2.2). */
export function keyUsage(usages: readonly KeyUsageName[]): Uint8Array {
  let bits = 0;
  for (const u of usages) bits |= 0x80 >> KEY_USAGE_BITS[u];
  let unused = 0;
  while (unused < 7 && ((bits >> unused) & 1) === 0) unused++;
  return extensionDer(EXT_KEY_USAGE, true, bitString(Uint8Array.of(bits), unused));
}

/** §4.2.1.12; not critical, so relying parties that do not know an EKU still read the rest. */
export function extKeyUsage(oids: readonly string[]): Uint8Array {
  return extensionDer(EXT_EXT_KEY_USAGE, false, seq(...oids.map(oid)));
}

export interface SanInput {
  readonly dns?: readonly string[];
  readonly ip?: readonly string[];
  readonly uri?: readonly string[];
}

function ipBytes(ip: string): Uint8Array {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return Uint8Array.from(ip.split('.').map(Number));
  // IPv6: expand "::" then 8 groups of 16 bits.
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** GeneralNames of the kinds we issue: dNSName [2], uniformResourceIdentifier [6], iPAddress [7]. */
export function generalNames(s: SanInput): Uint8Array[] {
  return [...(s.dns ?? []).map((d) => tlv(0x82, Buffer.from(d, 'ascii'))), ...(s.ip ?? []).map((i) => tlv(0x87, ipBytes(i))), ...(s.uri ?? []).map((u) => tlv(0x86, Buffer.from(u, 'ascii')))];
}

/** §4.2.1.6: critical when the subject is empty, which ours never is. */
export function subjectAltName(s: SanInput): Uint8Array {
  return extensionDer(EXT_SUBJECT_ALT_NAME, false, seq(...generalNames(s)));
}

/** Key identifier: the leftmost 160 bits of SHA-256 of the subjectPublicKey bits (RFC 7093 §2, method 1). */
export function keyIdentifier(subjectPublicKeyBits: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(subjectPublicKeyBits).digest().subarray(0, 20));
}

export function subjectKeyIdentifier(keyId: Uint8Array): Uint8Array {
  return extensionDer(EXT_SUBJECT_KEY_ID, false, octets(keyId));
}

/** §4.2.1.1: keyIdentifier [0] IMPLICIT. */
export function authorityKeyIdentifier(keyId: Uint8Array): Uint8Array {
  return extensionDer(EXT_AUTHORITY_KEY_ID, false, seq(tlv(0x80, keyId)));
}

/** §4.2.1.13: one DistributionPoint with a fullName URI: distributionPoint [0] { fullName [0] { uri [6] } }. */
export function crlDistributionPoint(url: string): Uint8Array {
  return extensionDer(EXT_CRL_DISTRIBUTION_POINTS, false, seq(seq(tlv(0xa0, tlv(0xa0, tlv(0x86, Buffer.from(url, 'ascii')))))));
}

/** §4.2.2.1: id-ad-ocsp and id-ad-caIssuers access descriptions. */
export function authorityInfoAccess(o: { ocsp?: string; caIssuers?: string }): Uint8Array {
  const ads: Uint8Array[] = [];
  if (o.ocsp) ads.push(seq(oid(AD_OCSP), tlv(0x86, Buffer.from(o.ocsp, 'ascii'))));
  if (o.caIssuers) ads.push(seq(oid(AD_CA_ISSUERS), tlv(0x86, Buffer.from(o.caIssuers, 'ascii'))));
  return extensionDer(EXT_AUTHORITY_INFO_ACCESS, false, seq(...ads));
}

/** §4.2.1.4: policy OIDs without qualifiers. */
export function certificatePolicies(oids: readonly string[]): Uint8Array {
  return extensionDer(EXT_CERTIFICATE_POLICIES, false, seq(...oids.map((o) => seq(oid(o)))));
}

/** §4.2.1.10, critical: permittedSubtrees [0] of GeneralSubtree { base } (minimum 0 is the default, omitted). */
export function nameConstraints(permitted: SanInput): Uint8Array {
  return extensionDer(EXT_NAME_CONSTRAINTS, true, seq(tlv(0xa0, ...generalNames(permitted).map((g) => seq(g)))));
}

/** RFC 6960 §4.2.2.2.1: the responder's own certificate is not checked for revocation. */
export function ocspNoCheck(): Uint8Array {
  return extensionDer(EXT_OCSP_NOCHECK, false, NULL);
}

/** §5.2.3 */
export function crlNumber(n: number): Uint8Array {
  return extensionDer(EXT_CRL_NUMBER, false, smallUint(n));
}

/** §5.3.1 CRLReason codes. */
export const CRL_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
} as const;
export type RevocationReason = keyof typeof CRL_REASONS;

/** §5.3.1: entry extension; `unspecified` SHOULD be expressed by leaving the extension out. */
export function reasonCode(reason: RevocationReason): Uint8Array {
  return extensionDer(EXT_CRL_REASON, false, enumerated(CRL_REASONS[reason]));
}

