/**
 * The meters of a tenant: grid district, class (which bounds plausible consumption), relay state
 * and customer data. Each meter is also a device of the registry (type `meter`), which owns its
 * lifecycle and certificates. Customer data — name, address, protected status — is sealed with
 * the tenant's vault KEK (EnvelopeCipher) and bound to its row by the AAD; it is decrypted only
 * where a decision needs it (a disconnect of a protected customer) or an operator asks for it,
 * and each such read is audited.
 */
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import { utf8 } from '../core/bytes.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import type { MetersTable } from '../store/schema.ts';
import type { Devices } from '../devices/registry.ts';
import type { DeviceState } from '../devices/types.ts';
import { checkMeterClass, type MeterClass } from './plausibility.ts';
import type { MeteringKeys } from './keys.ts';
import { systemTitleOf } from './suite.ts';
import { isMeterId, isTenantId } from './topics.ts';

export interface Customer {
  readonly name: string;
  readonly address: string;
  /** Medical equipment or critical infrastructure: a disconnect needs a second approver. */
  readonly protected: boolean;
}

export interface Meter {
  readonly tenant: string;
  readonly id: string;
  readonly district: string;
  readonly class: MeterClass;
  readonly relay: 'connected' | 'disconnected' | 'unknown';
  /** The device's lifecycle state in the registry (a tamper event makes it `compromised`). */
  readonly state: DeviceState;
  readonly lastCounter: number;
  readonly lastReadingAt: number | null;
  readonly lastImportWh: number | null;
  readonly lastExportWh: number | null;
  readonly tariffId: number | null;
  readonly createdAt: number;
}

export interface RegisterMeterInput {
  tenant: unknown;
  id: unknown;
  district: unknown;
  class: unknown;
  customer: unknown;
}

const DISTRICT = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function checkDistrict(d: unknown): string {
  if (typeof d !== 'string' || !DISTRICT.test(d)) throw new CityTrustError('INPUT_INVALID', 'district must be 1–63 characters of a–z, 0–9, ".", "_", "-"');
  return d;
}

function checkCustomer(c: unknown): Customer {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new CityTrustError('INPUT_INVALID', 'customer must be {name, address, protected}');
  const { name, address, protected: prot } = c as Record<string, unknown>;
  const text = (v: unknown, what: string): string => {
    if (typeof v !== 'string' || v.trim().length === 0 || v.length > 200) throw new CityTrustError('INPUT_INVALID', `customer ${what} must be 1–200 characters`);
    return v.trim();
  };
  if (typeof prot !== 'boolean') throw new CityTrustError('INPUT_INVALID', 'customer protected must be true or false');
  const extra = Object.keys(c).filter((k) => !['name', 'address', 'protected'].includes(k));
  if (extra.length > 0) throw new CityTrustError('INPUT_INVALID', `unknown customer field ${extra[0]}`);
  return { name: text(name, 'name'), address: text(address, 'address'), protected: prot };
}

/** AAD naming the row a customer record belongs to: a sealed record copied to another meter does not open there. */
export function customerAad(tenant: string, id: string): Uint8Array {
  return utf8.encode(`citytrust/metering/meters/${tenant}/${id}/customer`);
}

export function meterOf(r: MetersTable, state: DeviceState): Meter {
  return {
    tenant: r.tenant_id,
    id: r.id,
    district: r.district,
    class: r.class as MeterClass,
    relay: r.relay,
    state,
    lastCounter: Number(r.last_counter),
    lastReadingAt: r.last_time === null ? null : Number(r.last_time),
    lastImportWh: r.last_import === null ? null : Number(r.last_import),
    lastExportWh: r.last_export === null ? null : Number(r.last_export),
    tariffId: r.tariff_id === null ? null : Number(r.tariff_id),
    createdAt: Number(r.created_at),
  };
}

export class Meters {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #audit: AuditSink;
  readonly #keys: MeteringKeys;
  readonly #devices: Devices;

  constructor(deps: { store: Store; clock: Clock; audit: AuditSink; keys: MeteringKeys; devices: Devices }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#keys = deps.keys;
    this.#devices = deps.devices;
  }

  /**
   * Registers a meter: the device (type meter, pending until it enrols) and the meter row with
   * its sealed customer record. Nothing is written unless every field checks.
   */
  async register(input: RegisterMeterInput, actor: string): Promise<Meter> {
    if (typeof input.tenant !== 'string' || !isTenantId(input.tenant)) throw new CityTrustError('INPUT_INVALID', 'tenant id is malformed');
    if (typeof input.id !== 'string' || !isMeterId(input.id)) throw new CityTrustError('INPUT_INVALID', 'meter id must be 1–63 characters of a–z, 0–9, ".", "_", "-"');
    const tenant = input.tenant;
    const id = input.id;
    const district = checkDistrict(input.district);
    const cls = checkMeterClass(input.class);
    const customer = checkCustomer(input.customer);
    const existing = await this.#store.db.selectFrom('meters').select('id').where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    if (existing) throw new CityTrustError('METER_EXISTS', `meter ${id} is already registered for ${tenant}`);
    await this.#keys.setup(tenant, actor);
    const device = await this.#devices.get(tenant, tenant, id).catch((e: unknown) => {
      if (e instanceof CityTrustError && e.code === 'DEVICE_NOT_FOUND') return undefined;
      throw e;
    });
    if (device && device.type !== 'meter') throw new CityTrustError('DEVICE_EXISTS', `device ${id} exists and is a ${device.type}, not a meter`);
    const state = device ? device.state : (await this.#devices.register({ tenant, id, type: 'meter', site: district, label: `meter ${id}` }, actor)).state;
    const cipher = await this.#keys.customerCipher(tenant, actor);
    const sealed = await cipher.seal(utf8.encode(JSON.stringify(customer)), customerAad(tenant, id));
    const now = this.#clock.now();
    const row: MetersTable = {
      tenant_id: tenant,
      id,
      district,
      class: cls,
      system_title: systemTitleOf(tenant, id),
      customer: sealed,
      relay: 'unknown',
      last_counter: 0,
      last_time: null,
      last_import: null,
      last_export: null,
      last_received_at: null,
      command_counter: 0,
      tariff_id: null,
      created_at: now,
      updated_at: now,
      created_by: actor,
    };
    try {
      await this.#store.db.insertInto('meters').values(row).execute();
    } catch (e) {
      throw new CityTrustError('METER_EXISTS', `meter ${id} is already registered for ${tenant}`, { cause: e });
    }
    // No personal data in the audit log: the customer record is sealed, the event names the meter only.
    await this.#audit.append({ actor, tenant, action: 'metering.meter.register', subject: id, details: { district, class: cls } });
    return meterOf(row, state);
  }

  /** `scope` is the caller's tenant (null/undefined = city). A meter of another tenant answers METER_NOT_FOUND. */
  async get(scope: string | null | undefined, tenant: string, id: string): Promise<Meter> {
    const r = await this.#row(scope, tenant, id);
    const d = await this.#store.db.selectFrom('devices').select('state').where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    return meterOf(r, d?.state ?? 'retired');
  }

  async #row(scope: string | null | undefined, tenant: string, id: string): Promise<MetersTable> {
    if (scope && scope !== tenant) throw new CityTrustError('METER_NOT_FOUND', 'no such meter');
    const r = await this.#store.db.selectFrom('meters').selectAll().where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    if (!r) throw new CityTrustError('METER_NOT_FOUND', 'no such meter');
    return r;
  }

  async list(scope: string | null | undefined, tenant: string, f: { district?: string; limit?: number; after?: string } = {}): Promise<Meter[]> {
    if (scope && scope !== tenant) return [];
    let q = this.#store.db.selectFrom('meters').selectAll().where('tenant_id', '=', tenant);
    if (f.district !== undefined) q = q.where('district', '=', checkDistrict(f.district));
    if (f.after !== undefined) q = q.where('id', '>', f.after);
    const rows = await q.orderBy('id').limit(Math.min(Math.max(f.limit ?? 100, 1), 1000)).execute();
    const states = new Map<string, DeviceState>();
    if (rows.length > 0) {
      const ds = await this.#store.db.selectFrom('devices').select(['id', 'state']).where('tenant_id', '=', tenant).where('id', 'in', rows.map((r) => r.id)).execute();
      for (const d of ds) states.set(d.id, d.state);
    }
    return rows.map((r) => meterOf(r, states.get(r.id) ?? 'retired'));
  }

  /** Decrypts the customer record; audited as a read of personal data. */
  async customer(scope: string | null | undefined, tenant: string, id: string, actor: string, purpose: string): Promise<Customer> {
    const r = await this.#row(scope, tenant, id);
    const cipher = await this.#keys.customerCipher(tenant, actor);
    const plain = await cipher.open(new Uint8Array(r.customer), customerAad(tenant, id));
    await this.#audit.append({ actor, tenant, action: 'metering.customer.read', subject: id, details: { purpose } });
    return JSON.parse(utf8.decode(plain)) as Customer;
  }
}
