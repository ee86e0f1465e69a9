/**
 * The updates API end to end: a tenant admin creates a repository and a manufacturer
 * delegation, an operator publishes an image over HTTP and releases it, a reader enrolled in
 * the PKI updates through the public metadata routes with tuf-js and reports its version in
 * a message signed by its certificate key, which lands in the registry view and the audit log.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, sign as cryptoSign } from 'node:crypto';
import { keyPair, makeCsr } from '../pki/helpers.ts';
import { testApp, auth, type TestApp } from '../helpers/app.ts';
import { InjectFetcher } from '../helpers/inject-fetch.ts';
import { DeviceUpdater, reportBytes, type ReportSigner } from '../../src/updates/index.ts';
import { toBase64Url } from '../../src/core/bytes.ts';
import { image, tmp } from './helpers.ts';
import { generateOfflineKey, parseDelegationDraft, signDelegationDraft } from '../../src/updates/ceremony.ts';

describe('the updates API', () => {
  let t: TestApp;
  let admin: { authorization: string };
  let ops: { authorization: string };
  let other: { authorization: string };
  before(async () => {
    t = await testApp();
    // tuf-js judges expiry by the system clock (docs/updates.md): the server's fixed clock starts
    // at the real time, or metadata signed "at" the default fixed date expires for tuf-js a day later.
    t.clock.set(Date.now());
    admin = auth(t.adminToken);
    for (const id of ['transit', 'utility']) await t.ctx.tenants.create({ id, name: id }, 'test');
    ops = auth((await t.ctx.tokens.create({ tenant: 'transit', roles: ['tenant-admin', 'operator'], label: 'ops' }, undefined)).token);
    other = auth((await t.ctx.tokens.create({ tenant: 'utility', roles: ['tenant-admin', 'operator', 'auditor'], label: 'other' }, undefined)).token);
  });
  after(() => t.close());

  it('serves a reader its update and records the signed install report', async (tc) => {
    const app = t.app;
    let r = await app.inject({ method: 'POST', url: '/v1/updates/repos', headers: ops, payload: { id: 'transit-api', tenant: 'transit', deviceClasses: ['reader', 'gate'], keyType: 'ecdsa-sha2-nistp256' } });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().state, 'ready');
    r = await app.inject({ method: 'POST', url: '/v1/updates/repos/transit-api/delegations', headers: ops, payload: { name: 'mfr-readerco', deviceClasses: ['reader'] } });
    assert.equal(r.statusCode, 200, r.body);
    const fw = image(300_000, 4);
    const sha = createHash('sha256').update(fw).digest('hex');
    r = await app.inject({ method: 'POST', url: `/v1/updates/repos/transit-api/targets?deviceClass=reader&version=1.2.0&sha256=${sha}`, headers: { ...ops, 'content-type': 'application/octet-stream' }, payload: Buffer.from(fw) });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().role, 'mfr-readerco');
    r = await app.inject({ method: 'POST', url: '/v1/updates/repos/transit-api/releases', headers: ops, payload: { deviceClass: 'reader', version: '1.2.0' } });
    assert.equal(r.statusCode, 200, r.body);

    // The reader: registered, certified by the PKI, enrolled with the repository's first root.
    await t.ctx.pki.init('test');
    await t.ctx.devices.register({ tenant: 'transit', id: 'reader-0042', type: 'reader', site: 'depot-north' }, 'test');
    const keys = keyPair('P-256');
    await t.ctx.pki.issue(null, { csr: makeCsr(keys), tenant: 'transit', deviceId: 'reader-0042' }, 'test');
    await t.ctx.devices.setState(null, 'transit', 'reader-0042', 'active', 'test');

    const dir = tmp(tc, 'citytrust-device-');
    const root = await app.inject({ method: 'GET', url: '/updates/transit-api/metadata/1.root.json' });
    assert.equal(root.statusCode, 200);
    assert.match(String(root.headers['cache-control']), /immutable/);
    await DeviceUpdater.enrol(dir, new Uint8Array(root.rawPayload));
    const updater = new DeviceUpdater({ server: 'http://city.test', repo: 'transit-api', dir, device: { tenant: 'transit', id: 'reader-0042', deviceClass: 'reader', site: 'depot-north' }, fetcher: new InjectFetcher(app) });
    assert.deepEqual(await updater.update(), { name: 'firmware', action: 'install', version: '1.2.0', from: null });

    const signer: ReportSigner = { alg: 'ES256', sign: async (d) => new Uint8Array(cryptoSign('sha256', d, { key: keys.privateKey, dsaEncoding: 'ieee-p1363' })) };
    const report = await updater.report(signer);
    r = await app.inject({ method: 'POST', url: '/updates/transit-api/reports', payload: report });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { accepted: true, seq: 1 });
    r = await app.inject({ method: 'POST', url: '/updates/transit-api/reports', payload: report });
    assert.equal(r.json().code, 'UPDATE_REPORT_REPLAYED');
    const forged = await updater.report(signer);
    r = await app.inject({ method: 'POST', url: '/updates/transit-api/reports', payload: { ...forged, report: { ...forged.report, installed: { firmware: { ...forged.report.installed.firmware!, version: '9.9.9' } } } } });
    assert.equal(r.json().code, 'UPDATE_REPORT_SIGNATURE_INVALID');
    // Properly signed, but the reader claims to be a gate.
    const asGate = { ...forged.report, seq: forged.report.seq + 1, deviceClass: 'gate' };
    r = await app.inject({ method: 'POST', url: '/updates/transit-api/reports', payload: { report: asGate, alg: 'ES256', signature: toBase64Url(await signer.sign(reportBytes(asGate))) } });
    assert.equal(r.json().code, 'UPDATE_REPORT_INVALID');

    r = await app.inject({ method: 'GET', url: '/v1/updates/devices/transit/reader-0042', headers: ops });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json()[0].version, '1.2.0');
    r = await app.inject({ method: 'GET', url: '/v1/updates/devices/transit/reader-0042', headers: other });
    assert.equal(r.json().code, 'DEVICE_NOT_FOUND');
    const events = await t.ctx.store.db.selectFrom('audit_events').select(['action', 'actor']).where('action', '=', 'updates.device.report').execute();
    assert.deepEqual(events.map((e) => ({ ...e })), [{ action: 'updates.device.report', actor: 'device:reader-0042' }]);
  });

  it('publishes an image a manufacturer signed offline, and refuses one signed for another class', async () => {
    const app = t.app;
    const maker = generateOfflineKey('ecdsa-sha2-nistp256');
    let r = await app.inject({ method: 'POST', url: '/v1/updates/repos', headers: ops, payload: { id: 'transit-mfr', tenant: 'transit', deviceClasses: ['reader', 'gate'] } });
    assert.equal(r.statusCode, 200, r.body);
    r = await app.inject({ method: 'POST', url: '/v1/updates/repos/transit-mfr/delegations', headers: ops, payload: { name: 'mfr-readerco', deviceClasses: ['reader'], offlineKeys: [maker.publicKey] } });
    assert.equal(r.statusCode, 200, r.body);
    const fw = image(2000, 6);
    const sha = createHash('sha256').update(fw).digest('hex');
    r = await app.inject({ method: 'POST', url: `/v1/updates/repos/transit-mfr/targets?deviceClass=reader&version=1.0.0&sha256=${sha}`, headers: { ...ops, 'content-type': 'application/octet-stream' }, payload: Buffer.from(fw) });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().pending, true);
    r = await app.inject({ method: 'POST', url: '/v1/updates/repos/transit-mfr/releases', headers: ops, payload: { deviceClass: 'reader', version: '1.0.0' } });
    assert.equal(r.json().code, 'UPDATE_RELEASE_NOT_FOUND');
    r = await app.inject({ method: 'GET', url: '/v1/updates/repos/transit-mfr/delegations/mfr-readerco/draft', headers: ops });
    assert.equal(r.statusCode, 200, r.body);
    const draft = parseDelegationDraft(r.body);
    // A forged variant: the same key signs the image under the gate class.
    const forgedSigned = { ...draft.signed, targets: { 'images/gate/firmware-1.0.0.bin': { length: fw.length, hashes: { sha256: sha }, custom: { deviceClass: 'gate', kind: 'image', name: 'firmware', version: '1.0.0' } } } };
    const forged = signDelegationDraft({ ...draft, signed: forgedSigned }, maker.privateKeyPem);
    r = await app.inject({ method: 'POST', url: '/v1/updates/repos/transit-mfr/delegations/mfr-readerco/metadata', headers: ops, payload: forged });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().code, 'UPDATE_DELEGATION_PATH_FORBIDDEN');
    r = await app.inject({ method: 'POST', url: '/v1/updates/repos/transit-mfr/delegations/mfr-readerco/metadata', headers: ops, payload: signDelegationDraft(draft, maker.privateKeyPem) });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { role: 'mfr-readerco', version: 1, targets: ['images/reader/firmware-1.0.0.bin'] });
    r = await app.inject({ method: 'GET', url: '/updates/transit-mfr/metadata/1.mfr-readerco.json' });
    assert.equal(r.statusCode, 200);
    r = await app.inject({ method: 'POST', url: '/v1/updates/repos/transit-mfr/releases', headers: ops, payload: { deviceClass: 'reader', version: '1.0.0' } });
    assert.equal(r.statusCode, 200, r.body);
    r = await app.inject({ method: 'GET', url: '/v1/updates/repos/transit-mfr/delegations/mfr-readerco/draft', headers: other });
    assert.equal(r.json().code, 'UPDATE_REPO_NOT_FOUND');
  });

  it('refuses an upload whose hash does not match and publishes nothing', async () => {
    const app = t.app;
    await app.inject({ method: 'POST', url: '/v1/updates/repos', headers: ops, payload: { id: 'transit-hash', tenant: 'transit', deviceClasses: ['gate'] } });
    const before = await app.inject({ method: 'GET', url: '/updates/transit-hash/metadata/timestamp.json' });
    const r = await app.inject({ method: 'POST', url: `/v1/updates/repos/transit-hash/targets?deviceClass=gate&version=1.0.0&sha256=${'0'.repeat(64)}`, headers: { ...ops, 'content-type': 'application/octet-stream' }, payload: Buffer.from(image(1000)) });
    assert.equal(r.statusCode, 422);
    assert.equal(r.json().code, 'UPDATE_HASH_MISMATCH');
    const list = await app.inject({ method: 'GET', url: '/v1/updates/repos/transit-hash/targets', headers: ops });
    assert.deepEqual(list.json(), []);
    const afterTs = await app.inject({ method: 'GET', url: '/updates/transit-hash/metadata/timestamp.json' });
    assert.equal(afterTs.body, before.body);
  });

  it('hides another tenant\'s repository and asks for a token', async () => {
    const app = t.app;
    let r = await app.inject({ method: 'GET', url: '/v1/updates/repos/transit-hash', headers: other });
    assert.equal(r.json().code, 'UPDATE_REPO_NOT_FOUND');
    r = await app.inject({ method: 'POST', url: '/v1/updates/repos/transit-hash/releases', headers: other, payload: { deviceClass: 'gate', version: '1.0.0' } });
    assert.equal(r.json().code, 'UPDATE_REPO_NOT_FOUND');
    r = await app.inject({ method: 'GET', url: '/v1/updates/repos' });
    assert.equal(r.json().code, 'AUTH_MISSING');
    r = await app.inject({ method: 'GET', url: '/updates/transit-hash/metadata/99.root.json' });
    assert.equal(r.statusCode, 404);
    r = await app.inject({ method: 'GET', url: '/updates/nope-nope/metadata/timestamp.json' });
    assert.equal(r.json().code, 'UPDATE_REPO_NOT_FOUND');
    r = await app.inject({ method: 'POST', url: '/v1/updates/repos', headers: admin, payload: { id: 'x', tenant: 'transit', deviceClasses: ['gate'] } });
    assert.equal(r.json().code, 'INPUT_INVALID');
  });
});
