/**
 * Offers on the server: tenant rules, holder attributes sealed at rest, consent records, and
 * evaluation over the consented projection only.
 */
import { randomBytes } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Clock } from '../core/clock.ts';
import type { Store } from '../store/db.ts';
import type { PersonalData } from '../credentials/personal-data.ts';
import type { Wallets } from '../credentials/wallets.ts';
import { projectConsented, type AttributeValue, type Consent } from './consent.ts';
import { evaluateOffers, validateRule, type OfferContext, type OfferRule } from './rules.ts';

export const OFFERS_PURPOSE = 'offers';
const NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,31}$/;

export class Offers {
  readonly #store: Store;
  readonly #audit: AuditSink;
  readonly #clock: Clock;
  readonly #pii: PersonalData;
  readonly #wallets: Wallets;

  constructor(deps: { store: Store; audit: AuditSink; clock: Clock; personalData: PersonalData; wallets: Wallets }) {
    this.#store = deps.store;
    this.#audit = deps.audit;
    this.#clock = deps.clock;
    this.#pii = deps.personalData;
    this.#wallets = deps.wallets;
  }

  async defineRule(tenant: string, input: unknown, actor: string): Promise<OfferRule> {
    const rule = validateRule(input);
    await this.#store.db
      .insertInto('offer_rules')
      .values({ tenant_id: tenant, id: rule.id, rule: JSON.stringify(rule), created_at: this.#clock.now() })
      .onConflict((oc) => oc.columns(['tenant_id', 'id']).doUpdateSet({ rule: JSON.stringify(rule) }))
      .execute();
    await this.#audit.append({ actor, tenant, action: 'offers.rule.define', subject: rule.id });
    return rule;
  }

  async rules(tenant: string): Promise<OfferRule[]> {
    const rows = await this.#store.db.selectFrom('offer_rules').select('rule').where('tenant_id', '=', tenant).orderBy('id').execute();
    return rows.map((r) => validateRule(JSON.parse(r.rule)));
  }

  /** Stores the holder's attributes sealed (e.g. {student: true, ageBand: "18-25", district: "north"}). */
  async setAttributes(tenant: string, walletId: string, attributes: unknown, actor: string): Promise<void> {
    await this.#wallets.get(tenant, walletId);
    if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) throw new CityTrustError('INPUT_INVALID', 'attributes is an object');
    const entries = Object.entries(attributes);
    if (entries.length > 32 || !entries.every(([k, v]) => NAME.test(k) && (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))))) {
      throw new CityTrustError('INPUT_INVALID', 'attributes are up to 32 named scalars');
    }
    const data = await this.#pii.sealRecord(tenant, `holder_attributes/${walletId}`, attributes);
    await this.#store.db
      .insertInto('holder_attributes')
      .values({ wallet_id: walletId, tenant_id: tenant, data, updated_at: this.#clock.now() })
      .onConflict((oc) => oc.column('wallet_id').doUpdateSet({ data, updated_at: this.#clock.now() }))
      .execute();
    await this.#audit.append({ actor, tenant, action: 'offers.attributes.set', subject: walletId, details: { names: entries.map(([k]) => k) } });
  }

  async grantConsent(tenant: string, walletId: string, attributes: unknown, actor: string): Promise<Consent> {
    await this.#wallets.get(tenant, walletId);
    if (!Array.isArray(attributes) || attributes.length === 0 || attributes.length > 32 || !attributes.every((a) => typeof a === 'string' && NAME.test(a))) {
      throw new CityTrustError('INPUT_INVALID', 'attributes is a list of attribute names');
    }
    const c: Consent = { id: `oc_${randomBytes(12).toString('hex')}`, tenant, walletId, attributes: [...new Set(attributes as string[])], purpose: OFFERS_PURPOSE, grantedAt: this.#clock.now(), revokedAt: null };
    await this.#store.db.insertInto('offer_consents').values({ id: c.id, tenant_id: tenant, wallet_id: walletId, attributes: JSON.stringify(c.attributes), purpose: c.purpose, granted_at: c.grantedAt, revoked_at: null }).execute();
    await this.#audit.append({ actor, tenant, action: 'offers.consent.grant', subject: c.id, details: { wallet: walletId, attributes: c.attributes } });
    return c;
  }

  async revokeConsent(tenant: string, consentId: string, actor: string): Promise<void> {
    const r = await this.#store.db.updateTable('offer_consents').set({ revoked_at: this.#clock.now() }).where('id', '=', consentId).where('tenant_id', '=', tenant).where('revoked_at', 'is', null).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new CityTrustError('OFFER_CONSENT_NOT_FOUND', 'no such active consent');
    await this.#audit.append({ actor, tenant, action: 'offers.consent.revoke', subject: consentId });
  }

  async consents(tenant: string, walletId: string): Promise<Consent[]> {
    const rows = await this.#store.db.selectFrom('offer_consents').selectAll().where('tenant_id', '=', tenant).where('wallet_id', '=', walletId).orderBy('granted_at').execute();
    return rows.map((r) => ({ id: r.id, tenant: r.tenant_id, walletId: r.wallet_id, attributes: JSON.parse(r.attributes) as string[], purpose: r.purpose, grantedAt: Number(r.granted_at), revokedAt: r.revoked_at === null ? null : Number(r.revoked_at) }));
  }

  /** The offers a holder is eligible for now; attributes without an active consent never reach the rules. */
  async eligible(tenant: string, walletId: string, ctx: Omit<OfferContext, 'now'>): Promise<OfferRule['offer'][]> {
    const consents = (await this.consents(tenant, walletId)).filter((c) => c.revokedAt === null);
    if (consents.length === 0) throw new CityTrustError('OFFER_CONSENT_NOT_FOUND', 'the holder has given no consent for offers');
    const row = await this.#store.db.selectFrom('holder_attributes').select('data').where('wallet_id', '=', walletId).where('tenant_id', '=', tenant).executeTakeFirst();
    const all = row ? ((await this.#pii.openRecord(tenant, `holder_attributes/${walletId}`, new Uint8Array(row.data))) as Record<string, AttributeValue>) : {};
    return evaluateOffers(await this.rules(tenant), projectConsented(all, consents, tenant, OFFERS_PURPOSE), { ...ctx, now: this.#clock.now() });
  }
}
