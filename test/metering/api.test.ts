import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, auth, type TestApp } from '../helpers/app.ts';
import { MemoryMeterStorage, MeterMqttClient, SimulatedMeter, type HeadEndInfo } from '../../src/metering/meter.ts';

async function until(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the metering API', () => {
  let t: TestApp;
  let utilityAdmin: string;
  let opA: string;
  let opB: string;
  let auditor: string;
  let waterOp: string;
  const links: MeterMqttClient[] = [];
  const U = '/v1/metering/tenants/utility';

  const call = async (token: string, method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const r = await t.app.inject({ method, url, headers: auth(token), ...(payload !== undefined ? { payload: payload as object } : {}) });
    return { status: r.statusCode, body: r.body ? (r.json() as Record<string, unknown> & { code?: string }) : {} };
  };

  /** Registers, enrols and connects a meter over the embedded broker. */
  const meter = async (id: string, o: { protected?: boolean; district?: string } = {}): Promise<SimulatedMeter> => {
    const r = await call(opA, 'POST', `${U}/meters`, { id, district: o.district ?? 'north', class: 'residential', customer: { name: `Name ${id}`, address: 'Street 1', protected: Boolean(o.protected) } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const m = SimulatedMeter.open({ tenant: 'utility', meterId: id, storage: new MemoryMeterStorage(), clock: t.clock });
    m.generateIdentity();
    const token = await t.ctx.bootstrap.create('utility', 'utility', id, 'test');
    m.installCertificate((await t.ctx.pki.enroll(m.csr(), token.token, id)).der);
    m.trustHeadEnd((await t.app.inject(`${U}/head-end`)).json() as HeadEndInfo);
    const link = await MeterMqttClient.connect(m, { url: t.ctx.metering.broker!.url });
    links.push(link);
    await link.establishKey();
    await link.sendReading();
    return m;
  };

  before(async () => {
    t = await testApp({ 'server.rateLimit': 100000 });
    await t.ctx.pki.init('test');
    await t.ctx.metering.startTransport({ embedded: true, host: '127.0.0.1', port: 0, tls: false, url: undefined, clientId: 'test' });
    for (const [id, name] of [['utility', 'Utility'], ['water', 'Water']]) {
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/tenants', headers: auth(t.adminToken), payload: { id, name } })).statusCode, 201);
    }
    const mk = async (body: object) => {
      const r = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: auth(t.adminToken), payload: body });
      assert.equal(r.statusCode, 201, r.body);
      return r.json().token as string;
    };
    utilityAdmin = await mk({ tenant: 'utility', roles: ['tenant-admin'] });
    opA = await mk({ tenant: 'utility', roles: ['operator'] });
    opB = await mk({ tenant: 'utility', roles: ['operator'] });
    auditor = await mk({ tenant: 'utility', roles: ['auditor'] });
    waterOp = await mk({ tenant: 'water', roles: ['operator'] });
  });
  after(async () => {
    await Promise.all(links.map((l) => l.close()));
    await t.close();
  });

  it('sets a tenant up (tenant-admin only) and publishes the head-end public keys without a token', async () => {
    assert.equal((await call(opA, 'POST', `${U}/setup`)).body.code, 'AUTH_FORBIDDEN');
    const r = await call(utilityAdmin, 'POST', `${U}/setup`);
    assert.equal(r.status, 200);
    const pub = await t.app.inject(`${U}/head-end`);
    assert.equal(pub.statusCode, 200);
    assert.deepEqual(pub.json(), r.body);
    assert.equal((await t.app.inject('/v1/metering/tenants/water/head-end')).json().code, 'METER_SETUP_MISSING');
  });

  it('registers meters, keeps customer data out of listings, and reads it only for operators', async () => {
    await meter('m-1');
    const list = await call(auditor, 'GET', `${U}/meters`);
    assert.equal(list.status, 200);
    assert.ok(!JSON.stringify(list.body).includes('Name m-1'));
    assert.equal((await call(auditor, 'GET', `${U}/meters/m-1/customer`)).body.code, 'AUTH_FORBIDDEN');
    const c = await call(opA, 'GET', `${U}/meters/m-1/customer`);
    assert.deepEqual(c.body, { name: 'Name m-1', address: 'Street 1', protected: false });
    assert.equal((await call(waterOp, 'GET', `${U}/meters/m-1`)).body.code, 'TENANT_FORBIDDEN');
    assert.equal((await call(opA, 'GET', `${U}/meters/nope`)).body.code, 'METER_NOT_FOUND');
    assert.equal((await call(opA, 'POST', `${U}/meters`, { id: 'm-1', district: 'north', class: 'residential', customer: { name: 'x', address: 'y', protected: false } })).body.code, 'METER_EXISTS');
  });

  it('refuses malformed bodies before anything happens', async () => {
    const bad = [
      { id: 'M 1', district: 'north', class: 'residential', customer: { name: 'x', address: 'y', protected: false } },
      { id: 'm-9', district: 'north', class: 'spaceship', customer: { name: 'x', address: 'y', protected: false } },
      { id: 'm-9', district: 'north', class: 'residential', customer: { name: 'x', address: 'y' } },
      { id: 'm-9', district: 'north', class: 'residential', customer: { name: 'x', address: 'y', protected: false }, extra: 1 },
    ];
    for (const b of bad) assert.equal((await call(opA, 'POST', `${U}/meters`, b)).status, 400, JSON.stringify(b));
    assert.equal((await call(opA, 'GET', `${U}/meters/m-9`)).body.code, 'METER_NOT_FOUND');
    assert.equal((await call(opA, 'POST', `${U}/commands`, { action: 'explode', meters: ['m-1'], reason: 'x' })).status, 400);
  });

  it('shows readings and alerts', async () => {
    const r = await call(auditor, 'GET', `${U}/meters/m-1/readings`);
    assert.equal(r.status, 200);
    assert.equal((r.body as unknown as unknown[]).length, 1);
    await t.ctx.metering.ingest.submit('utility', 'm-1', new Uint8Array(5));
    const a = await call(auditor, 'GET', `${U}/alerts?meter=m-1`);
    assert.deepEqual((a.body as unknown as { kind: string }[]).map((x) => x.kind), ['METER_FRAME_TRUNCATED']);
  });

  it('runs a protected disconnect through two operators to the meter and back, all in the audit log', async () => {
    const m = await meter('p-1', { protected: true });
    assert.equal((await call(auditor, 'POST', `${U}/commands`, { action: 'disconnect', meters: ['p-1'], reason: 'x' })).body.code, 'AUTH_FORBIDDEN');
    const req = await call(opA, 'POST', `${U}/commands`, { action: 'disconnect', meters: ['p-1'], reason: 'overdue' });
    assert.equal(req.status, 201);
    assert.deepEqual([req.body.state, req.body.approvalsRequired], ['awaiting-approval', 1]);
    const id = req.body.id as string;
    assert.equal((await call(opA, 'POST', `${U}/commands/${id}/approve`)).body.code, 'METER_APPROVAL_INVALID');
    assert.equal((await call(opB, 'POST', `${U}/commands/${id}/approve`)).body.state, 'dispatched');
    await until(async () => ((await call(auditor, 'GET', `${U}/commands/${id}`)).body.targets as { state: string }[])[0]!.state === 'executed');
    assert.equal(m.relayConnected, false);
    // The ack's audit event follows the commit that stored the ack.
    const actions = async () => (await t.ctx.store.db.selectFrom('audit_events').select('action').where('subject', '=', id).execute()).map((e) => e.action);
    await until(async () => (await actions()).includes('metering.command.ack'));
    assert.deepEqual((await actions()).sort(), ['metering.command.ack', 'metering.command.approve', 'metering.command.dispatch', 'metering.command.request']);
  });

  it('answers 429 METER_COMMAND_GUARD beyond the blackout budget', async () => {
    // A handful of meters at the default 0.5 % → the minimum budget of one disconnect per window,
    // city-wide: the protected disconnect above spent it.
    await meter('g-1', { district: 'south' });
    const r = await call(opA, 'POST', `${U}/commands`, { action: 'disconnect', meters: ['g-1'], reason: 'x' });
    assert.deepEqual([r.status, r.body.code, (r.body.details as { scope?: string }).scope], [429, 'METER_COMMAND_GUARD', 'city']);
    t.clock.advance(900_001);
    assert.equal((await call(opA, 'POST', `${U}/commands`, { action: 'disconnect', meters: ['g-1'], reason: 'x' })).status, 201);
  });

  it('lists commands for readers and hides them from other tenants', async () => {
    const l = await call(auditor, 'GET', `${U}/commands`);
    assert.ok((l.body as unknown as unknown[]).length >= 2);
    assert.equal((await call(waterOp, 'GET', `${U}/commands`)).body.code, 'TENANT_FORBIDDEN');
    assert.equal((await call(opA, 'GET', `${U}/commands/mc_${'0'.repeat(32)}`)).body.code, 'METER_COMMAND_NOT_FOUND');
  });
});
