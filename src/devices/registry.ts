/**
 * The device registry: every reader, gate, vehicle, meter, service and server of a tenant,
 * with its lifecycle state. Devices own their certificates; a state change reaches them
 * through `DeviceCertificateHooks` in the same transaction (compromised → all revoked).
 * Every query is tenant-scoped; a device of another tenant answers DEVICE_NOT_FOUND.
 */
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import type { DevicesTable } from '../store/schema.ts';
import { DEVICE_ID, DEVICE_STATES, DEVICE_TYPES, TRANSITIONS, type Device, type DeviceCertificateHooks, type DeviceState, type DeviceType } from './types.ts';

const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;
const SITE = /^[\p{L}\p{N} ._:/#-]{1,100}$/u;

function toDevice(r: DevicesTable): Device {
  return { tenant: r.tenant_id, id: r.id, type: r.type as DeviceType, site: r.site, label: r.label, state: r.state, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at), firmware: JSON.parse(r.firmware ?? '{}') as Record<string, string>, firmwareReportedAt: r.firmware_reported_at === null || r.firmware_reported_at === undefined ? null : Number(r.firmware_reported_at) };
}

export function checkDeviceId(id: unknown): string {
  if (typeof id !== 'string' || !DEVICE_ID.test(id)) throw new CityTrustError('INPUT_INVALID', 'device id must be 1–63 characters of a–z, 0–9, ".", "_", "-", starting with a letter or digit');
  return id;
}

export function checkTenantId(t: unknown): string {
  if (typeof t !== 'string' || !TENANT_ID.test(t)) throw new CityTrustError('INPUT_INVALID', 'tenant id is malformed');
  return t;
}

export interface RegisterInput {
  tenant: unknown;
  id: unknown;
  type: unknown;
  site: unknown;
  label?: unknown;
}

export interface ListFilter {
  tenant?: string;
  state?: DeviceState;
  type?: DeviceType;
  site?: string;
  limit?: number;
}

export class Devices {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #audit: AuditSink;
  #hooks: DeviceCertificateHooks | undefined;

  constructor(deps: { store: Store; clock: Clock; audit: AuditSink }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  /** The PKI registers itself here (it needs the registry, and the registry needs it on state changes). */
  setCertificateHooks(hooks: DeviceCertificateHooks): void {
    this.#hooks = hooks;
  }

  async register(input: RegisterInput, actor: string): Promise<Device> {
    const tenant = checkTenantId(input.tenant);
    const id = checkDeviceId(input.id);
    if (typeof input.type !== 'string' || !(DEVICE_TYPES as readonly string[]).includes(input.type)) {
      throw new CityTrustError('DEVICE_TYPE_UNKNOWN', `device type must be one of ${DEVICE_TYPES.join(', ')}`);
    }
    if (typeof input.site !== 'string' || !SITE.test(input.site)) throw new CityTrustError('INPUT_INVALID', 'site must be 1–100 characters of letters, digits, spaces and . _ : / # -');
    const label = input.label === undefined ? '' : input.label;
    if (typeof label !== 'string' || label.length > 200) throw new CityTrustError('INPUT_INVALID', 'label must be at most 200 characters');
    const now = this.#clock.now();
    const row: DevicesTable = { tenant_id: tenant, id, type: input.type, site: input.site, label, state: 'pending', created_at: now, updated_at: now, created_by: actor, firmware: '{}', firmware_reported_at: null };
    const t = await this.#store.db.selectFrom('tenants').select('id').where('id', '=', tenant).executeTakeFirst();
    if (!t) throw new CityTrustError('TENANT_NOT_FOUND', `tenant ${tenant} does not exist`);
    const existing = await this.#store.db.selectFrom('devices').select('id').where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    if (existing) throw new CityTrustError('DEVICE_EXISTS', `device ${id} is already registered for ${tenant}`);
    try {
      await this.#store.db.insertInto('devices').values(row).execute();
    } catch (e) {
      throw new CityTrustError('DEVICE_EXISTS', `device ${id} is already registered for ${tenant}`, { cause: e });
    }
    await this.#audit.append({ actor, tenant, action: 'device.register', subject: id, details: { type: row.type, site: row.site } });
    return toDevice(row);
  }

  /** `scope` is the caller's tenant (null or undefined = the city, which sees every tenant). */
  async get(scope: string | null | undefined, tenant: string, id: string): Promise<Device> {
    if (scope && scope !== tenant) throw new CityTrustError('DEVICE_NOT_FOUND', 'no such device');
    const r = await this.#store.db.selectFrom('devices').selectAll().where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    if (!r) throw new CityTrustError('DEVICE_NOT_FOUND', 'no such device');
    return toDevice(r);
  }

  async list(scope: string | null | undefined, f: ListFilter = {}): Promise<Device[]> {
    let q = this.#store.db.selectFrom('devices').selectAll();
    if (scope) q = q.where('tenant_id', '=', scope);
    if (f.tenant) q = q.where('tenant_id', '=', f.tenant);
    if (f.state) {
      if (!(DEVICE_STATES as readonly string[]).includes(f.state)) throw new CityTrustError('INPUT_INVALID', 'unknown state');
      q = q.where('state', '=', f.state);
    }
    if (f.type) q = q.where('type', '=', f.type);
    if (f.site) q = q.where('site', '=', f.site);
    const rows = await q.orderBy('tenant_id').orderBy('id').limit(Math.min(f.limit ?? 1000, 10_000)).execute();
    return rows.map(toDevice);
  }

  /**
   * Moves a device through its lifecycle. Compromised revokes every certificate
   * (keyCompromise), retired revokes them (cessationOfOperation), suspended puts them on hold
   * and active releases the hold — all in the transaction that changes the state.
   */
  async setState(scope: string | null | undefined, tenant: string, id: string, to: unknown, actor: string): Promise<Device> {
    if (typeof to !== 'string' || !(DEVICE_STATES as readonly string[]).includes(to)) throw new CityTrustError('INPUT_INVALID', `state must be one of ${DEVICE_STATES.join(', ')}`);
    const target = to as DeviceState;
    const before = await this.get(scope, tenant, id);
    if (before.state === target) return before;
    if (!TRANSITIONS[before.state].includes(target)) throw new CityTrustError('DEVICE_STATE_INVALID', `a ${before.state} device cannot become ${target}`);
    const now = this.#clock.now();
    const after = await this.#store.transaction(async (trx) => {
      const r = await trx
        .updateTable('devices')
        .set({ state: target, updated_at: now })
        .where('tenant_id', '=', tenant)
        .where('id', '=', id)
        .where('state', '=', before.state)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new CityTrustError('CONFLICT', 'the device changed meanwhile; reload and retry');
      const post = this.#hooks ? await this.#hooks.applyDeviceState(trx, before, target, actor) : async () => undefined;
      return post;
    });
    await this.#audit.append({ actor, tenant, action: 'device.state', subject: id, details: { from: before.state, to: target } });
    await after();
    return { ...before, state: target, updatedAt: now };
  }

  /** Called by enrolment: a pending device becomes active with its first certificate. */
  async activateOnEnrolment(trx: Parameters<DeviceCertificateHooks['applyDeviceState']>[0], device: Device): Promise<void> {
    if (device.state !== 'pending') return;
    await trx.updateTable('devices').set({ state: 'active', updated_at: this.#clock.now() }).where('tenant_id', '=', device.tenant).where('id', '=', device.id).where('state', '=', 'pending').execute();
  }
}
