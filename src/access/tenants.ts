/** Tenants: the service providers (transit operator, utility, campus…) that share a city. */
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';

export interface Tenant {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  createdAt: number;
}

/** Tenant ids appear in URNs, topics and SANs: keep them to a safe, stable alphabet. */
export const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;

export class Tenants {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #audit: AuditSink;
  constructor(deps: { store: Store; clock: Clock; audit: AuditSink }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async create(input: { id: unknown; name: unknown }, actor: string): Promise<Tenant> {
    const { id, name } = input;
    if (typeof id !== 'string' || !TENANT_ID.test(id)) {
      throw new CityTrustError('INPUT_INVALID', 'tenant id must be 3–40 characters of a–z, 0–9 and inner hyphens');
    }
    if (typeof name !== 'string' || name.trim().length === 0 || name.length > 200) {
      throw new CityTrustError('INPUT_INVALID', 'tenant name must be 1–200 characters');
    }
    const t: Tenant = { id, name: name.trim(), status: 'active', createdAt: this.#clock.now() };
    const existing = await this.#store.db.selectFrom('tenants').select('id').where('id', '=', id).executeTakeFirst();
    if (existing) throw new CityTrustError('TENANT_EXISTS', `tenant ${id} already exists`);
    try {
      await this.#store.db.insertInto('tenants').values({ id, name: t.name, status: t.status, created_at: t.createdAt }).execute();
    } catch (e) {
      // A concurrent create of the same id on another instance lost the race.
      throw new CityTrustError('TENANT_EXISTS', `tenant ${id} already exists`, { cause: e });
    }
    await this.#audit.append({ actor, tenant: id, action: 'tenant.create', subject: id, details: { name: t.name } });
    return t;
  }

  async get(id: string): Promise<Tenant> {
    const r = await this.#store.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new CityTrustError('TENANT_NOT_FOUND', `tenant ${id} does not exist`);
    return { id: r.id, name: r.name, status: r.status, createdAt: Number(r.created_at) };
  }

  /** Lists tenants; a tenant-scoped caller passes its own id and sees only itself. */
  async list(scope?: string): Promise<Tenant[]> {
    let q = this.#store.db.selectFrom('tenants').selectAll();
    if (scope !== undefined) q = q.where('id', '=', scope);
    const rows = await q.orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, name: r.name, status: r.status, createdAt: Number(r.created_at) }));
  }
}
