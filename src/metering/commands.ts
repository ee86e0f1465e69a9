/**
 * Commands to meters (docs/metering.md, commands): disconnect, reconnect, tariff, time sync.
 *
 * `request` authorises (the route checked the role), checks that the command fits every
 * meter's state, works out how many distinct approvers it needs — one more operator for a
 * disconnect touching a protected customer, `bulkApprovals` for more than `bulkThreshold`
 * meters — and refuses early what the blackout guard would refuse. Once approved, `dispatch`
 * re-checks the guard under its lock, gives every target the next command counter of its
 * meter, and signs one frame per meter with the tenant's vault command key (counter, expiry,
 * target system title). The meter verifies and acks; ingest matches the ack to its target.
 * Each step is audited.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import { concatBytes, fromHex } from '../core/bytes.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import type { MeteringCommandsTable, MeteringCommandTargetsTable } from '../store/schema.ts';
import type { KeyVault } from '../vault/types.ts';
import { COMMAND_ACTIONS, encodeCommandToSign, type CommandAction } from './frame.ts';
import { checkGuard, DEFAULT_GUARD, guardError, lockGuard, type GuardSettings } from './guard.ts';
import { meteringCaller, type MeteringKeys } from './keys.ts';
import { encodeTariff, encodeTimeSync } from './payload.ts';
import type { Meters } from './registry.ts';
import { systemTitleOf } from './suite.ts';
import { isMeterId } from './topics.ts';

export interface CommandSettings {
  /** Lifetime of a dispatched command frame at the meter. */
  readonly commandTtlMs: number;
  /** How long a request waits for its approvals. */
  readonly approvalTtlMs: number;
  /** A command touching more than this many meters needs `bulkApprovals` approvers. */
  readonly bulkThreshold: number;
  readonly bulkApprovals: number;
  readonly guard: GuardSettings;
}

export const DEFAULT_COMMAND_SETTINGS: CommandSettings = { commandTtlMs: 600_000, approvalTtlMs: 3_600_000, bulkThreshold: 10, bulkApprovals: 2, guard: DEFAULT_GUARD };
export const MAX_COMMAND_METERS = 10_000;

/** Where signed command frames go: the embedded broker or an external one. */
export interface CommandTransport {
  readonly available: boolean;
  publish(tenant: string, meterId: string, frame: Uint8Array): Promise<void>;
}

export interface CommandArgs {
  readonly tariffId?: number;
  readonly activateAt?: number;
}

export interface CommandInput {
  tenant: string;
  action: unknown;
  meters: unknown;
  args?: unknown;
  reason: unknown;
}

export interface CommandTarget {
  readonly meterId: string;
  readonly district: string;
  readonly state: MeteringCommandTargetsTable['state'];
  readonly counter: number | null;
  readonly result: string | null;
  readonly sentAt: number | null;
  readonly ackedAt: number | null;
}

export interface CommandView {
  readonly id: string;
  readonly tenant: string;
  readonly action: CommandAction;
  readonly args: CommandArgs;
  readonly reason: string;
  readonly meterCount: number;
  readonly approvalsRequired: number;
  readonly approvals: readonly string[];
  readonly state: MeteringCommandsTable['state'];
  readonly refusal: string | null;
  readonly requestedBy: string;
  readonly requestedAt: number;
  readonly approveBy: number;
  readonly dispatchedAt: number | null;
  readonly expiresAt: number | null;
  readonly targets?: readonly CommandTarget[];
}

const COMMAND_ID = /^mc_[0-9a-f]{32}$/;

function checkArgs(action: CommandAction, args: unknown): CommandArgs {
  if (action !== 'tariff') {
    if (args !== undefined && (args === null || typeof args !== 'object' || Object.keys(args).length > 0)) throw new CityTrustError('METER_COMMAND_INVALID', `${action} takes no arguments`);
    return {};
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new CityTrustError('METER_COMMAND_INVALID', 'tariff needs {tariffId, activateAt}');
  const { tariffId, activateAt, ...rest } = args as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new CityTrustError('METER_COMMAND_INVALID', 'tariff takes only tariffId and activateAt');
  if (typeof tariffId !== 'number' || typeof activateAt !== 'number') throw new CityTrustError('METER_COMMAND_INVALID', 'tariff needs {tariffId, activateAt}');
  encodeTariff({ tariffId, activateAt });
  return { tariffId, activateAt };
}

export class MeterCommands {
  readonly #store: Store;
  readonly #vault: KeyVault;
  readonly #keys: MeteringKeys;
  readonly #meters: Meters;
  readonly #audit: AuditSink;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #s: CommandSettings;
  #transport: CommandTransport | undefined;
  /** Meters (tenant/meter) with unacknowledged, unexpired frames the broker may not hold: from an earlier run, or a failed publish. */
  readonly #pending = new Set<string>();

  constructor(deps: { store: Store; vault: KeyVault; keys: MeteringKeys; meters: Meters; audit: AuditSink; clock: Clock; logger?: Logger; settings?: Partial<CommandSettings>; transport?: CommandTransport }) {
    this.#store = deps.store;
    this.#vault = deps.vault;
    this.#keys = deps.keys;
    this.#meters = deps.meters;
    this.#audit = deps.audit;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#s = { ...DEFAULT_COMMAND_SETTINGS, ...deps.settings };
    this.#transport = deps.transport;
  }

  setTransport(t: CommandTransport | undefined): void {
    this.#transport = t;
  }

  /**
   * Loads which meters have command frames that are neither acknowledged nor expired, left by
   * an earlier run of the head-end (the transport calls this once before it starts). Frames
   * this run hands to the broker are the broker's to deliver; only failed ones join the set.
   */
  async loadPending(): Promise<void> {
    const rows = await this.#pendingQuery(this.#clock.now()).select(['t.tenant_id', 't.meter_id']).execute();
    for (const r of rows) this.#pending.add(`${r.tenant_id}/${r.meter_id}`);
  }

  /**
   * Sends the pending frames again — of one meter (when it subscribes to the embedded broker,
   * whose sessions did not survive the restart) or of every pending meter (when the head-end
   * joins an external broker). In counter order per meter. A meter that had executed one
   * answers `already-executed` and does not execute it twice (its command counter); expired
   * frames are not sent (the meter would refuse them). Returns how many frames went out.
   */
  async resendPending(meter?: { tenant: string; meterId: string }): Promise<number> {
    const transport = this.#transport;
    if (!transport?.available || this.#pending.size === 0) return 0;
    if (meter && !this.#pending.has(`${meter.tenant}/${meter.meterId}`)) return 0;
    let q = this.#pendingQuery(this.#clock.now()).select(['t.tenant_id', 't.meter_id', 't.command_id', 't.frame']);
    if (meter) q = q.where('t.tenant_id', '=', meter.tenant).where('t.meter_id', '=', meter.meterId);
    const rows = await q.orderBy('t.tenant_id').orderBy('t.meter_id').orderBy('t.counter').execute();
    if (meter && rows.length === 0) this.#pending.delete(`${meter.tenant}/${meter.meterId}`);
    let sent = 0;
    const failed = new Set<string>();
    for (const r of rows) {
      const key = `${r.tenant_id}/${r.meter_id}`;
      if (!this.#pending.has(key) || failed.has(key)) continue;
      try {
        await transport.publish(r.tenant_id, r.meter_id, new Uint8Array(r.frame!));
        sent++;
      } catch (e) {
        failed.add(key);
        this.#logger?.warn({ err: e, tenant: r.tenant_id, meter: r.meter_id, command: r.command_id }, 'metering: command re-send failed');
      }
    }
    for (const r of rows) if (!failed.has(`${r.tenant_id}/${r.meter_id}`)) this.#pending.delete(`${r.tenant_id}/${r.meter_id}`);
    if (sent > 0) this.#logger?.info({ sent, meter: meter ? `${meter.tenant}/${meter.meterId}` : 'all' }, 'metering: unacknowledged commands sent again');
    return sent;
  }

  #pendingQuery(now: number) {
    return this.#store.db
      .selectFrom('metering_command_targets as t')
      .innerJoin('metering_commands as c', 'c.id', 't.command_id')
      .where('t.state', '=', 'sent')
      .where('t.frame', 'is not', null)
      .where('c.expires_at', '>', now);
  }

  /**
   * A command request by `actor` for `input.tenant`. Refusals (bad input, unknown or inactive
   * meters, implausible state, guard) store nothing; guard refusals are audited, because a
   * mass disconnect attempt is what the guard exists for.
   */
  async request(input: CommandInput, actor: string): Promise<CommandView> {
    const tenant = input.tenant;
    if (typeof input.action !== 'string' || !(COMMAND_ACTIONS as readonly string[]).includes(input.action)) throw new CityTrustError('METER_COMMAND_INVALID', `action must be one of ${COMMAND_ACTIONS.join(', ')}`);
    const action = input.action as CommandAction;
    if (!Array.isArray(input.meters) || input.meters.length === 0 || input.meters.length > MAX_COMMAND_METERS) throw new CityTrustError('METER_COMMAND_INVALID', `meters must list 1..${MAX_COMMAND_METERS} meter ids`);
    const ids = input.meters as unknown[];
    if (!ids.every((m): m is string => typeof m === 'string' && isMeterId(m))) throw new CityTrustError('METER_COMMAND_INVALID', 'a meter id is malformed');
    if (new Set(ids).size !== ids.length) throw new CityTrustError('METER_COMMAND_INVALID', 'a meter is listed twice');
    const args = checkArgs(action, input.args);
    if (typeof input.reason !== 'string' || input.reason.trim().length === 0 || input.reason.length > 500) throw new CityTrustError('METER_COMMAND_INVALID', 'reason must be 1–500 characters');
    const reason = input.reason.trim();
    await this.#keys.get(tenant);
    if (!this.#transport?.available) throw new CityTrustError('METER_TRANSPORT_UNAVAILABLE', 'no MQTT broker is connected; commands cannot reach meters');
    const now = this.#clock.now();

    // Every meter: registered in this tenant, device active, state fits the action.
    const rows: { id: string; district: string; relay: string }[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const found = await this.#store.db.selectFrom('meters').select(['id', 'district', 'relay']).where('tenant_id', '=', tenant).where('id', 'in', chunk).execute();
      rows.push(...found);
    }
    if (rows.length !== ids.length) {
      const have = new Set(rows.map((r) => r.id));
      throw new CityTrustError('METER_NOT_FOUND', `meter ${ids.find((m) => !have.has(m))} is not registered for ${tenant}`);
    }
    for (let i = 0; i < ids.length; i += 500) {
      const inactive = await this.#store.db.selectFrom('devices').select(['id', 'state']).where('tenant_id', '=', tenant).where('id', 'in', ids.slice(i, i + 500)).where('state', '!=', 'active').executeTakeFirst();
      if (inactive) throw new CityTrustError('METER_NOT_ACTIVE', `meter ${inactive.id} is ${inactive.state}`);
    }
    if (action === 'disconnect' || action === 'reconnect') {
      const already = rows.find((r) => r.relay === (action === 'disconnect' ? 'disconnected' : 'connected'));
      if (already) throw new CityTrustError('METER_COMMAND_IMPLAUSIBLE', `meter ${already.id} is already ${already.relay}`, { details: { meter: already.id, relay: already.relay } });
      for (let i = 0; i < ids.length; i += 500) {
        const busy = await this.#store.db
          .selectFrom('metering_command_targets as t')
          .innerJoin('metering_commands as c', 'c.id', 't.command_id')
          .select(['t.meter_id', 'c.id'])
          .where('t.tenant_id', '=', tenant)
          .where('t.meter_id', 'in', ids.slice(i, i + 500))
          .where('t.action', 'in', ['disconnect', 'reconnect'])
          .where((eb) => eb.or([eb.and([eb('t.state', '=', 'pending'), eb('c.state', '=', 'awaiting-approval'), eb('c.approve_by', '>', now)]), eb.and([eb('t.state', '=', 'sent'), eb('c.expires_at', '>', now)])]))
          .executeTakeFirst();
        if (busy) throw new CityTrustError('METER_COMMAND_IMPLAUSIBLE', `meter ${busy.meter_id} already has relay command ${busy.id} in progress`, { details: { meter: busy.meter_id, command: busy.id } });
      }
    }

    let approvalsRequired = ids.length > this.#s.bulkThreshold ? this.#s.bulkApprovals : 0;
    if (action === 'disconnect' && approvalsRequired < 1) {
      for (const id of ids) {
        if ((await this.#meters.customer(tenant, tenant, id, actor, 'disconnect-protection-check')).protected) {
          approvalsRequired = 1;
          break;
        }
      }
    }

    const perDistrict = new Map<string, number>();
    for (const r of rows) perDistrict.set(r.district, (perDistrict.get(r.district) ?? 0) + 1);
    if (action === 'disconnect') {
      const verdict = await checkGuard(this.#store.db, perDistrict, now, this.#s.guard);
      if (verdict) {
        await this.#audit.append({ actor, tenant, action: 'metering.command.refuse', subject: `${action}:${ids.length}`, details: { reason: 'METER_COMMAND_GUARD', ...verdict } });
        throw guardError(verdict);
      }
    }

    const id = `mc_${randomBytes(16).toString('hex')}`;
    const district = new Map(rows.map((r) => [r.id, r.district]));
    const command: MeteringCommandsTable = {
      id,
      tenant_id: tenant,
      action,
      args: JSON.stringify(args),
      reason,
      meter_count: ids.length,
      approvals_required: approvalsRequired,
      state: 'awaiting-approval',
      refusal: null,
      requested_by: actor,
      requested_at: now,
      approve_by: now + this.#s.approvalTtlMs,
      dispatched_at: null,
      expires_at: null,
    };
    await this.#store.transaction(async (trx) => {
      await trx.insertInto('metering_commands').values(command).execute();
      for (const m of ids) {
        await trx.insertInto('metering_command_targets').values({ command_id: id, tenant_id: tenant, meter_id: m, district: district.get(m)!, action, counter: null, state: 'pending', result: null, sent_at: null, acked_at: null }).execute();
      }
    });
    await this.#audit.append({ actor, tenant, action: 'metering.command.request', subject: id, details: { action, meters: ids.length, districts: [...perDistrict.keys()].slice(0, 20), approvalsRequired, reason } });
    if (approvalsRequired === 0) return this.#dispatch(tenant, id, actor);
    return this.get(tenant, tenant, id);
  }

  /** An approval by an operator other than the requester; the last one needed dispatches. */
  async approve(scope: string | null | undefined, tenant: string, id: string, actor: string): Promise<CommandView> {
    const c = await this.#awaiting(scope, tenant, id);
    if (c.requested_by === actor) throw new CityTrustError('METER_APPROVAL_INVALID', 'the requester cannot approve their own command');
    const now = this.#clock.now();
    try {
      await this.#store.db.insertInto('metering_command_approvals').values({ command_id: id, approver: actor, approved_at: now }).execute();
    } catch (e) {
      throw new CityTrustError('METER_APPROVAL_INVALID', 'this operator already approved the command', { cause: e });
    }
    await this.#audit.append({ actor, tenant, action: 'metering.command.approve', subject: id, details: { action: c.action, meters: Number(c.meter_count) } });
    const n = await this.#approvalCount(id);
    if (n >= Number(c.approvals_required)) return this.#dispatch(tenant, id, actor);
    return this.get(scope, tenant, id);
  }

  /** Retries the dispatch of an approved command (after the transport was unavailable). */
  async dispatch(scope: string | null | undefined, tenant: string, id: string, actor: string): Promise<CommandView> {
    const c = await this.#awaiting(scope, tenant, id);
    if ((await this.#approvalCount(id)) < Number(c.approvals_required)) throw new CityTrustError('METER_COMMAND_STATE', 'the command still needs approvals');
    return this.#dispatch(tenant, id, actor);
  }

  async cancel(scope: string | null | undefined, tenant: string, id: string, actor: string): Promise<CommandView> {
    await this.#awaiting(scope, tenant, id);
    const r = await this.#store.db.updateTable('metering_commands').set({ state: 'cancelled' }).where('id', '=', id).where('state', '=', 'awaiting-approval').executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new CityTrustError('METER_COMMAND_STATE', 'the command is no longer awaiting approval');
    await this.#audit.append({ actor, tenant, action: 'metering.command.cancel', subject: id });
    return this.get(scope, tenant, id);
  }

  async get(scope: string | null | undefined, tenant: string, id: string, withTargets = true): Promise<CommandView> {
    const c = await this.#row(scope, tenant, id);
    const approvals = await this.#store.db.selectFrom('metering_command_approvals').select('approver').where('command_id', '=', id).orderBy('approved_at').execute();
    const targets = withTargets ? await this.#store.db.selectFrom('metering_command_targets').selectAll().where('command_id', '=', id).orderBy('meter_id').limit(MAX_COMMAND_METERS).execute() : undefined;
    return this.#view(c, approvals.map((a) => a.approver), targets);
  }

  async list(scope: string | null | undefined, tenant: string, f: { state?: string; limit?: number } = {}): Promise<CommandView[]> {
    if (scope && scope !== tenant) return [];
    let q = this.#store.db.selectFrom('metering_commands').selectAll().where('tenant_id', '=', tenant);
    if (f.state !== undefined) q = q.where('state', '=', f.state as MeteringCommandsTable['state']);
    const rows = await q.orderBy('requested_at', 'desc').orderBy('id').limit(Math.min(Math.max(f.limit ?? 100, 1), 1000)).execute();
    return rows.map((r) => this.#view(r, [], undefined));
  }

  // ---- internals ----

  async #approvalCount(id: string): Promise<number> {
    const r = await this.#store.db.selectFrom('metering_command_approvals').select((eb) => eb.fn.countAll<number>().as('n')).where('command_id', '=', id).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async #row(scope: string | null | undefined, tenant: string, id: string): Promise<MeteringCommandsTable> {
    if (typeof id !== 'string' || !COMMAND_ID.test(id)) throw new CityTrustError('METER_COMMAND_NOT_FOUND', 'no such command');
    if (scope && scope !== tenant) throw new CityTrustError('METER_COMMAND_NOT_FOUND', 'no such command');
    const c = await this.#store.db.selectFrom('metering_commands').selectAll().where('id', '=', id).where('tenant_id', '=', tenant).executeTakeFirst();
    if (!c) throw new CityTrustError('METER_COMMAND_NOT_FOUND', 'no such command');
    return c;
  }

  async #awaiting(scope: string | null | undefined, tenant: string, id: string): Promise<MeteringCommandsTable> {
    const c = await this.#row(scope, tenant, id);
    if (c.state === 'awaiting-approval' && Number(c.approve_by) <= this.#clock.now()) {
      await this.#store.db.updateTable('metering_commands').set({ state: 'expired' }).where('id', '=', id).where('state', '=', 'awaiting-approval').execute();
      throw new CityTrustError('METER_COMMAND_STATE', 'the command expired before it was approved');
    }
    if (c.state !== 'awaiting-approval') throw new CityTrustError('METER_COMMAND_STATE', `the command is ${c.state}`);
    return c;
  }

  async #dispatch(tenant: string, id: string, actor: string): Promise<CommandView> {
    const transport = this.#transport;
    if (!transport?.available) throw new CityTrustError('METER_TRANSPORT_UNAVAILABLE', 'no MQTT broker is connected; the command stays approved, dispatch it again later');
    const keys = await this.#keys.get(tenant);
    const keyId = fromHex((await this.#keys.keyIds(tenant)).command);
    const caller = meteringCaller(tenant, actor);
    const now = this.#clock.now();
    const expiresAt = now + this.#s.commandTtlMs;
    const commandId = fromHex(id.slice(3));

    const frames = await this.#store.transaction(async (trx) => {
      await lockGuard(trx, this.#store.dialect, now);
      const c = await trx.selectFrom('metering_commands').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      if (c.state !== 'awaiting-approval') throw new CityTrustError('METER_COMMAND_STATE', `the command is ${c.state}`);
      const action = c.action as CommandAction;
      const targets = await trx.selectFrom('metering_command_targets').select(['meter_id', 'district']).where('command_id', '=', id).orderBy('meter_id').execute();
      if (action === 'disconnect') {
        const perDistrict = new Map<string, number>();
        for (const t of targets) perDistrict.set(t.district, (perDistrict.get(t.district) ?? 0) + 1);
        const verdict = await checkGuard(trx, perDistrict, now, this.#s.guard);
        if (verdict) return { kind: 'refused', verdict } as const;
      }
      const args = JSON.parse(c.args) as CommandArgs;
      const argument =
        action === 'tariff' ? encodeTariff({ tariffId: args.tariffId!, activateAt: args.activateAt! }) : action === 'time-sync' ? encodeTimeSync(now) : new Uint8Array(0);
      const out: { meterId: string; frame: Uint8Array }[] = [];
      for (const t of targets) {
        const m = await trx.selectFrom('meters').select('command_counter').where('tenant_id', '=', tenant).where('id', '=', t.meter_id).executeTakeFirstOrThrow();
        const counter = Number(m.command_counter) + 1;
        await trx.updateTable('meters').set({ command_counter: counter, updated_at: now }).where('tenant_id', '=', tenant).where('id', '=', t.meter_id).execute();
        const toSign = encodeCommandToSign({ systemTitle: systemTitleOf(tenant, t.meter_id), keyId, counter, issuedAt: now, expiresAt, commandId, action, argument });
        const sig = await this.#vault.sign(caller, keys.commandKeyId, toSign, { format: 'p1363' });
        const frame = concatBytes(toSign, sig.signature);
        // Kept with the target until the meter acknowledges it or it expires: a restart re-sends it.
        await trx.updateTable('metering_command_targets').set({ counter, state: 'sent', sent_at: now, frame }).where('command_id', '=', id).where('meter_id', '=', t.meter_id).execute();
        out.push({ meterId: t.meter_id, frame });
      }
      await trx.updateTable('metering_commands').set({ state: 'dispatched', dispatched_at: now, expires_at: expiresAt }).where('id', '=', id).execute();
      return { kind: 'sent', frames: out, action } as const;
    });

    if (frames.kind === 'refused') {
      await this.#store.db.updateTable('metering_commands').set({ state: 'refused', refusal: 'METER_COMMAND_GUARD' }).where('id', '=', id).where('state', '=', 'awaiting-approval').execute();
      await this.#audit.append({ actor, tenant, action: 'metering.command.refuse', subject: id, details: { reason: 'METER_COMMAND_GUARD', ...frames.verdict } });
      throw guardError(frames.verdict);
    }
    await this.#audit.append({ actor, tenant, action: 'metering.command.dispatch', subject: id, details: { action: frames.action, meters: frames.frames.length, expiresAt } });
    let failed = 0;
    await Promise.all(
      frames.frames.map(({ meterId, frame }) =>
        transport.publish(tenant, meterId, frame).catch((e: unknown) => {
          failed++;
          this.#pending.add(`${tenant}/${meterId}`);
          this.#logger?.warn({ err: e, tenant, meter: meterId, command: id }, 'metering: command publish failed');
        }),
      ),
    );
    if (failed > 0) this.#logger?.warn({ command: id, failed }, 'metering: some command frames were not handed to the broker; they are sent again when the meter reconnects');
    return this.get(tenant, tenant, id);
  }

  #view(c: MeteringCommandsTable, approvals: string[], targets: MeteringCommandTargetsTable[] | undefined): CommandView {
    const n = (v: number | null) => (v === null ? null : Number(v));
    return {
      id: c.id,
      tenant: c.tenant_id,
      action: c.action as CommandAction,
      args: JSON.parse(c.args) as CommandArgs,
      reason: c.reason,
      meterCount: Number(c.meter_count),
      approvalsRequired: Number(c.approvals_required),
      approvals,
      state: c.state === 'awaiting-approval' && Number(c.approve_by) <= this.#clock.now() ? 'expired' : c.state,
      refusal: c.refusal,
      requestedBy: c.requested_by,
      requestedAt: Number(c.requested_at),
      approveBy: Number(c.approve_by),
      dispatchedAt: n(c.dispatched_at),
      expiresAt: n(c.expires_at),
      ...(targets
        ? { targets: targets.map((t) => ({ meterId: t.meter_id, district: t.district, state: t.state, counter: n(t.counter), result: t.result, sentAt: n(t.sent_at), ackedAt: n(t.acked_at) })) }
        : {}),
    };
  }
}
