/**
 * Reader event ingest on PostgreSQL: the migration, uploads that race (a retry while the first is in
 * flight) storing and counting each event once, and the dashboard counters.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, keyObjectSigner } from '../../src/crypto/index.ts';
import { createCsr, EventQueue, signEventBatch, type ReaderEvent } from '../../src/reader/index.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { auth, testApp, type TestApp } from '../helpers/app.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('reader events on PostgreSQL', () => {
  let t: TestApp;
  let drop: () => Promise<void>;
  before(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    t = await testApp({}, db.url);
    await t.ctx.tenants.create({ id: 'acme', name: 'Acme' }, 'test');
    await t.ctx.pki.init('test');
  });
  after(async () => {
    await t.close();
    await drop();
  });

  it('stores and counts each event once when the same batch arrives several times at once', async (tt) => {
    await t.ctx.devices.register({ tenant: 'acme', id: 'gate-3', type: 'gate', site: 'central' }, 'test');
    const { token } = await t.ctx.bootstrap.create(null, 'acme', 'gate-3', 'test');
    const key = generateKeyPair('P-256');
    const signer = keyObjectSigner('ES256', key.privateKey);
    const issued = await t.ctx.pki.enroll(await createCsr(signer, key.publicKey, 'gate-3'), token);
    const ca = (await t.ctx.pki.listCas()).find((c) => c.id === issued.caId)!;
    const chain = [issued.der, new Uint8Array(Buffer.from(ca.certificatePem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'))];
    const tmp = tempDir();
    tt.after(tmp.remove);
    const q = EventQueue.open(tmp.dir);
    const events: ReaderEvent[] = [];
    for (let i = 0; i < 50; i++) events.push(q.append({ at: t.clock.now() - 1000 * (50 - i), site: 'central', allow: i % 5 !== 0, reason: i % 5 === 0 ? 'ZONE_NOT_GRANTED' : 'GRANTED', by: 'reader', zones: ['A'] }));
    const signed = await signEventBatch({ identity: { chain, signer }, readerId: 'gate-3', tenant: 'acme', iat: Math.floor(t.clock.now() / 1000) }, q.instance, events);
    const payload = { sign1: Buffer.from(signed).toString('base64') };
    const answers = await Promise.all([1, 2, 3].map(() => t.app.inject({ method: 'POST', url: '/v1/readers/gate-3/events', payload })));
    assert.deepEqual(answers.map((a) => a.statusCode), [200, 200, 200]);
    assert.equal(answers.reduce((n, a) => n + a.json<{ accepted: number }>().accepted, 0), 50, 'fifty new events in all');
    const admin = auth(t.adminToken);
    const [row] = (await t.app.inject({ method: 'GET', url: '/v1/readers?tenant=acme', headers: admin })).json<{ events: number; granted: number; denied: number; lastSeq: number; profile: string }[]>();
    assert.deepEqual({ events: row!.events, granted: row!.granted, denied: row!.denied, lastSeq: row!.lastSeq, profile: row!.profile }, { events: 50, granted: 40, denied: 10, lastSeq: 50, profile: 'gate' });
    const stats = (await t.app.inject({ method: 'GET', url: '/v1/readers/stats?tenant=acme', headers: admin })).json<{ byReason: Record<string, number> }>();
    assert.deepEqual(stats.byReason, { ZONE_NOT_GRANTED: 10 });
  });
});
