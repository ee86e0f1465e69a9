/**
 * A reader updating from the real server with tuf-js: enrolled in the PKI and with the update
 * repository's root, it installs its firmware (signed by its manufacturer's delegated role),
 * a trust-list bundle it applies to its trust cache, and a configuration bundle; it reports
 * what runs in a message signed with its certificate key, which lands in the device's
 * installed versions and the audit log. After a restart it still refuses older metadata, and
 * a bundle the trust cache does not verify is refused with nothing changed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { coseVerifierKey, generateKeyPair, keyObjectSigner } from '../../src/crypto/index.ts';
import { createCsr, enroll, TrustCache, validateReaderConfig, ReaderUpdates, READER_TRUST_BUNDLE_TYPE, type ReaderConfig } from '../../src/reader/index.ts';
import type { ReaderKeyMaterial } from '../../src/tap/index.ts';
import { auth, testApp, type TestApp } from '../helpers/app.ts';
import { tempDir } from '../helpers/tmp.ts';
import { InjectFetcher, injectFetch } from '../helpers/inject-fetch.ts';
import { openEnv, standardRepo, image, MirrorFetcher, TRANSIT } from '../updates/helpers.ts';

const REPO = 'acme-readers';

describe('a reader updating from the server', () => {
  let t: TestApp;
  let ops: { authorization: string };
  let identity: ReaderKeyMaterial;
  let config: ReaderConfig;
  /** The reader's update directory: one device, so one directory across the tests. */
  let home: string;
  const dirs: (() => void)[] = [];

  async function publish(kind: 'image' | 'data', name: string, version: string, content: Uint8Array): Promise<void> {
    const sha = createHash('sha256').update(content).digest('hex');
    let r = await t.app.inject({ method: 'POST', url: `/v1/updates/repos/${REPO}/targets?deviceClass=reader&kind=${kind}&name=${name}&version=${version}&sha256=${sha}`, headers: { ...ops, 'content-type': 'application/octet-stream' }, payload: Buffer.from(content) });
    assert.equal(r.statusCode, 200, r.body);
    r = await t.app.inject({ method: 'POST', url: `/v1/updates/repos/${REPO}/releases`, headers: ops, payload: { deviceClass: 'reader', name, version } });
    assert.equal(r.statusCode, 200, r.body);
  }

  before(async () => {
    t = await testApp();
    // tuf-js judges expiry by the system clock (docs/updates.md): the server's fixed clock starts
    // at the real time, or metadata signed "at" the default fixed date expires for tuf-js a day later.
    t.clock.set(Date.now());
    await t.ctx.tenants.create({ id: 'acme', name: 'Acme' }, 'test');
    await t.ctx.pki.init('test');
    await t.ctx.credentials.rotateIssuerKey('acme', 'ES256', 'test');
    ops = auth((await t.ctx.tokens.create({ tenant: 'acme', roles: ['tenant-admin', 'operator', 'auditor'], label: 'ops' }, undefined)).token);
    // The reader: registered, enrolled through the PKI with a bootstrap token, then active.
    await t.ctx.devices.register({ tenant: 'acme', id: 'door-12', type: 'reader', site: 'hq' }, 'test');
    const { token } = await t.ctx.bootstrap.create(null, 'acme', 'door-12', 'test');
    const key = generateKeyPair('P-256');
    const signer = keyObjectSigner('ES256', key.privateKey);
    const e = await enroll({ serverUrl: 'http://server', csr: await createCsr(signer, key.publicKey, 'door-12'), token, fetch: injectFetch(t.app) });
    identity = { chain: e.chain, signer };
    config = validateReaderConfig({ readerId: 'door-12', tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'], serverUrl: 'http://server' });
    // The repository: the reader maker signs reader images; the tenant signs data bundles.
    let r = await t.app.inject({ method: 'POST', url: '/v1/updates/repos', headers: ops, payload: { id: REPO, tenant: 'acme', deviceClasses: ['reader', 'gate'] } });
    assert.equal(r.statusCode, 200, r.body);
    r = await t.app.inject({ method: 'POST', url: `/v1/updates/repos/${REPO}/delegations`, headers: ops, payload: { name: 'mfr-readerco', deviceClasses: ['reader'] } });
    assert.equal(r.statusCode, 200, r.body);
  });
  after(async () => {
    for (const d of dirs) d();
    await t.close();
  });

  async function reader(fetcher = new InjectFetcher(t.app), dir?: string): Promise<{ updates: ReaderUpdates; trust: TrustCache; dir: string; fetcher: InjectFetcher }> {
    let d = dir;
    if (d === undefined) {
      const tmp = tempDir();
      dirs.push(tmp.remove);
      d = tmp.dir;
      const root = await t.app.inject({ method: 'GET', url: `/updates/${REPO}/metadata/1.root.json` });
      await ReaderUpdates.enrol(d, new Uint8Array(root.rawPayload));
    }
    // The trust cache persists next to the update state, as in a reader home.
    const { cache: trust } = TrustCache.open({ root: (await t.ctx.credentials.root.get()).verifier, dir: d, now: t.clock.now() });
    const updates = new ReaderUpdates({ repo: REPO, dir: d, config, identity, trust, clock: t.clock, fetcher, fetch: injectFetch(t.app) });
    return { updates, trust, dir: d, fetcher };
  }

  it('installs firmware, the trust list and a configuration as released, and reports them signed', async () => {
    await publish('image', 'firmware', '1.0.0', new Uint8Array(50_000).fill(7));
    const trustList = (await t.ctx.credentials.trustLists.current()).token;
    await publish('data', 'trust-list', '1', Buffer.from(JSON.stringify({ _type: READER_TRUST_BUNDLE_TYPE, trustList: Buffer.from(trustList).toString('base64'), statusLists: [] })));
    await publish('data', 'config', '1', Buffer.from(JSON.stringify({ antiPassbackSeconds: 45, whenStale: 'fail-closed' })));

    const rd = await reader();
    home = rd.dir;
    assert.equal(rd.trust.trust, undefined);
    const run = await rd.updates.run();
    assert.deepEqual(run.refused, []);
    assert.deepEqual(
      [...run.installed].sort((a, b) => (a.name < b.name ? -1 : 1)),
      [
        { name: 'config', version: '1' },
        { name: 'firmware', version: '1.0.0' },
        { name: 'trust-list', version: '1' },
      ],
    );
    assert.equal(run.reported, 1);
    assert.equal(rd.updates.lastTrustUpdate?.trustList, 'updated');
    assert.ok(rd.trust.trust, 'the trust cache holds the verified trust list');
    assert.equal(rd.updates.config.antiPassbackSeconds, 45);
    assert.equal(rd.updates.config.readerId, 'door-12');
    assert.deepEqual(await ReaderUpdates.keptArtifact(rd.dir, 'firmware'), Buffer.alloc(50_000, 7));

    const view = await t.app.inject({ method: 'GET', url: '/v1/updates/devices/acme/door-12', headers: ops });
    assert.deepEqual(
      (view.json() as { name: string; version: string }[]).map((v) => [v.name, v.version]),
      [
        ['config', '1'],
        ['firmware', '1.0.0'],
        ['trust-list', '1'],
      ],
    );
    // The device registry carries the reported versions too.
    const dev = await t.app.inject({ method: 'GET', url: '/v1/devices/acme/door-12', headers: ops });
    assert.deepEqual((dev.json() as { firmware: Record<string, string> }).firmware, { config: '1', firmware: '1.0.0', 'trust-list': '1' });
    assert.equal(typeof (dev.json() as { firmwareReportedAt: number }).firmwareReportedAt, 'number');
    const events = await t.ctx.store.db.selectFrom('audit_events').select(['actor', 'subject']).where('action', '=', 'updates.device.report').execute();
    assert.deepEqual(events.map((x) => ({ ...x })), [{ actor: 'device:door-12', subject: 'door-12' }]);

    // Nothing new: nothing installed, nothing reported again.
    const again = await rd.updates.run();
    assert.deepEqual(again.installed, []);
    assert.equal(again.reported, undefined);
  });

  it('refuses older metadata after a restart (the trusted metadata is persisted)', async () => {
    const first = await reader(new InjectFetcher(t.app), home);
    const oldTimestamp = new Uint8Array((await t.app.inject({ method: 'GET', url: `/updates/${REPO}/metadata/timestamp.json` })).rawPayload);
    await publish('image', 'firmware', '1.1.0', new Uint8Array(50_000).fill(8));
    const run = await first.updates.run();
    assert.deepEqual(run.installed, [{ name: 'firmware', version: '1.1.0' }]);
    assert.equal(run.reported, 2);
    // A new process on the same directory, behind a mirror replaying the older timestamp.
    const fetcher = new InjectFetcher(t.app);
    fetcher.replace.set('/timestamp.json', oldTimestamp);
    const restarted = await reader(fetcher, first.dir);
    await assert.rejects(restarted.updates.run(), (e: Error & { code?: string }) => e.code === 'UPDATE_METADATA_ROLLBACK');
    assert.equal((await restarted.updates.installed()).firmware?.version, '1.1.0');
    assert.equal(restarted.updates.config.antiPassbackSeconds, 45, 'the applied configuration survives the restart');
  });

  it('refuses a trust-list bundle its trust cache does not verify, and a configuration that sets the identity', async () => {
    const rd = await reader(new InjectFetcher(t.app), home);
    const held = rd.trust.summary().trustListIat;
    assert.ok(held !== undefined, 'the trust list applied in the first test was persisted by the trust cache');
    await publish('data', 'trust-list', '2', Buffer.from(JSON.stringify({ _type: READER_TRUST_BUNDLE_TYPE, trustList: Buffer.from('not a trust list').toString('base64'), statusLists: [] })));
    await publish('data', 'config', '2', Buffer.from(JSON.stringify({ readerId: 'door-99' })));
    const run = await rd.updates.run();
    assert.deepEqual(run.installed, []);
    assert.deepEqual(
      run.refused.map((r) => [r.name, r.code]),
      [
        ['config', 'READER_CONFIG_INVALID'],
        ['trust-list', 'READER_TRUST_CACHE_INVALID'],
      ],
    );
    const inst = await rd.updates.installed();
    assert.equal(inst['trust-list']?.version, '1');
    assert.equal(inst.config?.version, '1');
    assert.equal(rd.trust.summary().trustListIat, held);
    assert.equal(rd.updates.config.readerId, 'door-12');
  });
});

describe('a gate updating with the reader SDK', () => {
  it('installs only its own class, and retries a report the server did not take', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await env.updates.publish(TRANSIT, 'transit-fw', { deviceClass: 'reader', version: '5.0.0', content: image(1000, 1) });
    await env.updates.release(TRANSIT, 'transit-fw', { deviceClass: 'reader', version: '5.0.0' });
    await env.updates.publish(TRANSIT, 'transit-fw', { deviceClass: 'gate', version: '1.4.0', content: image(1000, 2) });
    await env.updates.release(TRANSIT, 'transit-fw', { deviceClass: 'gate', version: '1.4.0' });
    const tmp = tempDir();
    t.after(tmp.remove);
    await ReaderUpdates.enrol(tmp.dir, await env.updates.metadata('transit-fw', '1.root.json'));
    const key = generateKeyPair('P-256');
    const posted: string[] = [];
    let accept = false;
    const fakeFetch = (async (url: string | URL | Request) => {
      posted.push(String(url));
      return accept ? Response.json({ accepted: true, seq: 2 }) : Response.json({ code: 'DEVICE_NOT_ACTIVE', message: 'the device is not active' }, { status: 409 });
    }) as typeof fetch;
    const gateConfig = validateReaderConfig({ readerId: 'gate-3', tenant: 'transit', site: 'depot-north', resources: ['gate:depot-north/1'], serverUrl: 'http://repo.test' });
    const updates = new ReaderUpdates({ repo: 'transit-fw', dir: tmp.dir, config: gateConfig, deviceClass: 'gate', identity: { chain: [], signer: keyObjectSigner('ES256', key.privateKey) }, trust: new TrustCache({ root: coseVerifierKey('ES256', key.publicKey) }), clock: env.clock, fetcher: new MirrorFetcher(env.updates), fetch: fakeFetch });
    const run = await updates.run();
    assert.deepEqual(run.installed, [{ name: 'firmware', version: '1.4.0' }]);
    assert.deepEqual(run.reportError, { code: 'DEVICE_NOT_ACTIVE', message: 'the server refused the install report: the device is not active' });
    assert.deepEqual(posted, ['http://repo.test/updates/transit-fw/reports']);
    // The next run sends the report again (nothing new to install); then it stops.
    accept = true;
    const again = await updates.run();
    assert.deepEqual(again.installed, []);
    assert.equal(again.reported, 2);
    assert.equal((await updates.run()).reported, undefined);
    assert.equal(posted.length, 2);
  });
});
