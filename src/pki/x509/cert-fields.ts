/**
 * The fields of a certificate the issuer and responder need (names, key, serial, validity),
 * read with the DER walker: fast and with the exact bytes, which name chaining and OCSP
 * CertIDs compare (RFC 5280 §7.1, RFC 6960 §4.1.1).
 */
import { CityTrustError, type ErrorCode } from '../../core/errors.ts';
import { children, expectTag, oidToString, only, raw, value } from './asn1.ts';
import { serialHex } from './der.ts';
import type { Tlv } from './der.ts';

export interface CertFields {
  readonly serial: string;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly spki: Uint8Array;
  /** subjectPublicKey BIT STRING contents without the unused-bits octet. */
  readonly publicKey: Uint8Array;
  readonly tbs: Uint8Array;
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) to ms (RFC 5280 §4.1.2.5). */
export function readTime(der: Uint8Array, t: Tlv, code: ErrorCode): number {
  const s = Buffer.from(value(der, t)).toString('latin1');
  let m: RegExpExecArray | null;
  if (t.tag === 0x17 && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const yy = Number(m[1]);
    // §4.1.2.5.1: YY >= 50 is 19YY, else 20YY.
    return Date.UTC(yy >= 50 ? 1900 + yy : 2000 + yy, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  if (t.tag === 0x18 && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  throw new CityTrustError(code, 'a time is not UTCTime or GeneralizedTime in Z form');
}

export function certFields(der: Uint8Array, code: ErrorCode = 'PKI_DER_MALFORMED'): CertFields {
  const outer = only(der, 0x30, code, 'Certificate');
  const [tbsT] = children(der, outer, code);
  const tbs = expectTag(tbsT, 0x30, code, 'tbsCertificate');
  const f = children(der, tbs, code);
  let i = 0;
  if (f[0]?.tag === 0xa0) i = 1;
  const serialT = expectTag(f[i], 0x02, code, 'serialNumber');
  const issuerT = expectTag(f[i + 2], 0x30, code, 'issuer');
  const validity = children(der, expectTag(f[i + 3], 0x30, code, 'validity'), code);
  const subjectT = expectTag(f[i + 4], 0x30, code, 'subject');
  const spkiT = expectTag(f[i + 5], 0x30, code, 'subjectPublicKeyInfo');
  const [, bitsT] = children(der, spkiT, code);
  const bits = value(der, expectTag(bitsT, 0x03, code, 'subjectPublicKey'));
  if (validity.length !== 2) throw new CityTrustError(code, 'validity must hold two times');
  return {
    serial: serialHex(value(der, serialT)),
    issuer: raw(der, issuerT),
    subject: raw(der, subjectT),
    notBefore: readTime(der, validity[0]!, code),
    notAfter: readTime(der, validity[1]!, code),
    spki: raw(der, spkiT),
    publicKey: bits.subarray(1),
    tbs: raw(der, tbs),
  };
}

/** The subjectPublicKey bits of SubjectPublicKeyInfo DER. */
export function spkiPublicKey(spki: Uint8Array, code: ErrorCode = 'PKI_DER_MALFORMED'): Uint8Array {
  const outer = only(spki, 0x30, code, 'SubjectPublicKeyInfo');
  const [algT, bitsT] = children(spki, outer, code);
  expectTag(algT, 0x30, code, 'algorithm');
  return value(spki, expectTag(bitsT, 0x03, code, 'subjectPublicKey')).subarray(1);
}

const SHORT_NAMES: Record<string, string> = { '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST' };

/** RFC 4514 text of a Name DER (most specific RDN first), for display and listings. */
export function nameText(der: Uint8Array, code: ErrorCode = 'PKI_DER_MALFORMED'): string {
  const rdns = children(der, only(der, 0x30, code, 'Name'), code);
  const esc = (s: string) => s.replace(/([,+"\\<>;=])/g, '\\$1');
  return rdns
    .map((rdn) =>
      children(der, rdn, code)
        .map((atv) => {
          const [t, v] = children(der, atv, code);
          const type = oidToString(value(der, expectTag(t, 0x06, code, 'attribute type')));
          return `${SHORT_NAMES[type] ?? type}=${esc(Buffer.from(value(der, v!)).toString('utf8'))}`;
        })
        .join('+'),
    )
    .reverse()
    .join(',');
}
