import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/core/log.ts';
import { MeterCommands, type CommandSettings, type CommandTransport } from '../../src/metering/commands.ts';
import { listAlerts } from '../../src/metering/alerts.ts';
import { budgetOf } from '../../src/metering/guard.ts';
import type { SimulatedMeter } from '../../src/metering/meter.ts';
import { openHeadEnd, readyMeter, type HeadEnd, type MeterOptions } from './helpers.ts';
import { rejectsWith } from '../vault/helpers.ts';

class Loopback implements CommandTransport {
  available = true;
  readonly sent: { tenant: string; meterId: string; frame: Uint8Array }[] = [];
  async publish(tenant: string, meterId: string, frame: Uint8Array): Promise<void> {
    this.sent.push({ tenant, meterId, frame });
  }
}

const A = 'token:operator-a';
const B = 'token:operator-b';
const C = 'token:operator-c';

interface Rig {
  h: HeadEnd;
  commands: MeterCommands;
  wire: Loopback;
  meters: Map<string, SimulatedMeter>;
  /** Delivers every sent command to its meter and ingests the acks. */
  deliver(): Promise<void>;
  add(id: string, o?: MeterOptions): Promise<SimulatedMeter>;
}

async function rig(t: Parameters<typeof openHeadEnd>[0], settings: Partial<CommandSettings> = {}): Promise<Rig> {
  const h = await openHeadEnd(t);
  const wire = new Loopback();
  const commands = new MeterCommands({ store: h.store, vault: h.vault, keys: h.keys, meters: h.meters, audit: h.audit, clock: h.clock, logger: silentLogger(), settings, transport: wire });
  const meters = new Map<string, SimulatedMeter>();
  return {
    h,
    commands,
    wire,
    meters,
    async deliver() {
      for (const s of wire.sent.splice(0)) {
        const m = meters.get(`${s.tenant}/${s.meterId}`)!;
        const { ack } = m.handleCommand(s.frame);
        const r = await h.ingest.submit(s.tenant, s.meterId, ack);
        assert.equal(r.status, 'stored');
      }
    },
    async add(id, o = {}) {
      const m = await readyMeter(h, id, o);
      // A first reading tells the head-end the relay state.
      await h.ingest.submit(m.tenant, id, m.reading());
      meters.set(`${m.tenant}/${id}`, m);
      return m;
    },
  };
}

describe('meter commands', () => {
  it('disconnects a meter: signed frame, meter verifies and acks, the target and relay state follow, all audited', async (t) => {
    const r = await rig(t);
    const m = await r.add('m-1');
    const c = await r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['m-1'], reason: 'unpaid bills, notice served' }, A);
    assert.deepEqual([c.state, c.approvalsRequired, c.targets?.[0]?.state, c.targets?.[0]?.counter], ['dispatched', 0, 'sent', 1]);
    assert.equal(r.wire.sent.length, 1);
    await r.deliver();
    assert.equal(m.relayConnected, false);
    const after = await r.commands.get('utility', 'utility', c.id);
    assert.deepEqual([after.targets?.[0]?.state, after.targets?.[0]?.result], ['executed', 'executed']);
    assert.equal((await r.h.meters.get('utility', 'utility', 'm-1')).relay, 'disconnected');
    const actions = r.h.audit.actions();
    for (const a of ['metering.command.request', 'metering.command.dispatch', 'metering.command.ack']) assert.ok(actions.includes(a), a);
  });

  it('refuses what does not fit the meter state: reconnecting a connected meter, a second relay command in flight', async (t) => {
    const r = await rig(t);
    await r.add('m-1');
    await rejectsWith(r.commands.request({ tenant: 'utility', action: 'reconnect', meters: ['m-1'], reason: 'x' }, A), 'METER_COMMAND_IMPLAUSIBLE');
    await r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['m-1'], reason: 'x' }, A);
    await rejectsWith(r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['m-1'], reason: 'again' }, A), 'METER_COMMAND_IMPLAUSIBLE');
    await r.deliver();
    await rejectsWith(r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['m-1'], reason: 'again' }, A), 'METER_COMMAND_IMPLAUSIBLE');
    const back = await r.commands.request({ tenant: 'utility', action: 'reconnect', meters: ['m-1'], reason: 'paid' }, A);
    assert.equal(back.state, 'dispatched');
    await r.deliver();
    assert.equal(r.meters.get('utility/m-1')!.relayConnected, true);
  });

  it('needs a second operator to disconnect a protected customer (medical equipment)', async (t) => {
    const r = await rig(t);
    await r.add('m-1', { protected: true });
    const c = await r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['m-1'], reason: 'safety inspection' }, A);
    assert.deepEqual([c.state, c.approvalsRequired], ['awaiting-approval', 1]);
    assert.equal(r.wire.sent.length, 0);
    await rejectsWith(r.commands.approve('utility', 'utility', c.id, A), 'METER_APPROVAL_INVALID');
    const done = await r.commands.approve('utility', 'utility', c.id, B);
    assert.deepEqual([done.state, done.approvals], ['dispatched', [B]]);
    assert.equal(r.wire.sent.length, 1);
    // The protection check read customer data: audited as a read of personal data, never logged in clear.
    const read = r.h.audit.events.find((e) => e.action === 'metering.customer.read');
    assert.equal(read?.details?.purpose, 'disconnect-protection-check');
    assert.ok(!JSON.stringify(r.h.audit.events).includes('Customer m-1'));
  });

  it('needs M distinct approvers beyond N meters', async (t) => {
    const r = await rig(t, { bulkThreshold: 2, bulkApprovals: 2 });
    for (const id of ['m-1', 'm-2', 'm-3']) await r.add(id);
    const c = await r.commands.request({ tenant: 'utility', action: 'tariff', meters: ['m-1', 'm-2', 'm-3'], args: { tariffId: 4, activateAt: r.h.clock.now() }, reason: 'winter tariff' }, A);
    assert.equal(c.approvalsRequired, 2);
    assert.equal((await r.commands.approve('utility', 'utility', c.id, B)).state, 'awaiting-approval');
    await rejectsWith(r.commands.approve('utility', 'utility', c.id, B), 'METER_APPROVAL_INVALID');
    assert.equal((await r.commands.approve('utility', 'utility', c.id, C)).state, 'dispatched');
    await rejectsWith(r.commands.approve('utility', 'utility', c.id, 'token:operator-d'), 'METER_COMMAND_STATE');
    await r.deliver();
    for (const m of r.meters.values()) assert.equal(m.tariffId, 4);
  });

  it('syncs meter clocks with the head-end time at dispatch', async (t) => {
    const r = await rig(t);
    // The meter's oscillator runs 42 s slow.
    const m = await r.add('m-1', { clock: { now: () => r.h.clock.now() - 42_000 } });
    assert.equal(m.now(), r.h.clock.now() - 42_000);
    await r.commands.request({ tenant: 'utility', action: 'time-sync', meters: ['m-1'], reason: 'drift' }, A);
    await r.deliver();
    assert.equal(m.now(), r.h.clock.now());
  });

  it('keeps the blackout guard: a district budget per sliding window, refused with METER_COMMAND_GUARD and audited', async (t) => {
    // 20 meters in a district at 10 % → 2 disconnects per window.
    const r = await rig(t, { guard: { windowMs: 900_000, districtBasisPoints: 1000, cityBasisPoints: 10_000, minBudget: 1 } });
    const ids = Array.from({ length: 20 }, (_, i) => `n-${i}`);
    for (const id of ids) await r.add(id);
    assert.equal(budgetOf(20, 1000, 1), 2);
    await r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['n-0'], reason: 'x' }, A);
    await r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['n-1'], reason: 'x' }, A);
    await rejectsWith(r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['n-2'], reason: 'x' }, A), 'METER_COMMAND_GUARD');
    const refusal = r.h.audit.events.find((e) => e.action === 'metering.command.refuse');
    assert.deepEqual([refusal?.details?.scope, refusal?.details?.budget, refusal?.details?.used], ['district', 2, 2]);
    // Reconnects are never rationed.
    await r.deliver();
    await r.commands.request({ tenant: 'utility', action: 'reconnect', meters: ['n-0'], reason: 'x' }, A);
    // The window slides.
    r.h.clock.advance(900_001);
    assert.equal((await r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['n-2'], reason: 'x' }, A)).state, 'dispatched');
  });

  it('keeps a city-wide budget across districts and tenants', async (t) => {
    const r = await rig(t, { guard: { windowMs: 900_000, districtBasisPoints: 10_000, cityBasisPoints: 2500, minBudget: 1 } });
    for (const id of ['a-1', 'a-2']) await r.add(id, { district: 'east' });
    for (const id of ['b-1', 'b-2']) await r.add(id, { district: 'west', tenant: 'water' });
    await r.h.keys.setup('water', 'test');
    // 4 meters city-wide at 25 % → 1 disconnect per window, whichever tenant asks.
    await r.commands.request({ tenant: 'water', action: 'disconnect', meters: ['b-1'], reason: 'x' }, A);
    await rejectsWith(r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['a-1'], reason: 'x' }, B), 'METER_COMMAND_GUARD');
  });

  it('re-checks the guard at dispatch, so approvals racing for the last budget cannot both win', async (t) => {
    const r = await rig(t, { guard: { windowMs: 900_000, districtBasisPoints: 1000, cityBasisPoints: 10_000, minBudget: 1 } });
    for (let i = 0; i < 10; i++) await r.add(`p-${i}`, { protected: true });
    // 10 meters at 10 % → 1 disconnect; both requests pass the early check, one dispatch must fail.
    const c1 = await r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['p-0'], reason: 'x' }, A);
    const c2 = await r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['p-1'], reason: 'x' }, A);
    const results = await Promise.allSettled([r.commands.approve('utility', 'utility', c1.id, B), r.commands.approve('utility', 'utility', c2.id, C)]);
    assert.deepEqual(results.map((x) => x.status).sort(), ['fulfilled', 'rejected']);
    const lost = results.find((x) => x.status === 'rejected') as PromiseRejectedResult;
    assert.equal((lost.reason as { code: string }).code, 'METER_COMMAND_GUARD');
    const states = [(await r.commands.get('utility', 'utility', c1.id)).state, (await r.commands.get('utility', 'utility', c2.id)).state].sort();
    assert.deepEqual(states, ['dispatched', 'refused']);
    assert.equal(r.wire.sent.length, 1);
  });

  it('refuses bad requests with their codes and stores nothing', async (t) => {
    const r = await rig(t);
    await r.add('m-1');
    const base = { tenant: 'utility', action: 'disconnect', meters: ['m-1'], reason: 'x' };
    const cases: [unknown, string][] = [
      [{ ...base, action: 'explode' }, 'METER_COMMAND_INVALID'],
      [{ ...base, meters: [] }, 'METER_COMMAND_INVALID'],
      [{ ...base, meters: ['m-1', 'm-1'] }, 'METER_COMMAND_INVALID'],
      [{ ...base, meters: ['M 1'] }, 'METER_COMMAND_INVALID'],
      [{ ...base, reason: '' }, 'METER_COMMAND_INVALID'],
      [{ ...base, args: { tariffId: 1 } }, 'METER_COMMAND_INVALID'],
      [{ ...base, action: 'tariff', args: { tariffId: -1, activateAt: 0 } }, 'METER_COMMAND_INVALID'],
      [{ ...base, action: 'tariff', args: { tariffId: 1, activateAt: 0, extra: 1 } }, 'METER_COMMAND_INVALID'],
      [{ ...base, meters: ['m-1', 'ghost'] }, 'METER_NOT_FOUND'],
      [{ ...base, tenant: 'water' }, 'METER_SETUP_MISSING'],
    ];
    for (const [input, code] of cases) await rejectsWith(r.commands.request(input as Parameters<MeterCommands['request']>[0], A), code as 'METER_COMMAND_INVALID');
    await r.h.devices.setState('utility', 'utility', 'm-1', 'suspended', 'test');
    await rejectsWith(r.commands.request(base, A), 'METER_NOT_ACTIVE');
    r.wire.available = false;
    await rejectsWith(r.commands.request({ ...base }, A), 'METER_TRANSPORT_UNAVAILABLE');
    assert.equal((await r.h.store.db.selectFrom('metering_commands').selectAll().execute()).length, 0);
  });

  it('lets an approval window lapse, and keeps commands of one tenant invisible to another', async (t) => {
    const r = await rig(t, { approvalTtlMs: 60_000 });
    await r.add('m-1', { protected: true });
    const c = await r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['m-1'], reason: 'x' }, A);
    await rejectsWith(r.commands.get('water', 'utility', c.id), 'METER_COMMAND_NOT_FOUND');
    await rejectsWith(r.commands.approve('water', 'utility', c.id, B), 'METER_COMMAND_NOT_FOUND');
    r.h.clock.advance(60_001);
    await rejectsWith(r.commands.approve('utility', 'utility', c.id, B), 'METER_COMMAND_STATE');
    assert.equal((await r.commands.get('utility', 'utility', c.id)).state, 'expired');
  });

  it('records a refused command (expired at the meter) as an alert', async (t) => {
    const r = await rig(t, { commandTtlMs: 60_000 });
    await r.add('m-1');
    await r.commands.request({ tenant: 'utility', action: 'disconnect', meters: ['m-1'], reason: 'x' }, A);
    r.h.clock.advance(3_600_000);
    await r.deliver();
    const c = (await r.commands.list('utility', 'utility'))[0]!;
    assert.equal((await r.commands.get('utility', 'utility', c.id)).targets?.[0]?.result, 'expired');
    assert.ok((await listAlerts(r.h.store, 'utility', { meterId: 'm-1' })).some((a) => a.kind === 'METER_COMMAND_REFUSED'));
    assert.equal(r.meters.get('utility/m-1')!.relayConnected, true);
  });

  it('seals customer data at rest with the tenant KEK, bound to its meter row', async (t) => {
    const r = await rig(t);
    await r.add('m-1', { protected: true });
    await r.add('m-2');
    const rows = await r.h.store.db.selectFrom('meters').select(['id', 'customer']).execute();
    for (const row of rows) assert.ok(!Buffer.from(row.customer).toString('latin1').includes('Customer'), 'no clear name at rest');
    assert.deepEqual(await r.h.meters.customer('utility', 'utility', 'm-1', A, 'support call'), { name: 'Customer m-1', address: 'm-1 Main Street', protected: true });
    // A sealed record copied onto another meter's row does not open there.
    const m1 = rows.find((x) => x.id === 'm-1')!;
    await r.h.store.db.updateTable('meters').set({ customer: m1.customer }).where('id', '=', 'm-2').execute();
    await rejectsWith(r.h.meters.customer('utility', 'utility', 'm-2', A, 'support call'), 'VAULT_DECRYPT_FAILED');
  });
});
