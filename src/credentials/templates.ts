/** Credential templates per tenant: products such as "day ticket, first class, zones A–B". */
import { CityTrustError } from '../core/errors.ts';
import { validateGrants, type Grants } from './grants.ts';
import { settingsOf, type CredentialDeps } from './settings.ts';

export interface Template {
  readonly tenant: string;
  readonly id: string;
  readonly name: string;
  readonly validitySeconds: number;
  readonly grants: Grants;
  readonly createdAt: number;
}

export const TEMPLATE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class Templates {
  readonly #deps: CredentialDeps;
  readonly #cache = new Map<string, Template>();
  constructor(deps: CredentialDeps) {
    this.#deps = deps;
  }

  async create(tenant: string, input: { id: unknown; name: unknown; validitySeconds: unknown; grants: unknown }, actor: string): Promise<Template> {
    const { id, name, validitySeconds } = input;
    if (typeof id !== 'string' || !TEMPLATE_ID.test(id)) throw new CityTrustError('INPUT_INVALID', 'template id is 1..63 of a-z, 0-9 and hyphens');
    if (typeof name !== 'string' || name.trim().length === 0 || name.length > 200) throw new CityTrustError('INPUT_INVALID', 'template name is 1..200 characters');
    const max = settingsOf(this.#deps).maxValiditySeconds;
    if (typeof validitySeconds !== 'number' || !Number.isSafeInteger(validitySeconds) || validitySeconds < 60 || validitySeconds > max) {
      throw new CityTrustError('INPUT_INVALID', `validitySeconds is 60..${max}`);
    }
    const grants = validateGrants({ ...(input.grants as object), product: id });
    const t: Template = { tenant, id, name: name.trim(), validitySeconds, grants, createdAt: this.#deps.clock.now() };
    const res = await this.#deps.store.db
      .insertInto('credential_templates')
      .values({ tenant_id: tenant, id, name: t.name, validity_seconds: validitySeconds, grants: JSON.stringify(grants), created_at: t.createdAt })
      .onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0n) === 0) throw new CityTrustError('CREDENTIAL_TEMPLATE_EXISTS', `template ${id} exists`);
    await this.#deps.audit.append({ actor, tenant, action: 'credentials.template.create', subject: id, details: { name: t.name, validitySeconds } });
    return t;
  }

  /** Templates are immutable once created, so a found one is cached. */
  async get(tenant: string, id: string): Promise<Template> {
    const key = `${tenant}/${id}`;
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const t = await this.#load(tenant, id);
    if (this.#cache.size > 1000) this.#cache.clear();
    this.#cache.set(key, t);
    return t;
  }

  async #load(tenant: string, id: string): Promise<Template> {
    const r = await this.#deps.store.db.selectFrom('credential_templates').selectAll().where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    if (!r) throw new CityTrustError('CREDENTIAL_TEMPLATE_NOT_FOUND', `template ${id} does not exist`);
    return { tenant, id, name: r.name, validitySeconds: Number(r.validity_seconds), grants: validateGrants(JSON.parse(r.grants)), createdAt: Number(r.created_at) };
  }

  async list(tenant?: string): Promise<Template[]> {
    let q = this.#deps.store.db.selectFrom('credential_templates').selectAll();
    if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
    const rows = await q.orderBy('tenant_id').orderBy('id').execute();
    return rows.map((r) => ({ tenant: r.tenant_id, id: r.id, name: r.name, validitySeconds: Number(r.validity_seconds), grants: validateGrants(JSON.parse(r.grants)), createdAt: Number(r.created_at) }));
  }
}
