/**
 * Device-side revocation checking for path validation: CRLs (RFC 5280 §6.3) and OCSP
 * responses (RFC 6960 §3.2), both verified against the issuer in the path, both required to
 * be current at the validation time. Imports no server code.
 */
import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificateList, ExtendedKeyUsage } from '@peculiar/asn1-x509';
import { BasicOCSPResponse, OCSPResponse, OCSPResponseStatus } from '@peculiar/asn1-ocsp';
import { CityTrustError } from '../core/errors.ts';
import { parseDer, serialHex, signedPart } from './x509/der.ts';
import { signatureAlgorithm, spkiKeyType, verifyX509Signature } from './x509/keys.ts';
import { EKU_OCSP_SIGNING, EXT_EXT_KEY_USAGE, EXT_OCSP_NONCE, OCSP_BASIC, OID_SHA1, OID_SHA256 } from './x509/oids.ts';
import { parseCertificate, type ParsedCert } from './validate-cert.ts';

export type RevocationStatus = 'good' | 'revoked' | 'unknown';

interface ParsedCrl {
  issuerDer: Uint8Array;
  tbs: Uint8Array;
  list: CertificateList;
  revoked: Set<string>;
}

export function parseCrl(der: Uint8Array): ParsedCrl {
  const C = 'PKI_CHAIN_CRL_INVALID' as const;
  const list = parseDer(der, CertificateList, C, 'CRL');
  return {
    list,
    tbs: signedPart(der, C),
    issuerDer: new Uint8Array(AsnConvert.serialize(list.tbsCertList.issuer)),
    revoked: new Set((list.tbsCertList.revokedCertificates ?? []).map((r) => serialHex(new Uint8Array(r.userCertificate)))),
  };
}

function verifiedBy(issuer: ParsedCert, algId: Parameters<typeof signatureAlgorithm>[0], tbs: Uint8Array, sig: Uint8Array): boolean {
  const alg = signatureAlgorithm(algId);
  return !!alg && !!issuer.keyType && verifyX509Signature(alg, issuer.keyType, issuer.spkiDer, tbs, sig);
}

/** Status of `cert` by the CRLs that its issuer signed; undefined when none applies. */
export function statusByCrl(cert: ParsedCert, issuer: ParsedCert, crls: readonly ParsedCrl[], time: number): RevocationStatus | undefined {
  const mine = crls.filter((c) => Buffer.from(c.issuerDer).equals(Buffer.from(cert.issuerDer)));
  if (mine.length === 0) return undefined;
  for (const crl of mine) {
    if (!verifiedBy(issuer, crl.list.signatureAlgorithm, crl.tbs, new Uint8Array(crl.list.signature))) {
      throw new CityTrustError('PKI_CHAIN_CRL_INVALID', 'a CRL naming the issuer is not signed by its key');
    }
    const thisUpdate = crl.list.tbsCertList.thisUpdate.getTime().getTime();
    const next = crl.list.tbsCertList.nextUpdate?.getTime().getTime();
    if (time < thisUpdate || next === undefined || time > next) throw new CityTrustError('PKI_CHAIN_CRL_INVALID', 'the CRL is not current at the validation time');
    if (crl.revoked.has(cert.serial)) return 'revoked';
  }
  return 'good';
}

interface ParsedOcsp {
  basic: BasicOCSPResponse;
  tbs: Uint8Array;
  der: Uint8Array;
}

export function parseOcspResponse(der: Uint8Array): ParsedOcsp {
  const O = 'PKI_CHAIN_OCSP_INVALID' as const;
  const r = parseDer(der, OCSPResponse, O, 'OCSP response');
  if (r.responseStatus !== OCSPResponseStatus.successful || !r.responseBytes || r.responseBytes.responseType !== OCSP_BASIC) {
    throw new CityTrustError(O, 'the OCSP response is not a successful basic response');
  }
  const inner = new Uint8Array(r.responseBytes.response.buffer);
  const basic = parseDer(inner, BasicOCSPResponse, O, 'BasicOCSPResponse');
  return { basic, tbs: signedPart(inner, O), der };
}

/** Status of `cert` from the OCSP responses given; undefined when none answers for it. */
export function statusByOcsp(cert: ParsedCert, issuer: ParsedCert, responses: readonly ParsedOcsp[], time: number, nonce?: Uint8Array): RevocationStatus | undefined {
  const O = 'PKI_CHAIN_OCSP_INVALID' as const;
  const issuerKeyBits = issuer.publicKey;
  for (const r of responses) {
    const data = r.basic.tbsResponseData;
    const single = data.responses.find((s) => {
      const alg = s.certID.hashAlgorithm.algorithm;
      const h = alg === OID_SHA1 ? 'sha1' : alg === OID_SHA256 ? 'sha256' : undefined;
      if (!h) return false;
      return (
        serialHex(new Uint8Array(s.certID.serialNumber)) === cert.serial &&
        Buffer.from(s.certID.issuerNameHash.buffer).equals(createHash(h).update(cert.issuerDer).digest()) &&
        Buffer.from(s.certID.issuerKeyHash.buffer).equals(createHash(h).update(issuerKeyBits).digest())
      );
    });
    if (!single) continue;
    // §4.2.2.2: signed by the CA itself, or by a responder certificate the CA issued for OCSP signing.
    const sig = new Uint8Array(r.basic.signature);
    let signedOk = verifiedBy(issuer, r.basic.signatureAlgorithm, r.tbs, sig);
    if (!signedOk) {
      for (const c of r.basic.certs ?? []) {
        const responder = parseCertificate(new Uint8Array(AsnConvert.serialize(c)));
        const eku = responder.cert.tbsCertificate.extensions?.find((e) => e.extnID === EXT_EXT_KEY_USAGE);
        const ekus = eku ? [...AsnConvert.parse(eku.extnValue, ExtendedKeyUsage)] : [];
        if (!ekus.includes(EKU_OCSP_SIGNING)) continue;
        if (!Buffer.from(responder.issuerDer).equals(Buffer.from(issuer.subjectDer))) continue;
        if (!responder.sigAlg || !issuer.keyType || !verifyX509Signature(responder.sigAlg, issuer.keyType, issuer.spkiDer, responder.tbs, responder.signature)) continue;
        if (time < responder.notBefore || time > responder.notAfter) continue;
        const kt = spkiKeyType(responder.cert.tbsCertificate.subjectPublicKeyInfo);
        if (kt && verifyX509Signature(signatureAlgorithm(r.basic.signatureAlgorithm) ?? { oid: '', hash: null, keyTypes: [] }, kt, responder.spkiDer, r.tbs, sig)) {
          signedOk = true;
          break;
        }
      }
    }
    if (!signedOk) throw new CityTrustError(O, 'the OCSP response is signed neither by the issuer nor by its delegated responder');
    const thisUpdate = single.thisUpdate.getTime();
    const next = single.nextUpdate?.getTime();
    if (time < thisUpdate - 60_000 || next === undefined || time > next) throw new CityTrustError(O, 'the OCSP response is not current at the validation time');
    if (nonce) {
      const ext = data.responseExtensions?.find((e) => e.extnID === EXT_OCSP_NONCE);
      const v = ext ? new Uint8Array(ext.extnValue.buffer) : undefined;
      const ok = v && (Buffer.from(v).equals(Buffer.from(nonce)) || (v[0] === 0x04 && v[1] === nonce.length && Buffer.from(v.subarray(2)).equals(Buffer.from(nonce))));
      if (!ok) throw new CityTrustError(O, 'the OCSP response does not carry the nonce of the request');
    }
    if (single.certStatus.good !== undefined) return 'good';
    if (single.certStatus.revoked !== undefined) return 'revoked';
    return 'unknown';
  }
  return undefined;
}
