/** Revocation: operator and device lifecycle, CRLs (RFC 5280 §5) and the OCSP responder (RFC 6960). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificateList } from '@peculiar/asn1-x509';
import { BasicOCSPResponse, OCSPResponse } from '@peculiar/asn1-ocsp';
import { validateChain, type IssuedCertificate } from '../../src/pki/index.ts';
import { fromPemOrDer, serialHex } from '../../src/pki/x509/der.ts';
import { rejectsWith } from '../vault/helpers.ts';
import { keyPair, makeCsr, openPki, type TestPki } from './helpers.ts';
import { ocspRequest } from './ocsp-request.ts';

const pem = (s: string) => fromPemOrDer(s, ['CERTIFICATE'], 'PKI_DER_MALFORMED', 'cert');

async function enrolled(p: TestPki, id = 'gate-1', key = keyPair()): Promise<IssuedCertificate> {
  try {
    await p.devices.register({ tenant: 'transit', id, type: 'gate', site: 'Central' }, 'test');
  } catch {
    // registered by an earlier call
  }
  const tok = await p.bootstrap.create(null, 'transit', id, 'test');
  return p.pki.enroll(makeCsr(key), tok.token);
}

function ocspStatus(der: Uint8Array): { status: number; cert?: 'good' | 'revoked' | 'unknown'; reason?: number; nonce?: string } {
  const r = AsnConvert.parse(der, OCSPResponse);
  if (!r.responseBytes) return { status: r.responseStatus };
  const b = AsnConvert.parse(r.responseBytes.response, BasicOCSPResponse);
  const s = b.tbsResponseData.responses[0]!.certStatus;
  const n = b.tbsResponseData.responseExtensions?.find((e) => e.extnID === '1.3.6.1.5.5.7.48.1.2');
  return {
    status: r.responseStatus,
    cert: s.good !== undefined ? 'good' : s.revoked ? 'revoked' : 'unknown',
    ...(s.revoked?.revocationReason ? { reason: s.revoked.revocationReason.reason } : {}),
    ...(n ? { nonce: Buffer.from(n.extnValue.buffer).toString('hex') } : {}),
  };
}

function crlSerials(der: Uint8Array): string[] {
  return (AsnConvert.parse(der, CertificateList).tbsCertList.revokedCertificates ?? []).map((r) => serialHex(new Uint8Array(r.userCertificate)));
}

describe('revocation', () => {
  it('lists a revoked certificate in the next CRL with a higher CRL number, and OCSP answers revoked at once', async (t) => {
    const p = await openPki(t);
    const c = await enrolled(p);
    const issuer = pem(c.chainPem[0]!);
    const req = ocspRequest(c.der, issuer);
    assert.equal(ocspStatus((await p.pki.ocspRespond(req)).der).cert, 'good');
    const before = await p.pki.crl('readers-1');
    assert.deepEqual(crlSerials(before.der), []);
    await p.pki.revoke(null, c.serial, 'keyCompromise', 'test:op');
    const after = await p.pki.crl('readers-1');
    assert.ok(after.number > before.number);
    assert.deepEqual(crlSerials(after.der), [c.serial]);
    const s = ocspStatus((await p.pki.ocspRespond(req)).der);
    assert.equal(s.cert, 'revoked');
    assert.equal(s.reason, 1);
    assert.ok(p.audit.actions().includes('pki.cert.revoke'));
  });

  it('refuses unknown reasons, malformed serials and a second revocation with their codes', async (t) => {
    const p = await openPki(t);
    const c = await enrolled(p);
    await rejectsWith(p.pki.revoke(null, c.serial, 'becauseISaySo', 'x'), 'PKI_REVOCATION_REASON_INVALID');
    await rejectsWith(p.pki.revoke(null, c.serial, 'cACompromise', 'x'), 'PKI_REVOCATION_REASON_INVALID');
    await rejectsWith(p.pki.revoke(null, 'xyz', 'unspecified', 'x'), 'PKI_SERIAL_INVALID');
    await rejectsWith(p.pki.revoke(null, '00ff', 'unspecified', 'x'), 'PKI_CERT_NOT_FOUND');
    assert.equal((await p.pki.getCertificate(null, c.serial)).status, 'good');
    await p.pki.revoke(null, c.serial, 'superseded', 'x');
    await rejectsWith(p.pki.revoke(null, c.serial, 'unspecified', 'x'), 'PKI_CERT_ALREADY_REVOKED');
  });

  it('revokes every certificate of a compromised device and refuses its key afterwards', async (t) => {
    const p = await openPki(t);
    const key = keyPair();
    const a = await enrolled(p, 'gate-1', key);
    const b = await enrolled(p, 'gate-1');
    const other = await enrolled(p, 'gate-2');
    await p.devices.setState(null, 'transit', 'gate-1', 'compromised', 'test:op');
    for (const c of [a, b]) {
      const info = await p.pki.getCertificate(null, c.serial);
      assert.equal(info.status, 'revoked');
      assert.equal(info.reason, 'keyCompromise');
    }
    assert.equal((await p.pki.getCertificate(null, other.serial)).status, 'good');
    assert.deepEqual(crlSerials((await p.pki.crl('readers-1')).der).sort(), [a.serial, b.serial].sort());
    // A compromised key is never certified again, for any device.
    await p.devices.register({ tenant: 'transit', id: 'gate-3', type: 'gate', site: 'x' }, 'test');
    const tok = await p.bootstrap.create(null, 'transit', 'gate-3', 'test');
    await rejectsWith(p.pki.enroll(makeCsr(key), tok.token), 'PKI_CSR_KEY_COMPROMISED');
    // Compromised is final.
    await rejectsWith(p.devices.setState(null, 'transit', 'gate-1', 'active', 'test'), 'DEVICE_STATE_INVALID');
  });

  it('puts certificates on hold while a device is suspended and releases them when it is active again', async (t) => {
    const p = await openPki(t);
    const c = await enrolled(p);
    const req = ocspRequest(c.der, pem(c.chainPem[0]!));
    await p.devices.setState(null, 'transit', 'gate-1', 'suspended', 'test');
    assert.equal((await p.pki.getCertificate(null, c.serial)).status, 'hold');
    const held = ocspStatus((await p.pki.ocspRespond(req)).der);
    assert.equal(held.cert, 'revoked');
    assert.equal(held.reason, 6); // certificateHold
    assert.deepEqual(crlSerials((await p.pki.crl('readers-1')).der), [c.serial]);
    await rejectsWith(p.pki.authenticateClient(c.der), 'PKI_CLIENT_CERT_REVOKED');
    await p.devices.setState(null, 'transit', 'gate-1', 'active', 'test');
    assert.equal((await p.pki.getCertificate(null, c.serial)).status, 'good');
    assert.equal(ocspStatus((await p.pki.ocspRespond(req)).der).cert, 'good');
    assert.deepEqual(crlSerials((await p.pki.crl('readers-1')).der), []);
    assert.equal((await p.pki.authenticateClient(c.der)).deviceId, 'gate-1');
  });
});

describe('the OCSP responder', () => {
  it('serves the same pre-signed bytes for an unchanged certificate and signs nonce requests fresh', async (t) => {
    const p = await openPki(t);
    const c = await enrolled(p);
    const issuer = pem(c.chainPem[0]!);
    const a = await p.pki.ocspRespond(ocspRequest(c.der, issuer));
    p.clock.advance(1000);
    const b = await p.pki.ocspRespond(ocspRequest(c.der, issuer));
    assert.deepEqual(a.der, b.der);
    const nonce = new Uint8Array(16).fill(7);
    const n = await p.pki.ocspRespond(ocspRequest(c.der, issuer, { nonce }));
    assert.notDeepEqual(n.der, a.der);
    assert.equal(ocspStatus(n.der).nonce, `0410${'07'.repeat(16)}`);
    // A device validates the answer (delegated responder, nonce) with its chain; the issuing CA
    // itself is covered by the root's CRL, and without it the path's revocation is unknown.
    const rootCrl = (await p.pki.crl('root-1')).der;
    const v = validateChain(c.der, { anchors: [pem(c.chainPem[1]!)], intermediates: [issuer], time: p.clock.now(), profile: 'gate', revocation: { ocsp: [n.der], crls: [rootCrl], ocspNonce: nonce } });
    assert.equal(v.serial, c.serial);
    assert.throws(() => validateChain(c.der, { anchors: [pem(c.chainPem[1]!)], intermediates: [issuer], time: p.clock.now(), revocation: { ocsp: [n.der], ocspNonce: nonce } }), { code: 'PKI_CHAIN_REVOCATION_UNKNOWN' });
    assert.throws(() => validateChain(c.der, { anchors: [pem(c.chainPem[1]!)], intermediates: [issuer], time: p.clock.now(), revocation: { ocsp: [n.der], crls: [rootCrl], ocspNonce: new Uint8Array(16) } }), { code: 'PKI_CHAIN_OCSP_INVALID' });
  });

  it('answers a byte-identical repeat from the cache without parsing, and misses once the answer is revoked, stale or due a status check', async (t) => {
    const p = await openPki(t, { ocspRecheckSeconds: 5 });
    const c = await enrolled(p);
    const req = ocspRequest(c.der, pem(c.chainPem[0]!));
    assert.equal(p.pki.ocsp.respondCached(req), undefined, 'nothing cached before the first answer');
    const first = await p.pki.ocspRespond(req);
    assert.deepEqual(p.pki.ocsp.respondCached(req)?.der, first.der);
    // A nonce request is never answered from the cache.
    const withNonce = ocspRequest(c.der, pem(c.chainPem[0]!), { nonce: new Uint8Array(8).fill(1) });
    await p.pki.ocspRespond(withNonce);
    assert.equal(p.pki.ocsp.respondCached(withNonce), undefined);
    // Due a status re-check: the slow path re-reads the store, then the hot path serves again.
    p.clock.advance(5000);
    assert.equal(p.pki.ocsp.respondCached(req), undefined);
    await p.pki.ocspRespond(req);
    assert.deepEqual(p.pki.ocsp.respondCached(req)?.der, first.der);
    // Revoked here: the cached good answer is gone at once.
    await p.pki.revoke(null, c.serial, 'keyCompromise', 'test');
    assert.equal(p.pki.ocsp.respondCached(req), undefined);
    const revoked = await p.pki.ocspRespond(req);
    assert.equal(ocspStatus(revoked.der).cert, 'revoked');
    assert.equal(ocspStatus(p.pki.ocsp.respondCached(req)!.der).cert, 'revoked');
    // Garbage and oversized bodies are simply misses.
    assert.equal(p.pki.ocsp.respondCached(new Uint8Array(5000)), undefined);
    assert.equal(p.pki.ocsp.respondCached(Uint8Array.of(1, 2, 3)), undefined);
  });

  it('re-signs a cached answer after half its validity', async (t) => {
    const p = await openPki(t, { ocspMinutes: 10 });
    const c = await enrolled(p);
    const req = ocspRequest(c.der, pem(c.chainPem[0]!));
    const a = await p.pki.ocspRespond(req);
    p.clock.advance(5 * 60_000 + 1000);
    const b = await p.pki.ocspRespond(req);
    assert.notDeepEqual(a.der, b.der);
  });

  it('answers unknown for a serial it never issued, unauthorized for a foreign issuer, malformedRequest for garbage', async (t) => {
    const p = await openPki(t);
    const c = await enrolled(p);
    const issuer = pem(c.chainPem[0]!);
    assert.equal(ocspStatus((await p.pki.ocspRespond(ocspRequest(c.der, issuer, { serial: Buffer.from('0102030405', 'hex') }))).der).cert, 'unknown');
    assert.equal(ocspStatus((await p.pki.ocspRespond(ocspRequest(c.der, issuer, { hash: 'sha256' }))).der).cert, 'good');
    // The root is a CA of ours but its certificates are checked by CRL only.
    const byRoot = await p.pki.ocspRespond(ocspRequest(issuer, pem(c.chainPem[1]!)));
    assert.equal(ocspStatus(byRoot.der).status, 6);
    assert.equal(byRoot.code, 'PKI_OCSP_ISSUER_UNKNOWN');
    const foreign = await openPki(t);
    const fc = await enrolled(foreign);
    const f = await p.pki.ocspRespond(ocspRequest(fc.der, pem(fc.chainPem[0]!)));
    assert.equal(ocspStatus(f.der).status, 6);
    assert.equal(f.code, 'PKI_OCSP_ISSUER_UNKNOWN');
    for (const bad of [new Uint8Array([0x30, 0x00]), new Uint8Array([1, 2, 3]), new Uint8Array(5000).fill(0x30)]) {
      const r = await p.pki.ocspRespond(bad);
      assert.equal(ocspStatus(r.der).status, 1);
      assert.equal(r.code, 'PKI_OCSP_MALFORMED');
    }
    const many = await p.pki.ocspRespond(ocspRequest(c.der, issuer, { extra: 10 }));
    assert.equal(ocspStatus(many.der).status, 1);
    assert.equal(many.code, 'PKI_OCSP_UNSUPPORTED');
  });
});
