/** Renewal with the current certificate (the mTLS identity) before it expires, and CRLs re-signed on schedule. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rejectsWith } from '../vault/helpers.ts';
import { keyPair, makeCsr, openPki, type TestPki } from './helpers.ts';

const DAY = 86_400_000;

async function gate(p: TestPki, id = 'gate-1') {
  await p.devices.register({ tenant: 'transit', id, type: 'gate', site: 'north' }, 'test');
  return p.pki.enroll(makeCsr(keyPair()), (await p.bootstrap.create(null, 'transit', id, 'test')).token);
}

async function crlNumber(p: TestPki, ca: string): Promise<number> {
  const r = await p.store.db.selectFrom('pki_cas').select('crl_number').where('id', '=', ca).executeTakeFirstOrThrow();
  return Number(r.crl_number);
}

describe('renewal with the current certificate', () => {
  it('issues a new certificate with the same profile and names for a new key while the current one is valid', async (t) => {
    const p = await openPki(t, { deviceCertDays: 10 });
    const first = await gate(p);
    p.clock.advance(8 * DAY);
    const id = await p.pki.authenticateClient(first.der);
    assert.equal(id.deviceId, 'gate-1');
    const next = await p.pki.renew(makeCsr(keyPair()), id);
    assert.notEqual(next.serial, first.serial);
    assert.equal(next.profile, 'gate');
    assert.deepEqual(next.sans, first.sans);
    assert.ok(next.notAfter > first.notAfter);
    // A CSR asking for another device's name is refused, and nothing is issued.
    const before = await p.pki.listCertificates(null, { deviceId: 'gate-1' });
    await rejectsWith(p.pki.renew(makeCsr(keyPair(), { names: { uri: ['urn:citytrust:device:transit:gate-2'] } }), id), 'PKI_CSR_SAN_FOREIGN');
    assert.equal((await p.pki.listCertificates(null, { deviceId: 'gate-1' })).length, before.length);
  });

  it('refuses an expired certificate, one not issued here and no certificate, each with its code', async (t) => {
    const p = await openPki(t, { deviceCertDays: 10 });
    const first = await gate(p);
    p.clock.advance(10 * DAY + 1000);
    await rejectsWith(p.pki.authenticateClient(first.der), 'PKI_CLIENT_CERT_EXPIRED');
    const other = await openPki(t);
    const foreign = await gate(other, 'gate-9');
    await rejectsWith(p.pki.authenticateClient(foreign.der), 'PKI_CLIENT_CERT_UNKNOWN');
    await rejectsWith(p.pki.authenticateClient(undefined), 'PKI_CLIENT_CERT_REQUIRED');
    await rejectsWith(p.pki.authenticateClient(new Uint8Array(0)), 'PKI_CLIENT_CERT_REQUIRED');
  });
});

describe('CRLs on schedule', () => {
  it('re-signs each CRL at half its validity without a revocation or a fetch, and not before', async (t) => {
    const p = await openPki(t, { crlHours: 24 });
    const first = await p.pki.crl('readers-1');
    const n = await crlNumber(p, 'readers-1');
    p.clock.advance(11 * 3_600_000);
    await p.pki.refresh();
    assert.equal(await crlNumber(p, 'readers-1'), n, 'still fresh: not re-signed');
    p.clock.advance(1 * 3_600_000 + 1000);
    await p.pki.refresh();
    assert.equal(await crlNumber(p, 'readers-1'), n + 1, 're-signed by the schedule');
    const second = await p.pki.crl('readers-1');
    assert.equal(second.number, first.number + 1);
    assert.ok(second.thisUpdate > first.thisUpdate);
    assert.equal(await crlNumber(p, 'readers-1'), n + 1, 'the fetch served the scheduled CRL');
  });
});
