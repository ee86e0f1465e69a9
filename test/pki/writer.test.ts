/** The certificate writer's group commit: many rows share a transaction, one bad row fails alone. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CertificateWriter } from '../../src/pki/writer.ts';
import { keyPair, makeCsr, openPki } from './helpers.ts';

describe('the certificate writer', () => {
  it('commits concurrent rows together and fails only the row that cannot be stored', async (t) => {
    const p = await openPki(t);
    await p.devices.register({ tenant: 'transit', id: 'gate-1', type: 'gate', site: 'north' }, 'test');
    const issued = await p.pki.issue(null, { csr: makeCsr(keyPair()), tenant: 'transit', deviceId: 'gate-1' }, 'test');
    const template = await p.store.db.selectFrom('pki_certificates').selectAll().where('serial', '=', issued.serial).executeTakeFirstOrThrow();
    const fresh = () => ({ ...template, serial: randomBytes(16).toString('hex'), fingerprint: new Uint8Array(randomBytes(32)) });
    const writer = new CertificateWriter(p.store);
    const rows = [fresh(), fresh(), { ...fresh(), serial: issued.serial }, fresh()];
    const results = await Promise.allSettled(rows.map((r) => writer.write(r)));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const stored = await p.store.db.selectFrom('pki_certificates').select('serial').where('serial', 'in', rows.map((r) => r.serial)).execute();
    assert.deepEqual(new Set(stored.map((r) => r.serial)), new Set([rows[0]!.serial, rows[1]!.serial, rows[3]!.serial, issued.serial]));
  });
});
