/** Head-end certificates: the meters CA certifies a tenant's vault keys so that meters validate them offline. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { x509 } from './peculiar.ts';
import { validateChain } from '../../src/pki/index.ts';
import { fromPemOrDer } from '../../src/pki/x509/der.ts';
import { EKU_HEAD_END_COMMAND, EKU_HEAD_END_KEY_AGREEMENT } from '../../src/pki/x509/oids.ts';
import { rejectsWith } from '../vault/helpers.ts';
import { testApp, auth } from '../helpers/app.ts';
import { keyPair, makeCsr, openPki, type TestPki } from './helpers.ts';

const pem = (s: string) => fromPemOrDer(s, ['CERTIFICATE'], 'PKI_DER_MALFORMED', 'cert');

async function headEndKeys(p: TestPki, tenant = 'utility'): Promise<{ ka: string; cmd: string }> {
  const caller = { actor: 'test', tenant };
  const ka = await p.vault.createKey(caller, { type: 'ec-p256', label: 'head-end key agreement', usages: ['derive'] });
  const cmd = await p.vault.createKey(caller, { type: 'ec-p256', label: 'head-end commands', usages: ['sign', 'verify'] });
  return { ka: ka.id, cmd: cmd.id };
}

async function count(p: TestPki): Promise<number> {
  const r = await p.store.db.selectFrom('pki_certificates').select((eb) => eb.fn.countAll<number>().as('n')).where('profile', '!=', 'ocsp-signing').executeTakeFirstOrThrow();
  return Number(r.n);
}

describe('head-end certificates for vault keys', () => {
  it('certifies the key-agreement key under the meters CA with keyAgreement, the head-end EKU and the service URN', async (t) => {
    const p = await openPki(t);
    const { ka } = await headEndKeys(p);
    const issued = await p.pki.issueForVaultKey(null, { tenant: 'utility', keyId: ka, profile: 'head-end' }, 'test:operator');
    assert.equal(issued.caId, 'meters-1');
    assert.equal(issued.profile, 'head-end');
    assert.equal(issued.tenant, 'utility');
    assert.equal(issued.deviceId, null);
    assert.equal(issued.subject, 'CN=head-end,OU=head-end,O=utility');
    assert.deepEqual(issued.sans, ['uri:urn:citytrust:service:utility:head-end']);
    // The certified key is the vault key.
    const spki = (await p.vault.publicKey({ actor: 'test', tenant: 'utility' }, ka)).spki;
    const cert = new x509.X509Certificate(new Uint8Array(issued.der));
    assert.deepEqual(new Uint8Array(cert.publicKey.rawData), spki);
    const ku = cert.getExtension(x509.KeyUsagesExtension)!;
    assert.equal(ku.usages, x509.KeyUsageFlags.keyAgreement);
    assert.ok(ku.critical);
    // EKU read by OpenSSL (node:crypto): asn1js misprints the 128-bit UUID arc.
    assert.deepEqual(new X509Certificate(issued.der).keyUsage, [EKU_HEAD_END_KEY_AGREEMENT]);
    // A meter validates it offline: root as anchor, the meters CA as intermediate, the head-end profile.
    const v = validateChain(issued.der, { anchors: [pem(issued.chainPem[1]!)], intermediates: [pem(issued.chainPem[0]!)], time: p.clock.now(), profile: 'head-end' });
    assert.equal(v.profile, 'head-end');
    assert.deepEqual(v.names, ['uri:urn:citytrust:service:utility:head-end']);
    const row = await p.store.db.selectFrom('pki_certificates').select(['key_id', 'device_id']).where('serial', '=', issued.serial).executeTakeFirstOrThrow();
    assert.equal(row.key_id, ka);
    assert.ok(p.audit.actions().includes('pki.cert.issue'));
  });

  it('certifies the command key with digitalSignature and the command EKU, which a meter cannot take for the key-agreement profile', async (t) => {
    const p = await openPki(t);
    const { cmd } = await headEndKeys(p);
    const issued = await p.pki.issueForVaultKey('utility', { tenant: 'utility', keyId: cmd, profile: 'head-end-command' }, 'test:operator');
    const cert = new x509.X509Certificate(new Uint8Array(issued.der));
    assert.equal(cert.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature);
    assert.deepEqual(new X509Certificate(issued.der).keyUsage, [EKU_HEAD_END_COMMAND]);
    const o = { anchors: [pem(issued.chainPem[1]!)], intermediates: [pem(issued.chainPem[0]!)], time: p.clock.now() };
    assert.equal(validateChain(issued.der, { ...o, profile: 'head-end-command' }).profile, 'head-end-command');
    assert.throws(() => validateChain(issued.der, { ...o, profile: 'head-end' }), (e: { code?: string }) => e.code === 'PKI_CHAIN_KEY_USAGE');
  });

  it('refuses a key without the usage the profile certifies, another tenant’s key, and CSR profiles — issuing nothing', async (t) => {
    const p = await openPki(t);
    const { ka, cmd } = await headEndKeys(p);
    await rejectsWith(p.pki.issueForVaultKey(null, { tenant: 'utility', keyId: ka, profile: 'head-end-command' }, 'op'), 'PKI_PROFILE_MISMATCH');
    await rejectsWith(p.pki.issueForVaultKey(null, { tenant: 'utility', keyId: cmd, profile: 'head-end' }, 'op'), 'PKI_PROFILE_MISMATCH');
    await rejectsWith(p.pki.issueForVaultKey(null, { tenant: 'transit', keyId: ka, profile: 'head-end' }, 'op'), 'VAULT_KEY_NOT_FOUND');
    await rejectsWith(p.pki.issueForVaultKey('transit', { tenant: 'utility', keyId: ka, profile: 'head-end' }, 'op'), 'VAULT_KEY_NOT_FOUND');
    await rejectsWith(p.pki.issueForVaultKey(null, { tenant: 'utility', keyId: ka, profile: 'meter' }, 'op'), 'PKI_PROFILE_MISMATCH');
    await rejectsWith(p.pki.issueForVaultKey(null, { tenant: 'utility', keyId: ka, profile: 'nope' }, 'op'), 'PKI_PROFILE_UNKNOWN');
    const aes = await p.vault.createKey({ actor: 'test', tenant: 'utility' }, { type: 'aes-256-gcm', label: 'kek' });
    await rejectsWith(p.pki.issueForVaultKey(null, { tenant: 'utility', keyId: aes.id, profile: 'head-end' }, 'op'), 'PKI_PROFILE_MISMATCH');
    assert.equal(await count(p), 0);
  });

  it('is revoked like any certificate and is never renewed by a holder', async (t) => {
    const p = await openPki(t);
    const { ka } = await headEndKeys(p);
    const issued = await p.pki.issueForVaultKey(null, { tenant: 'utility', keyId: ka, profile: 'head-end' }, 'op');
    await rejectsWith(p.pki.renew(makeCsr(keyPair()), { serial: issued.serial, tenant: 'utility', deviceId: null, profile: 'head-end' }), 'PKI_PROFILE_MISMATCH');
    const info = await p.pki.revoke('utility', issued.serial, 'superseded', 'op');
    assert.equal(info.status, 'revoked');
  });
});

describe('head-end certificates over HTTP', () => {
  it('certifies a tenant vault key by key id for that tenant’s operator, and refuses another tenant’s operator', async () => {
    const t = await testApp();
    try {
      const admin = auth(t.adminToken);
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/pki/init', headers: admin })).statusCode, 201);
      for (const id of ['transit', 'utility']) await t.app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id, name: id } });
      const utility = auth((await t.ctx.tokens.create({ tenant: 'utility', roles: ['operator'] }, undefined)).token);
      const transit = auth((await t.ctx.tokens.create({ tenant: 'transit', roles: ['operator'] }, undefined)).token);
      const ka = await t.ctx.vault.createKey({ actor: 'test', tenant: 'utility' }, { type: 'ec-p256', label: 'ka', usages: ['derive'] });
      let r = await t.app.inject({ method: 'POST', url: '/v1/pki/certificates', headers: transit, payload: { tenant: 'utility', keyId: ka.id, profile: 'head-end' } });
      assert.equal(r.json().code, 'TENANT_FORBIDDEN');
      r = await t.app.inject({ method: 'POST', url: '/v1/pki/certificates', headers: utility, payload: { tenant: 'utility', keyId: ka.id, profile: 'head-end', csr: 'x' } });
      assert.equal(r.statusCode, 400);
      r = await t.app.inject({ method: 'POST', url: '/v1/pki/certificates', headers: utility, payload: { tenant: 'utility', keyId: ka.id, profile: 'head-end' } });
      assert.equal(r.statusCode, 201);
      assert.equal(r.json().profile, 'head-end');
      assert.deepEqual(r.json().sans, ['uri:urn:citytrust:service:utility:head-end']);
    } finally {
      await t.close();
    }
  });
});
