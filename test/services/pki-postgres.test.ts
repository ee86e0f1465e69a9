/** The PKI on PostgreSQL: the same issuance, enrolment races, revocation, CRL numbers and OCSP as on SQLite. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse } from '@peculiar/asn1-ocsp';
import { createTestDatabase } from '../helpers/pg.ts';
import { keyPair, makeCsr, openPki } from '../pki/helpers.ts';
import { ocspRequest } from '../pki/ocsp-request.ts';
import { fromPemOrDer } from '../../src/pki/x509/der.ts';
import { CertificateWriter } from '../../src/pki/writer.ts';
import { randomBytes } from 'node:crypto';

let db: { url: string; drop: () => Promise<void> };
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

describe('the PKI on PostgreSQL', () => {
  it('enrols with a single-use token under concurrency, revokes, numbers CRLs and answers OCSP', async (t) => {
    const p = await openPki(t, {}, true, db.url);
    assert.equal(p.store.dialect, 'postgres');
    await p.devices.register({ tenant: 'utility', id: 'meter-1', type: 'meter', site: 'x' }, 'test');
    const token = (await p.bootstrap.create(null, 'utility', 'meter-1', 'test')).token;
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => p.pki.enroll(makeCsr(keyPair()), token)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.deepEqual(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code), ['DEVICE_BOOTSTRAP_USED', 'DEVICE_BOOTSTRAP_USED', 'DEVICE_BOOTSTRAP_USED']);
    const issued = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Awaited<ReturnType<typeof p.pki.enroll>>>).value;
    // Many concurrent operator issuances share group commits.
    const many = await Promise.all(Array.from({ length: 40 }, () => p.pki.issue(null, { csr: makeCsr(keyPair()), tenant: 'utility', deviceId: 'meter-1' }, 'test')));
    assert.equal(new Set(many.map((c) => c.serial)).size, 40);
    const c1 = await p.pki.crl('meters-1');
    await p.pki.revoke(null, issued.serial, 'keyCompromise', 'test');
    const c2 = await p.pki.crl('meters-1');
    assert.ok(c2.number > c1.number);
    const resp = await p.pki.ocspRespond(ocspRequest(issued.der, fromPemOrDer(issued.chainPem[0]!, ['CERTIFICATE'], 'PKI_DER_MALFORMED', 'ca')));
    const basic = AsnConvert.parse(AsnConvert.parse(resp.der, OCSPResponse).responseBytes!.response, BasicOCSPResponse);
    assert.ok(basic.tbsResponseData.responses[0]!.certStatus.revoked);
    await p.devices.setState(null, 'utility', 'meter-1', 'compromised', 'test');
    assert.equal((await p.pki.listCertificates(null, { deviceId: 'meter-1', status: 'good' })).length, 0);
  });

  it('fails only the row that cannot be stored when a batch shares one multi-row insert', async (t) => {
    const own = await createTestDatabase();
    t.after(() => own.drop());
    const p = await openPki(t, {}, true, own.url);
    await p.devices.register({ tenant: 'transit', id: 'gate-1', type: 'gate', site: 'x' }, 'test');
    const issued = await p.pki.issue(null, { csr: makeCsr(keyPair()), tenant: 'transit', deviceId: 'gate-1' }, 'test');
    const template = await p.store.db.selectFrom('pki_certificates').selectAll().where('serial', '=', issued.serial).executeTakeFirstOrThrow();
    const fresh = () => ({ ...template, serial: randomBytes(16).toString('hex'), fingerprint: new Uint8Array(randomBytes(32)) });
    const writer = new CertificateWriter(p.store);
    const rows = [fresh(), fresh(), { ...fresh(), serial: issued.serial }, fresh()];
    const results = await Promise.allSettled(rows.map((r) => writer.write(r)));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const stored = await p.store.db.selectFrom('pki_certificates').select('serial').where('serial', 'in', rows.map((r) => r.serial)).execute();
    assert.equal(stored.length, 4);
  });
});
