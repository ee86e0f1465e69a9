/**
 * EST (RFC 7030) message formats: the certs-only CMS SignedData that carries certificates
 * (§4.1.3, §4.2.3; RFC 5652 §5 with no signers), the CSR attributes answer (§4.5.2), and the
 * base64 bodies EST uses for both directions (§4: Content-Transfer-Encoding base64).
 */
import { CityTrustError } from '../core/errors.ts';
import { explicit, oid, seq, setOf, smallUint, tlv } from './x509/asn1.ts';
import { OID_EC_PUBLIC_KEY, OID_ECDSA_SHA256, OID_P256 } from './x509/oids.ts';

const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const ID_DATA = '1.2.840.113549.1.7.1';

/** ContentInfo { signedData { version 1, no digestAlgorithms, id-data without content, certificates, no signerInfos } }. */
export function certsOnly(certs: readonly Uint8Array[]): Uint8Array {
  // certificates [0] IMPLICIT CertificateSet: a SET OF, so DER sorts the elements.
  const sorted = [...certs].sort((a, b) => Buffer.compare(a, b));
  return seq(oid(ID_SIGNED_DATA), explicit(0, seq(smallUint(1), setOf(), seq(oid(ID_DATA)), tlv(0xa0, ...sorted), setOf())));
}

/**
 * What we would like in a CSR (§4.5.2): a P-256 key signed with ecdsa-with-SHA256. Names are
 * not asked for: the profile assigns them.
 */
export function csrAttributes(): Uint8Array {
  return seq(oid(OID_ECDSA_SHA256), seq(oid(OID_EC_PUBLIC_KEY), setOf(oid(OID_P256))));
}

/** Base64 with line breaks every 64 characters, as EST servers send it. */
export function base64Body(der: Uint8Array): string {
  return `${Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n')}`;
}

/** An EST request body: base64 of a DER PKCS#10 (whitespace allowed); PKI_CSR_MALFORMED otherwise. */
export function decodeBase64Body(body: Buffer | string): Uint8Array {
  const text = (typeof body === 'string' ? body : body.toString('latin1')).replace(/\s+/g, '');
  if (text.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new CityTrustError('PKI_CSR_MALFORMED', 'the EST body must be base64 of a DER PKCS#10 request');
  return new Uint8Array(Buffer.from(text, 'base64'));
}
