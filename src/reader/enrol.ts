/**
 * Reader enrolment (docs/reader.md §3): a PKCS#10 request (RFC 2986) signed through the reader's
 * signer (its secure element, or a software key), sent with the one-time bootstrap token the
 * operator issued for the device to `POST /v1/pki/enroll`; the answer is the reader certificate
 * and its chain. The profile (reader or gate) and every name come from the device registry, never
 * from the request, so the request carries only the key and the device id as CN.
 */
import type { KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AttributeTypeAndValue, AttributeValue, AlgorithmIdentifier, Name, RelativeDistinguishedName, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { CityTrustError } from '../core/errors.ts';
import { toBase64 } from '../core/bytes.ts';
import { ecdsaRawToDer, exportSpkiPublicKey, type CoseSigner } from '../crypto/index.ts';

const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const OID_CN = '2.5.4.3';

/** A PKCS#10 request for `publicKey` signed by `signer` (ES256), DER. */
export async function createCsr(signer: CoseSigner, publicKey: KeyObject, readerId: string): Promise<Uint8Array> {
  if (signer.alg !== 'ES256') throw new CityTrustError('READER_CONFIG_INVALID', 'a reader key is P-256 (ES256)');
  const info = new CertificationRequestInfo({
    version: 0,
    subject: new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: OID_CN, value: new AttributeValue({ utf8String: readerId }) })])]),
    subjectPKInfo: AsnConvert.parse(exportSpkiPublicKey(publicKey), SubjectPublicKeyInfo),
  });
  const tbs = new Uint8Array(AsnConvert.serialize(info));
  const der = ecdsaRawToDer(await signer.sign(tbs), 'P-256');
  const csr = new CertificationRequest({ certificationRequestInfo: info, signatureAlgorithm: new AlgorithmIdentifier({ algorithm: OID_ECDSA_SHA256 }), signature: der.slice().buffer });
  return new Uint8Array(AsnConvert.serialize(csr));
}

export function toPemBlock(label: string, der: Uint8Array): string {
  const b64 = toBase64(der).replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

export function fromPemBlocks(pem: string, label = 'CERTIFICATE'): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`, 'g');
  return [...pem.matchAll(re)].map((m) => new Uint8Array(Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64')));
}

export interface Enrolment {
  /** Leaf first, then the issuing CA: what the reader sends to wallets (the root stays pinned on their side). */
  readonly chain: Uint8Array[];
  /** The city root certificate of the chain the server returned (to pin only after an out-of-band check). */
  readonly root: Uint8Array | undefined;
  readonly serial: string;
  readonly notAfter: number;
}

/** Enrols with the server's REST endpoint. Refusals keep the server's code in details.reason. */
export async function enroll(o: { serverUrl: string; csr: Uint8Array; token: string; fetch?: typeof fetch }): Promise<Enrolment> {
  let res: Response;
  try {
    res = await (o.fetch ?? fetch)(`${o.serverUrl.replace(/\/+$/, '')}/v1/pki/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ csr: toPemBlock('CERTIFICATE REQUEST', o.csr), token: o.token }) });
  } catch (e) {
    throw new CityTrustError('READER_NOT_ENROLLED', 'the enrolment server cannot be reached', { cause: e });
  }
  const body = (await res.json().catch(() => ({}))) as { code?: string; certificatePem?: string; chainPem?: string[]; serial?: string; notAfter?: number };
  if (res.status !== 201 || typeof body.certificatePem !== 'string' || !Array.isArray(body.chainPem)) {
    throw new CityTrustError('READER_NOT_ENROLLED', `enrolment was refused (${res.status}${body.code ? ` ${body.code}` : ''})`, { details: { status: res.status, ...(body.code !== undefined && { reason: body.code }) } });
  }
  const leaf = fromPemBlocks(body.certificatePem)[0];
  const chain = body.chainPem.flatMap((p) => fromPemBlocks(p));
  if (leaf === undefined || chain.length === 0) throw new CityTrustError('READER_NOT_ENROLLED', 'the enrolment answer carries no certificate chain');
  // chainPem runs issuing CA first, root last.
  return { chain: [leaf, ...chain.slice(0, -1)], root: chain.at(-1), serial: String(body.serial ?? ''), notAfter: Number(body.notAfter ?? 0) };
}
