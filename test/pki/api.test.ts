/** The PKI, device and EST endpoints over HTTP (Fastify inject). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AsnConvert } from '@peculiar/asn1-schema';
import { ContentInfo, SignedData } from '@peculiar/asn1-cms';
import { OCSPResponse } from '@peculiar/asn1-ocsp';
import { testApp, auth, type TestApp } from '../helpers/app.ts';
import { toPem } from '../../src/pki/index.ts';
import { fromPemOrDer } from '../../src/pki/x509/der.ts';
import { keyPair, makeCsr } from './helpers.ts';
import { ocspRequest } from './ocsp-request.ts';

const pem = (s: string) => fromPemOrDer(s, ['CERTIFICATE'], 'PKI_DER_MALFORMED', 'cert');

async function city(overrides: Record<string, string | number | boolean> = {}): Promise<{ t: TestApp; admin: Record<string, string>; transit: Record<string, string>; utility: Record<string, string> }> {
  const t = await testApp(overrides);
  const admin = auth(t.adminToken);
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/pki/init', headers: admin })).statusCode, 201);
  for (const id of ['transit', 'utility']) await t.app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id, name: id } });
  const transit = auth((await t.ctx.tokens.create({ tenant: 'transit', roles: ['tenant-admin', 'operator'] }, undefined)).token);
  const utility = auth((await t.ctx.tokens.create({ tenant: 'utility', roles: ['tenant-admin', 'operator'] }, undefined)).token);
  return { t, admin, transit, utility };
}

describe('PKI over HTTP', () => {
  it('registers a device, hands out a bootstrap token once, enrols it and revokes its certificate', async () => {
    const { t, admin, transit, utility } = await city();
    try {
      let r = await t.app.inject({ method: 'POST', url: '/v1/devices', headers: transit, payload: { tenant: 'transit', id: 'gate-1', type: 'gate', site: 'Central' } });
      assert.equal(r.statusCode, 201);
      r = await t.app.inject({ method: 'POST', url: '/v1/devices', headers: utility, payload: { tenant: 'transit', id: 'gate-9', type: 'gate', site: 'Central' } });
      assert.equal(r.json().code, 'TENANT_FORBIDDEN');
      r = await t.app.inject({ method: 'POST', url: '/v1/devices', headers: transit, payload: { tenant: 'transit', id: 'gate-1', type: 'gate', site: 'Central' } });
      assert.equal(r.json().code, 'DEVICE_EXISTS');
      r = await t.app.inject({ method: 'POST', url: '/v1/devices/transit/gate-1/bootstrap', headers: transit, payload: { ttlSeconds: 600 } });
      assert.equal(r.statusCode, 201);
      assert.equal(r.headers['cache-control'], 'no-store');
      const token = r.json().token as string;
      r = await t.app.inject({ method: 'GET', url: '/v1/devices/transit/gate-1', headers: utility });
      assert.equal(r.json().code, 'DEVICE_NOT_FOUND');

      const csr = toPem('CERTIFICATE REQUEST', makeCsr(keyPair()));
      r = await t.app.inject({ method: 'POST', url: '/v1/pki/enroll', payload: { csr: 'garbage', token } });
      assert.equal(r.json().code, 'PKI_CSR_MALFORMED');
      r = await t.app.inject({ method: 'POST', url: '/v1/pki/enroll', payload: { csr, token } });
      assert.equal(r.statusCode, 201);
      const issued = r.json() as { serial: string; certificatePem: string; chainPem: string[] };
      assert.equal(issued.chainPem.length, 2);
      r = await t.app.inject({ method: 'POST', url: '/v1/pki/enroll', payload: { csr, token } });
      assert.equal(r.json().code, 'DEVICE_BOOTSTRAP_USED');
      assert.equal(r.statusCode, 401);

      r = await t.app.inject({ method: 'GET', url: `/v1/pki/certificates/${issued.serial}`, headers: utility });
      assert.equal(r.json().code, 'PKI_CERT_NOT_FOUND');
      r = await t.app.inject({ method: 'GET', url: '/v1/pki/certificates?status=good', headers: transit });
      assert.deepEqual(r.json().map((c: { serial: string }) => c.serial), [issued.serial]);
      r = await t.app.inject({ method: 'POST', url: `/v1/pki/certificates/${issued.serial}/revoke`, headers: transit, payload: { reason: 'keyCompromise' } });
      assert.equal(r.json().status, 'revoked');

      // OCSP over POST and GET, CRL and CA certificate: public and DER.
      const req = ocspRequest(pem(issued.certificatePem), pem(issued.chainPem[0]!));
      r = await t.app.inject({ method: 'POST', url: '/pki/ocsp', headers: { 'content-type': 'application/ocsp-request' }, payload: Buffer.from(req) });
      assert.equal(r.headers['content-type'], 'application/ocsp-response');
      assert.equal(AsnConvert.parse(r.rawPayload, OCSPResponse).responseStatus, 0);
      r = await t.app.inject({ method: 'GET', url: `/pki/ocsp/${encodeURIComponent(Buffer.from(req).toString('base64'))}` });
      assert.equal(AsnConvert.parse(r.rawPayload, OCSPResponse).responseStatus, 0);
      assert.match(String(r.headers['cache-control']), /max-age=\d+/);
      r = await t.app.inject({ method: 'GET', url: '/pki/ocsp/AAAA' });
      assert.equal(r.headers['x-citytrust-code'], 'PKI_OCSP_MALFORMED');
      r = await t.app.inject({ method: 'POST', url: '/pki/ocsp', headers: { 'content-type': 'application/ocsp-request' }, payload: Buffer.from('not der') });
      assert.equal(r.headers['x-citytrust-code'], 'PKI_OCSP_MALFORMED');
      r = await t.app.inject({ method: 'GET', url: '/pki/crl/readers-1.crl' });
      assert.equal(r.headers['content-type'], 'application/pkix-crl');
      assert.ok(r.rawPayload.includes(Buffer.from(issued.serial, 'hex')));
      r = await t.app.inject({ method: 'GET', url: '/pki/crl/nope-1.crl' });
      assert.equal(r.json().code, 'PKI_CA_NOT_FOUND');
      r = await t.app.inject({ method: 'GET', url: '/pki/ca/root-1.crt' });
      assert.equal(r.headers['content-type'], 'application/pkix-cert');
      r = await t.app.inject({ method: 'GET', url: '/v1/pki/cas', headers: admin });
      assert.equal(r.json().length, 6);
      r = await t.app.inject({ method: 'POST', url: '/v1/pki/init', headers: admin });
      assert.equal(r.json().code, 'PKI_ALREADY_INITIALISED');
    } finally {
      await t.close();
    }
  });

  it('marks a device compromised over the API and every certificate of it is revoked', async () => {
    const { t, transit } = await city();
    try {
      await t.app.inject({ method: 'POST', url: '/v1/devices', headers: transit, payload: { tenant: 'transit', id: 'bus-7', type: 'vehicle', site: 'Depot' } });
      const csr = toPem('CERTIFICATE REQUEST', makeCsr(keyPair()));
      const r1 = await t.app.inject({ method: 'POST', url: '/v1/pki/certificates', headers: transit, payload: { csr, tenant: 'transit', deviceId: 'bus-7' } });
      assert.equal(r1.statusCode, 201);
      assert.equal(r1.json().profile, 'vehicle');
      const r2 = await t.app.inject({ method: 'POST', url: '/v1/devices/transit/bus-7/state', headers: transit, payload: { state: 'compromised' } });
      assert.equal(r2.json().state, 'compromised');
      const list = await t.app.inject({ method: 'GET', url: '/v1/pki/certificates?deviceId=bus-7', headers: transit });
      assert.deepEqual(list.json().map((c: { status: string; reason: string }) => `${c.status}:${c.reason}`), ['revoked:keyCompromise']);
      const again = await t.app.inject({ method: 'POST', url: '/v1/devices/transit/bus-7/state', headers: transit, payload: { state: 'active' } });
      assert.equal(again.json().code, 'DEVICE_STATE_INVALID');
    } finally {
      await t.close();
    }
  });

  it('refuses EST over plain HTTP', async () => {
    const { t } = await city();
    try {
      const r = await t.app.inject({ method: 'GET', url: '/.well-known/est/cacerts' });
      assert.equal(r.statusCode, 403);
      assert.equal(r.json().code, 'PKI_EST_TLS_REQUIRED');
    } finally {
      await t.close();
    }
  });

  it('speaks EST (RFC 7030): cacerts and simpleenroll return certs-only PKCS#7 in base64, Basic auth carries the bootstrap token', async () => {
    const { t, transit } = await city({ 'pki.estAllowPlainHttp': true });
    try {
      let r = await t.app.inject({ method: 'GET', url: '/.well-known/est/cacerts' });
      assert.equal(r.headers['content-type'], 'application/pkcs7-mime; smime-type=certs-only');
      assert.equal(r.headers['content-transfer-encoding'], 'base64');
      const ci = AsnConvert.parse(Buffer.from(r.body, 'base64'), ContentInfo);
      assert.equal(AsnConvert.parse(ci.content, SignedData).certificates?.length, 6);
      r = await t.app.inject({ method: 'GET', url: '/.well-known/est/csrattrs' });
      assert.equal(r.headers['content-type'], 'application/csrattrs');

      await t.app.inject({ method: 'POST', url: '/v1/devices', headers: transit, payload: { tenant: 'transit', id: 'reader-1', type: 'reader', site: 'Door 3' } });
      const token = (await t.app.inject({ method: 'POST', url: '/v1/devices/transit/reader-1/bootstrap', headers: transit, payload: {} })).json().token as string;
      const body = Buffer.from(makeCsr(keyPair())).toString('base64');
      const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`, 'content-type': 'application/pkcs10' });
      r = await t.app.inject({ method: 'POST', url: '/.well-known/est/simpleenroll', headers: { 'content-type': 'application/pkcs10' }, payload: body });
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().code, 'PKI_EST_AUTH_REQUIRED');
      assert.match(String(r.headers['www-authenticate']), /^Basic/);
      r = await t.app.inject({ method: 'POST', url: '/.well-known/est/simpleenroll', headers: basic('reader-2', token), payload: body });
      assert.equal(r.json().code, 'DEVICE_BOOTSTRAP_INVALID');
      r = await t.app.inject({ method: 'POST', url: '/.well-known/est/simpleenroll', headers: basic('reader-1', token), payload: '!!!' });
      assert.equal(r.json().code, 'PKI_CSR_MALFORMED');
      r = await t.app.inject({ method: 'POST', url: '/.well-known/est/simpleenroll', headers: basic('reader-1', token), payload: body });
      assert.equal(r.statusCode, 200);
      const sd = AsnConvert.parse(AsnConvert.parse(Buffer.from(r.body, 'base64'), ContentInfo).content, SignedData);
      assert.equal(sd.certificates?.length, 1);
      r = await t.app.inject({ method: 'POST', url: '/.well-known/est/simplereenroll', headers: { 'content-type': 'application/pkcs10' }, payload: body });
      assert.equal(r.json().code, 'PKI_CLIENT_CERT_REQUIRED');
    } finally {
      await t.close();
    }
  });
});
