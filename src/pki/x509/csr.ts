/**
 * PKCS#10 certification requests (RFC 2986): parsed with the DER walker, checked against the
 * allow-list and verified, before anything else looks at them. A CSR only ever contributes
 * its public key; what it asks for (CA rights, names) is read solely to refuse requests for
 * more than the profile grants, never copied into a certificate.
 *
 * Why not @peculiar/asn1-csr (CONVENTIONS prefer it): measured on this project's 2-core
 * machine, `AsnConvert.parse(der, CertificationRequest)` alone costs 150–240 µs of CPU per
 * CSR — as much as this whole check including the ECDSA verification (~230 µs) — and an
 * issuance costs ~700 µs in all, so the library would take issuance from ~1,200/s to below
 * the 1,100/s the PKI keeps as its margin over the 1,000/s goal. This reader is strict where
 * a general parser is lenient (minimal lengths, no trailing bytes, allow-listed algorithm
 * identifiers compared byte for byte), and test/pki/x509-crosscheck.test.ts holds it to
 * @peculiar/x509 on CSRs that library writes.
 */
import { createHash, verify as nodeVerify } from 'node:crypto';
import { CityTrustError } from '../../core/errors.ts';
import { children, expectTag, only, oidToString, raw, value } from './asn1.ts';
import { fromPemOrDer, readTlv } from './der.ts';
import { EXT_BASIC_CONSTRAINTS, EXT_KEY_USAGE, EXT_SUBJECT_ALT_NAME, PKCS9_EXTENSION_REQUEST } from './oids.ts';
import type { PkiKeyType } from './keys.ts';
import { generalNameText } from './general-names.ts';

export const CSR_MAX_BYTES = 8192;

// AlgorithmIdentifier DER of the allowed SPKI algorithms (RFC 5480 §2.1.1, RFC 8410 §3).
const SPKI_ALGS: readonly [string, PkiKeyType, number][] = [
  ['301306072a8648ce3d020106082a8648ce3d030107', 'ec-p256', 65],
  ['301006072a8648ce3d020106052b81040022', 'ec-p384', 97],
  ['300506032b6570', 'ed25519', 32],
];
// ... and of the allowed signature algorithms, parameters absent (RFC 5758 §3.2, RFC 8410 §3).
const SIG_ALGS: readonly [string, 'sha256' | 'sha384' | null, PkiKeyType[]][] = [
  ['300a06082a8648ce3d040302', 'sha256', ['ec-p256', 'ec-p384']],
  ['300a06082a8648ce3d040303', 'sha384', ['ec-p256', 'ec-p384']],
  ['300506032b6570', null, ['ed25519']],
];

export interface CheckedCsr {
  /** SubjectPublicKeyInfo DER exactly as requested. */
  readonly spki: Uint8Array;
  readonly keyType: PkiKeyType;
  /** The subjectPublicKey bits (for key identifiers). */
  readonly publicKey: Uint8Array;
  /** SHA-256 of the SPKI DER. */
  readonly keySha256: Uint8Array;
  /** Names asked for in an extensionRequest, as `dns:`/`uri:`/`ip:`/`email:`/`other:` text. */
  readonly requestedNames: readonly string[];
  /** basicConstraints cA=TRUE or keyCertSign/cRLSign asked for. */
  readonly requestsCa: boolean;
}

const C = 'PKI_CSR_MALFORMED' as const;

export function checkCsr(input: Uint8Array | string): CheckedCsr {
  const size = typeof input === 'string' ? input.length : input?.length;
  if (typeof size !== 'number') throw new CityTrustError(C, 'the CSR must be bytes or text');
  if (size > CSR_MAX_BYTES * 2 || (typeof input !== 'string' && size > CSR_MAX_BYTES)) throw new CityTrustError('PKI_CSR_TOO_LARGE', `a CSR is at most ${CSR_MAX_BYTES} bytes`);
  const der = fromPemOrDer(input, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'], C, 'the CSR');
  if (der.length > CSR_MAX_BYTES) throw new CityTrustError('PKI_CSR_TOO_LARGE', `a CSR is at most ${CSR_MAX_BYTES} bytes`);

  const outer = only(der, 0x30, C, 'CertificationRequest');
  const [infoT, algT, sigT, ...extra] = children(der, outer, C);
  if (extra.length > 0) throw new CityTrustError(C, 'CertificationRequest has extra elements');
  const info = expectTag(infoT, 0x30, C, 'certificationRequestInfo');
  expectTag(algT, 0x30, C, 'signatureAlgorithm');
  expectTag(sigT, 0x03, C, 'signature');
  const [verT, subjT, spkiT, attrsT, ...more] = children(der, info, C);
  if (more.length > 0) throw new CityTrustError(C, 'certificationRequestInfo has extra elements');
  const ver = expectTag(verT, 0x02, C, 'version');
  if (ver.end - ver.start !== 1 || der[ver.start] !== 0) throw new CityTrustError(C, 'CSR version must be v1 (0)');
  expectTag(subjT, 0x30, C, 'subject');
  const spkiTlv = expectTag(spkiT, 0x30, C, 'subjectPKInfo');
  const attrs = expectTag(attrsT, 0xa0, C, 'attributes');

  // Key: the algorithm identifier must be one of ours byte for byte.
  const [kAlgT, kBitsT, ...kMore] = children(der, spkiTlv, C);
  if (kMore.length > 0 || !kAlgT || !kBitsT || kBitsT.tag !== 0x03) throw new CityTrustError(C, 'subjectPKInfo is malformed');
  const kAlgHex = Buffer.from(raw(der, kAlgT)).toString('hex');
  const known = SPKI_ALGS.find(([h]) => h === kAlgHex);
  if (!known) throw new CityTrustError('PKI_CSR_KEY_NOT_ALLOWED', 'the key is not P-256, P-384 or Ed25519 (RSA, other curves and explicit parameters are refused)');
  const [, keyType, keyLen] = known;
  const bits = value(der, kBitsT);
  const publicKey = bits.subarray(1);
  // Uncompressed points only (RFC 5480 §2.2 MUST-support form); Ed25519 is 32 bytes (RFC 8410 §4).
  if (bits[0] !== 0 || publicKey.length !== keyLen || (keyType !== 'ed25519' && publicKey[0] !== 0x04)) {
    throw new CityTrustError('PKI_CSR_KEY_INVALID', 'the public key has the wrong length or encoding');
  }
  const spki = raw(der, spkiTlv);

  // Signature: an allowed algorithm that fits the key, over the exact request info bytes.
  const sigAlg = SIG_ALGS.find(([h]) => h === Buffer.from(raw(der, algT!)).toString('hex'));
  if (!sigAlg) throw new CityTrustError('PKI_CSR_ALG_NOT_ALLOWED', 'the CSR signature algorithm is not ecdsa-with-SHA256/384 or Ed25519');
  if (!sigAlg[2].includes(keyType)) throw new CityTrustError('PKI_CSR_ALG_NOT_ALLOWED', 'the signature algorithm does not fit the key type');
  const sigBits = value(der, sigT!);
  if (sigBits.length < 2 || sigBits[0] !== 0) throw new CityTrustError(C, 'the signature BIT STRING is malformed');
  // The SPKI goes to OpenSSL as DER, which decodes the point and throws for one that is not on
  // the curve (→ KEY_INVALID); a signature that does not verify returns false. No KeyObject is
  // made: the key is used once, and building one costs as much as the verification itself.
  let ok: boolean;
  try {
    ok = nodeVerify(sigAlg[1], raw(der, info), { key: Buffer.from(spki.buffer, spki.byteOffset, spki.length), format: 'der', type: 'spki', dsaEncoding: 'der' }, sigBits.subarray(1));
  } catch (e) {
    throw new CityTrustError('PKI_CSR_KEY_INVALID', 'the public key is not a valid point on its curve', { cause: e });
  }
  if (!ok) throw new CityTrustError('PKI_CSR_SIGNATURE_INVALID', 'the CSR signature does not verify with its own public key');

  const { names, requestsCa } = readExtensionRequest(der, children(der, attrs, C));
  return { spki: new Uint8Array(spki), keyType, publicKey: new Uint8Array(publicKey), keySha256: new Uint8Array(createHash('sha256').update(spki).digest()), requestedNames: names, requestsCa };
}

/** PKCS#9 extensionRequest (RFC 2985 §5.4.2): the names and CA rights the requester would like. */
function readExtensionRequest(der: Uint8Array, attributes: ReturnType<typeof children>): { names: string[]; requestsCa: boolean } {
  const names: string[] = [];
  let requestsCa = false;
  for (const a of attributes) {
    const [typeT, valuesT] = children(der, expectTag(a, 0x30, C, 'attribute'), C);
    const type = oidToString(value(der, expectTag(typeT, 0x06, C, 'attribute type')));
    const values = expectTag(valuesT, 0x31, C, 'attribute values');
    if (type !== PKCS9_EXTENSION_REQUEST) continue;
    for (const extsT of children(der, values, C)) {
      for (const extT of children(der, expectTag(extsT, 0x30, C, 'extensions'), C)) {
        const parts = children(der, expectTag(extT, 0x30, C, 'extension'), C);
        const id = oidToString(value(der, expectTag(parts[0], 0x06, C, 'extnID')));
        const octet = expectTag(parts[parts.length - 1], 0x04, C, 'extnValue');
        const inner = value(der, octet);
        if (id === EXT_BASIC_CONSTRAINTS) {
          const bc = only(inner, 0x30, C, 'basicConstraints');
          const first = bc.start < bc.end ? readTlv(inner, bc.start, C) : undefined;
          if (first && first.tag === 0x01 && inner[first.start] !== 0) requestsCa = true;
        } else if (id === EXT_KEY_USAGE) {
          const ku = only(inner, 0x03, C, 'keyUsage');
          // keyCertSign is bit 5, cRLSign bit 6 of the first octet (RFC 5280 §4.2.1.3).
          if (ku.end - ku.start >= 2 && (inner[ku.start + 1]! & 0x06) !== 0) requestsCa = true;
        } else if (id === EXT_SUBJECT_ALT_NAME) {
          const san = only(inner, 0x30, C, 'subjectAltName');
          for (const g of children(inner, san, C)) names.push(generalNameText(inner, g));
        }
      }
    }
  }
  return { names, requestsCa };
}
