/** Enrolment with one-time bootstrap tokens: profile decides, CSR asks nothing, refusals change no state. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateChain } from '../../src/pki/index.ts';
import { fromPemOrDer } from '../../src/pki/x509/der.ts';
import { rejectsWith } from '../vault/helpers.ts';
import { keyPair, makeCsr, openPki, type TestPki } from './helpers.ts';

const pem = (s: string) => fromPemOrDer(s, ['CERTIFICATE'], 'PKI_DER_MALFORMED', 'cert');

async function gate(p: TestPki, id = 'gate-1', tenant = 'transit'): Promise<string> {
  await p.devices.register({ tenant, id, type: 'gate', site: 'Central Station' }, 'test');
  return (await p.bootstrap.create(null, tenant, id, 'test')).token;
}

async function certCount(p: TestPki): Promise<number> {
  const r = await p.store.db.selectFrom('pki_certificates').select((eb) => eb.fn.countAll<number>().as('n')).where('profile', '!=', 'ocsp-signing').executeTakeFirstOrThrow();
  return Number(r.n);
}

describe('enrolment with a bootstrap token', () => {
  it('issues a gate certificate whose names, usages and policy come from the profile, not the CSR', async (t) => {
    const p = await openPki(t);
    const token = await gate(p);
    const issued = await p.pki.enroll(makeCsr(keyPair(), { cn: 'root-of-everything' }), token);
    assert.equal(issued.profile, 'gate');
    assert.equal(issued.subject, 'CN=gate-1,OU=gate,O=transit');
    assert.deepEqual(issued.sans, ['uri:urn:citytrust:device:transit:gate-1']);
    assert.equal(issued.caId, 'readers-1');
    const v = validateChain(issued.der, { anchors: [pem(issued.chainPem[1]!)], intermediates: [pem(issued.chainPem[0]!)], time: p.clock.now(), profile: 'gate' });
    assert.equal(v.profile, 'gate');
    assert.deepEqual(v.names, ['uri:urn:citytrust:device:transit:gate-1']);
    assert.equal((await p.devices.get(null, 'transit', 'gate-1')).state, 'active');
    assert.ok(p.audit.actions().includes('pki.cert.issue'));
  });

  it('binds a reader or gate to its site when the site is a plain id, and never to a rewritten free-text site', async (t) => {
    const p = await openPki(t);
    await p.devices.register({ tenant: 'transit', id: 'door-3', type: 'reader', site: 'hq-floor3' }, 'test');
    const bound = await p.pki.enroll(makeCsr(keyPair()), (await p.bootstrap.create(null, 'transit', 'door-3', 'test')).token);
    assert.deepEqual(bound.sans, ['uri:urn:citytrust:device:transit:door-3', 'uri:urn:citytrust:site:transit:hq-floor3']);
    const free = await p.pki.enroll(makeCsr(keyPair()), await gate(p, 'gate-9'));
    assert.deepEqual(free.sans, ['uri:urn:citytrust:device:transit:gate-9'], '"Central Station" is not an id: no site binding');
  });

  it('caps the validity at the profile lifetime', async (t) => {
    const p = await openPki(t, { deviceCertDays: 30 });
    const issued = await p.pki.enroll(makeCsr(keyPair()), await gate(p));
    assert.equal(issued.notAfter - Math.floor(p.clock.now() / 1000) * 1000, 30 * 86_400_000);
  });

  it('accepts a token only once', async (t) => {
    const p = await openPki(t);
    const token = await gate(p);
    await p.pki.enroll(makeCsr(keyPair()), token);
    await rejectsWith(p.pki.enroll(makeCsr(keyPair()), token), 'DEVICE_BOOTSTRAP_USED');
    assert.equal(await certCount(p), 1);
  });

  it('lets exactly one of two concurrent uses of a token win, while other enrolments in the same commit succeed', async (t) => {
    const p = await openPki(t);
    const token = await gate(p);
    const other = await gate(p, 'gate-2');
    const results = await Promise.allSettled([p.pki.enroll(makeCsr(keyPair()), token), p.pki.enroll(makeCsr(keyPair()), token), p.pki.enroll(makeCsr(keyPair()), other)]);
    const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code)).sort();
    assert.deepEqual(codes, ['DEVICE_BOOTSTRAP_USED', 'ok', 'ok']);
    assert.equal(await certCount(p), 2);
  });

  it('refuses an expired token', async (t) => {
    const p = await openPki(t);
    const token = await gate(p);
    p.clock.advance(3601_000);
    await rejectsWith(p.pki.enroll(makeCsr(keyPair()), token), 'DEVICE_BOOTSTRAP_EXPIRED');
  });

  it('refuses malformed, unknown and altered tokens alike and one named for another device', async (t) => {
    const p = await openPki(t);
    const token = await gate(p);
    await rejectsWith(p.pki.enroll(makeCsr(keyPair()), 'ctb_nope'), 'DEVICE_BOOTSTRAP_INVALID');
    await rejectsWith(p.pki.enroll(makeCsr(keyPair()), `ctb_0000000000000000_${'A'.repeat(43)}`), 'DEVICE_BOOTSTRAP_INVALID');
    const altered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    await rejectsWith(p.pki.enroll(makeCsr(keyPair()), altered), 'DEVICE_BOOTSTRAP_INVALID');
    await rejectsWith(p.pki.enroll(makeCsr(keyPair()), token, 'gate-2'), 'DEVICE_BOOTSTRAP_INVALID');
    // None of these spent the token.
    await p.pki.enroll(makeCsr(keyPair()), token, 'gate-1');
  });

  it('stores only a hash of the token secret', async (t) => {
    const p = await openPki(t);
    const token = await gate(p);
    // ctb_ ‖ 16 hex ‖ _ ‖ secret: the secret itself may contain "_", so cut by position.
    const secretText = token.slice('ctb_0123456789abcdef_'.length);
    assert.equal(secretText.length, 43);
    const secret = Buffer.from(secretText, 'base64url');
    const rows = await p.store.db.selectFrom('device_bootstrap_tokens').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.equal(Buffer.from(rows[0]!.secret_hash).indexOf(secret), -1);
    assert.equal(JSON.stringify(rows).includes(secretText), false);
  });

  it('refuses CSRs asking for CA rights or foreign names, issues nothing and keeps the token', async (t) => {
    const p = await openPki(t);
    const token = await gate(p);
    await rejectsWith(p.pki.enroll(makeCsr(keyPair(), { ca: true }), token), 'PKI_CSR_CA_REQUESTED');
    await rejectsWith(p.pki.enroll(makeCsr(keyPair(), { keyCertSign: true }), token), 'PKI_CSR_CA_REQUESTED');
    await rejectsWith(p.pki.enroll(makeCsr(keyPair(), { names: { dns: ['bank.example'] } }), token), 'PKI_CSR_SAN_FOREIGN');
    await rejectsWith(p.pki.enroll(makeCsr(keyPair(), { names: { uri: ['urn:citytrust:device:utility:meter-1'] } }), token), 'PKI_CSR_SAN_FOREIGN');
    await rejectsWith(p.pki.enroll(makeCsr(keyPair('rsa')), token), 'PKI_CSR_KEY_NOT_ALLOWED');
    await rejectsWith(p.pki.enroll(new Uint8Array([0x30, 0x03, 0x02, 0x01]), token), 'PKI_CSR_MALFORMED');
    assert.equal(await certCount(p), 0);
    // Asking for exactly the name the profile assigns is fine.
    const ok = await p.pki.enroll(makeCsr(keyPair(), { names: { uri: ['urn:citytrust:device:transit:gate-1'] } }), token);
    assert.equal(ok.profile, 'gate');
  });

  it('refuses a device that is suspended, compromised or retired', async (t) => {
    const p = await openPki(t);
    const token = await gate(p);
    await p.devices.setState(null, 'transit', 'gate-1', 'suspended', 'test');
    await rejectsWith(p.pki.enroll(makeCsr(keyPair()), token), 'DEVICE_NOT_ACTIVE');
  });

  it('issues each device type from the CA of its purpose', async (t) => {
    const p = await openPki(t);
    const want = { reader: 'readers-1', gate: 'readers-1', vehicle: 'vehicles-1', meter: 'meters-1', service: 'services-1', signer: 'code-signing-1' } as const;
    for (const [type, ca] of Object.entries(want)) {
      await p.devices.register({ tenant: 'utility', id: `d-${type}`, type, site: 'x' }, 'test');
      const tok = await p.bootstrap.create(null, 'utility', `d-${type}`, 'test');
      const issued = await p.pki.enroll(makeCsr(keyPair('ed25519')), tok.token);
      assert.equal(issued.caId, ca, type);
    }
  });
});

describe('operator issuance', () => {
  it('issues a tls-server certificate only for names inside the services CA constraints', async (t) => {
    const p = await openPki(t);
    const ok = await p.pki.issue(null, { csr: makeCsr(keyPair()), profile: 'tls-server', dnsNames: ['api.citytrust.local'], ipAddresses: ['127.0.0.1'] }, 'test');
    assert.deepEqual(ok.sans, ['dns:api.citytrust.local', 'ip:127.0.0.1']);
    await rejectsWith(p.pki.issue(null, { csr: makeCsr(keyPair()), profile: 'tls-server', dnsNames: ['bank.example'] }, 'test'), 'PKI_NAME_INVALID');
    await rejectsWith(p.pki.issue(null, { csr: makeCsr(keyPair()), profile: 'tls-server', dnsNames: ['*.citytrust.local'] }, 'test'), 'PKI_NAME_INVALID');
    await rejectsWith(p.pki.issue(null, { csr: makeCsr(keyPair()), profile: 'meter' }, 'test'), 'PKI_PROFILE_MISMATCH');
    await rejectsWith(p.pki.issue(null, { csr: makeCsr(keyPair()), profile: 'nope' }, 'test'), 'PKI_PROFILE_UNKNOWN');
  });

  it('refuses a profile that does not fit the device type', async (t) => {
    const p = await openPki(t);
    await p.devices.register({ tenant: 'utility', id: 'meter-1', type: 'meter', site: 'x' }, 'test');
    await rejectsWith(p.pki.issue(null, { csr: makeCsr(keyPair()), tenant: 'utility', deviceId: 'meter-1', profile: 'reader' }, 'test'), 'PKI_PROFILE_MISMATCH');
    const ok = await p.pki.issue(null, { csr: makeCsr(keyPair()), tenant: 'utility', deviceId: 'meter-1' }, 'test');
    assert.equal(ok.profile, 'meter');
  });

  it('keeps tenants apart: another tenant\'s device and certificate answer as missing', async (t) => {
    const p = await openPki(t);
    const issued = await p.pki.enroll(makeCsr(keyPair()), await gate(p));
    await rejectsWith(p.pki.getCertificate('utility', issued.serial), 'PKI_CERT_NOT_FOUND');
    await rejectsWith(p.pki.revoke('utility', issued.serial, 'keyCompromise', 'x'), 'PKI_CERT_NOT_FOUND');
    await rejectsWith(p.pki.issue('utility', { csr: makeCsr(keyPair()), tenant: 'transit', deviceId: 'gate-1' }, 'x'), 'DEVICE_NOT_FOUND');
    assert.equal((await p.pki.listCertificates('utility')).length, 0);
    assert.equal((await p.pki.listCertificates('transit')).length, 1);
    assert.equal((await p.pki.getCertificate('transit', issued.serial)).status, 'good');
  });
});
