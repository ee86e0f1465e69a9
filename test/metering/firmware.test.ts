/**
 * A simulated meter (its identity key certified by the PKI) updating from the real server with
 * tuf-js: it installs only verified firmware of its
 * class, signed by the manufacturer delegated for meters, follows a staged rollout (not in the
 * first wave, then in it; a halt stops it), refuses a tampered image and never goes back, and
 * reports what runs in a message signed with its certificate key (installed versions + audit).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { MeterUpdates, SimulatedMeter, MemoryMeterStorage } from '../../src/metering/meter.ts';
import type { ReportSigner } from '../../src/updates/client.ts';
import { auth, testApp, type TestApp } from '../helpers/app.ts';
import { tempDir } from '../helpers/tmp.ts';
import { InjectFetcher, injectFetch } from '../helpers/inject-fetch.ts';

const REPO = 'utility-meters';

describe('a meter updating from the server', () => {
  let t: TestApp;
  let ops: { authorization: string };
  let signer: ReportSigner;
  let dir: string;
  let fetcher: InjectFetcher;
  let flashed: { version: string; bytes: Buffer }[];
  let meter: MeterUpdates;
  const dirs: (() => void)[] = [];

  async function publish(version: string, fill: number): Promise<void> {
    const content = Buffer.alloc(20_000, fill);
    const sha = createHash('sha256').update(content).digest('hex');
    const r = await t.app.inject({ method: 'POST', url: `/v1/updates/repos/${REPO}/targets?deviceClass=meter&version=${version}&sha256=${sha}`, headers: { ...ops, 'content-type': 'application/octet-stream' }, payload: content });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().role, 'mfr-meterco');
  }

  before(async () => {
    t = await testApp();
    // tuf-js judges expiry by the system clock (docs/updates.md): the server's fixed clock starts
    // at the real time, or metadata signed "at" the default fixed date expires for tuf-js a day later.
    t.clock.set(Date.now());
    await t.ctx.tenants.create({ id: 'utility', name: 'Utility' }, 'test');
    await t.ctx.pki.init('test');
    ops = auth((await t.ctx.tokens.create({ tenant: 'utility', roles: ['tenant-admin', 'operator', 'auditor'], label: 'ops' }, undefined)).token);
    await t.ctx.devices.register({ tenant: 'utility', id: 'meter-0007', type: 'meter', site: 'district-4' }, 'test');
    // The simulated meter makes its identity key, the PKI certifies it, and that key signs the reports.
    const sim = SimulatedMeter.open({ tenant: 'utility', meterId: 'meter-0007', storage: new MemoryMeterStorage(), clock: t.clock });
    sim.generateIdentity();
    const issued = await t.ctx.pki.issue(null, { csr: sim.csr(), tenant: 'utility', deviceId: 'meter-0007' }, 'test');
    sim.installCertificate(new Uint8Array(new X509Certificate(issued.certificatePem).raw));
    await t.ctx.devices.setState(null, 'utility', 'meter-0007', 'active', 'test');
    signer = { alg: 'ES256', sign: async (d) => sim.signWithIdentity(d) };
    let r = await t.app.inject({ method: 'POST', url: '/v1/updates/repos', headers: ops, payload: { id: REPO, tenant: 'utility', deviceClasses: ['meter'] } });
    assert.equal(r.statusCode, 200, r.body);
    r = await t.app.inject({ method: 'POST', url: `/v1/updates/repos/${REPO}/delegations`, headers: ops, payload: { name: 'mfr-meterco', deviceClasses: ['meter'] } });
    assert.equal(r.statusCode, 200, r.body);
    const tmp = tempDir();
    dirs.push(tmp.remove);
    dir = tmp.dir;
    await MeterUpdates.enrol(dir, new Uint8Array((await t.app.inject({ method: 'GET', url: `/updates/${REPO}/metadata/1.root.json` })).rawPayload));
    fetcher = new InjectFetcher(t.app);
    flashed = [];
    meter = new MeterUpdates({
      server: 'http://server',
      repo: REPO,
      dir,
      tenant: 'utility',
      meterId: 'meter-0007',
      site: 'district-4',
      signer,
      clock: t.clock,
      fetcher,
      fetch: injectFetch(t.app),
      onFirmware: async (file, a) => {
        const { readFile } = await import('node:fs/promises');
        flashed.push({ version: a.version, bytes: await readFile(file) });
      },
    });
  });
  after(async () => {
    for (const d of dirs) d();
    await t.close();
  });

  it('installs released firmware and reports it in a signed message', async () => {
    await publish('3.0.0', 1);
    await t.app.inject({ method: 'POST', url: `/v1/updates/repos/${REPO}/releases`, headers: ops, payload: { deviceClass: 'meter', version: '3.0.0' } });
    const run = await meter.run();
    assert.deepEqual(run.installed, [{ name: 'firmware', version: '3.0.0' }]);
    assert.equal(run.reported, 1);
    assert.deepEqual(flashed.map((f) => [f.version, f.bytes.equals(Buffer.alloc(20_000, 1))]), [['3.0.0', true]]);
    const view = await t.app.inject({ method: 'GET', url: '/v1/updates/devices/utility/meter-0007', headers: ops });
    assert.deepEqual((view.json() as { name: string; version: string; deviceClass: string }[]).map((v) => [v.name, v.version, v.deviceClass]), [['firmware', '3.0.0', 'meter']]);
    const audit = await t.ctx.store.db.selectFrom('audit_events').select(['actor', 'details']).where('action', '=', 'updates.device.report').execute();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.actor, 'device:meter-0007');
  });

  it('follows a staged rollout: outside the first wave, then in it; a halt stops it', async () => {
    await publish('3.1.0', 2);
    // A rollout to 0 % and another district: this meter waits.
    let r = await t.app.inject({ method: 'POST', url: `/v1/updates/repos/${REPO}/releases`, headers: ops, payload: { deviceClass: 'meter', version: '3.1.0', percent: 0, sites: ['district-1'] } });
    assert.equal(r.statusCode, 200, r.body);
    let run = await meter.run();
    assert.deepEqual(run.decisions, [{ name: 'firmware', action: 'not-in-rollout', version: '3.1.0', installed: '3.0.0' }]);
    // Halted while widened to this district: still waits.
    r = await t.app.inject({ method: 'POST', url: `/v1/updates/repos/${REPO}/rollout`, headers: ops, payload: { deviceClass: 'meter', sites: ['district-1', 'district-4'], state: 'halted' } });
    assert.equal(r.statusCode, 200, r.body);
    run = await meter.run();
    assert.equal(run.decisions[0]!.action, 'halted');
    // Resumed: installs.
    r = await t.app.inject({ method: 'POST', url: `/v1/updates/repos/${REPO}/rollout`, headers: ops, payload: { deviceClass: 'meter', state: 'active' } });
    assert.equal(r.statusCode, 200, r.body);
    run = await meter.run();
    assert.deepEqual(run.installed, [{ name: 'firmware', version: '3.1.0' }]);
    assert.equal(run.reported, 2);
  });

  it('refuses a tampered image and keeps the running version', async () => {
    await publish('3.2.0', 3);
    await t.app.inject({ method: 'POST', url: `/v1/updates/repos/${REPO}/releases`, headers: ops, payload: { deviceClass: 'meter', version: '3.2.0' } });
    fetcher.tamper = '.firmware-3.2.0.bin';
    const run = await meter.run();
    fetcher.tamper = undefined;
    assert.deepEqual(run.installed, []);
    assert.deepEqual(run.refused.map((x) => x.code), ['UPDATE_TARGET_HASH_MISMATCH']);
    assert.equal((await meter.installed()).firmware?.version, '3.1.0');
    assert.equal(flashed.length, 2, 'nothing was flashed');
    assert.equal(run.reported, undefined, 'nothing changed, nothing to report');
  });

  it('never goes back: the server refuses an older release, and the meter an older signed image', async () => {
    const r = await t.app.inject({ method: 'POST', url: `/v1/updates/repos/${REPO}/releases`, headers: ops, payload: { deviceClass: 'meter', version: '3.0.0' } });
    assert.equal(r.json().code, 'UPDATE_VERSION_NOT_NEWER');
    const run = await meter.run();
    assert.deepEqual(run.installed, [{ name: 'firmware', version: '3.2.0' }], 'the untampered image installs at the next run');
    // 3.0.0 is still properly signed in the repository: the meter refuses it anyway.
    await assert.rejects(meter.installTarget('firmware', 'images/meter/firmware-3.0.0.bin'), (e: Error & { code?: string }) => e.code === 'UPDATE_VERSION_ROLLBACK');
    assert.equal((await meter.installed()).firmware?.version, '3.2.0');
    // A gate image is not for a meter, whoever signed it.
    await assert.rejects(meter.installTarget('firmware', 'images/gate/firmware-1.0.0.bin'), (e: Error & { code?: string }) => e.code === 'UPDATE_TARGET_WRONG_CLASS');
  });
});
