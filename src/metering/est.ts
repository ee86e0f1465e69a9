/**
 * The meter's enrolment over EST (RFC 7030), device-side: `cacerts` (§4.1) for the CA
 * certificates, then `simpleenroll` (§4.2.1) with the meter's PKCS#10 request, authenticated
 * with HTTP Basic — the meter id and its one-time bootstrap token (§3.2.3). Both answers are
 * certs-only CMS (§4.1.3), base64. The TLS connection is what authenticates the server
 * (§3.6.1), so the meter dials with the city root pinned at manufacture; the issued certificate
 * must then validate against that same root for the meter profile before it is installed.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AsnConvert } from '@peculiar/asn1-schema';
import { ContentInfo, SignedData } from '@peculiar/asn1-cms';
import { CityTrustError } from '../core/errors.ts';
import { validateChain } from '../pki/validate.ts';
import type { SimulatedMeter } from './simulated-meter.ts';

export interface EstOptions {
  /** Server base URL, e.g. https://city.example:8443 */
  readonly url: string;
  readonly bootstrapToken: string;
  /** PEM of the city root the meter trusts (pinned at manufacture): TLS trust and the anchor the new certificate must chain to. */
  readonly rootPem: string;
  /** Validation time (the meter clock). */
  readonly now: number;
}

export interface EstResult {
  readonly certificate: Uint8Array;
  readonly caCertificates: readonly Uint8Array[];
}

function pemToDer(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)) out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  return out;
}

/** Certificates of a certs-only SignedData (RFC 7030 §4.1.3), base64 as EST sends it. */
export function parseCertsOnly(body: string): Uint8Array[] {
  try {
    const ci = AsnConvert.parse(Buffer.from(body.replace(/\s+/g, ''), 'base64'), ContentInfo);
    const sd = AsnConvert.parse(ci.content, SignedData);
    return (sd.certificates ?? []).flatMap((c) => (c.certificate ? [new Uint8Array(AsnConvert.serialize(c.certificate))] : []));
  } catch (e) {
    throw new CityTrustError('METER_ENROLMENT_FAILED', 'the EST answer is not a certs-only PKCS#7', { cause: e });
  }
}

function call(o: EstOptions, method: 'GET' | 'POST', path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(path, o.url);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method, headers, ...(url.protocol === 'https:' ? { ca: o.rootPem } : {}), timeout: 30_000 }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => {
        text += d;
        if (text.length > 1_000_000) req.destroy(new Error('EST answer too large'));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('EST request timed out')));
    req.on('error', (e) => reject(new CityTrustError('METER_ENROLMENT_FAILED', `cannot reach the EST server at ${url.host}`, { cause: e })));
    req.end(body);
  });
}

/** Enrols the meter (its identity key must exist) and installs the validated certificate. */
export async function estEnroll(meter: SimulatedMeter, o: EstOptions): Promise<EstResult> {
  const root = pemToDer(o.rootPem);
  if (root.length === 0) throw new CityTrustError('INPUT_INVALID', 'rootPem holds no certificate');
  const cacerts = await call(o, 'GET', '/.well-known/est/cacerts');
  if (cacerts.status !== 200) throw new CityTrustError('METER_ENROLMENT_FAILED', `EST cacerts answered ${cacerts.status}`);
  const caCertificates = parseCertsOnly(cacerts.body);
  const csr = Buffer.from(meter.csr()).toString('base64');
  const auth = Buffer.from(`${meter.meterId}:${o.bootstrapToken}`, 'utf8').toString('base64');
  const res = await call(o, 'POST', '/.well-known/est/simpleenroll', csr, { 'content-type': 'application/pkcs10', 'content-transfer-encoding': 'base64', authorization: `Basic ${auth}` });
  if (res.status !== 200) {
    let code = '';
    try {
      code = String((JSON.parse(res.body) as { code?: unknown }).code ?? '');
    } catch {
      code = '';
    }
    throw new CityTrustError('METER_ENROLMENT_FAILED', `EST simpleenroll answered ${res.status}${code ? ` ${code}` : ''}`, { details: { status: res.status, ...(code ? { reason: code } : {}) } });
  }
  const [certificate] = parseCertsOnly(res.body);
  if (!certificate) throw new CityTrustError('METER_ENROLMENT_FAILED', 'the EST answer holds no certificate');
  try {
    validateChain(certificate, { anchors: root, intermediates: caCertificates, time: o.now, profile: 'meter' });
  } catch (e) {
    throw new CityTrustError('METER_ENROLMENT_FAILED', 'the issued certificate does not validate against the pinned root', { cause: e });
  }
  meter.installCertificate(certificate);
  // The head-end's certificates will have to chain to the same root.
  meter.pinRoots(root);
  return { certificate, caCertificates };
}
