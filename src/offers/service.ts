/**
 * Offers on the server: tenant rules, holder attributes sealed at rest, consent records, and
 * evaluation over the consented projection only.
 *
 * Consent is the holder's, not the tenant's: it is granted only with a signature of the wallet's
 * secure-element key over ["citytrust/offer-consent/v1", tenant, wallet id, attributes, nonce]
 * (a fresh single-use nonce), so a tenant cannot record consent its holder never gave.
 * Revoking needs no signature: it can only take attributes away from the rules.
 */
import { randomBytes } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Clock } from '../core/clock.ts';
import type { Store } from '../store/db.ts';
import { encodeCbor } from '../crypto/index.ts';
import type { PersonalData } from '../credentials/personal-data.ts';
import type { Wallets } from '../credentials/wallets.ts';
import { projectConsented, type AttributeValue, type Consent } from './consent.ts';
import { evaluateOffers, validateRule, type OfferContext, type OfferRule } from './rules.ts';

export const OFFERS_PURPOSE = 'offers';
const NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,31}$/;
const RULE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const CONSENT_ID = /^oc_[0-9a-f]{24}$/;
const MAX_FEED = 32;

/** What the holder signs to consent: the attribute names sorted and without repeats. */
export function consentToBeSigned(tenant: string, walletId: string, attributes: readonly string[], nonce: Uint8Array): Uint8Array {
  return encodeCbor(['citytrust/offer-consent/v1', tenant, walletId, [...new Set(attributes)].sort(), nonce]);
}

const scalar = (v: unknown): v is AttributeValue => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** Checks a caller's context (place, feed) before any rule sees it. */
export function validateOfferContext(input: unknown): Omit<OfferContext, 'now'> {
  if (input === undefined) return {};
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new CityTrustError('INPUT_INVALID', 'the context is {place?, feed?}');
  const { place, feed, ...rest } = input as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new CityTrustError('INPUT_INVALID', 'the context is {place?, feed?}');
  const out: { place?: { lat: number; lon: number }; feed?: Record<string, AttributeValue> } = {};
  if (place !== undefined) {
    const p = place as Record<string, unknown> | null;
    if (p === null || typeof p !== 'object' || typeof p.lat !== 'number' || Math.abs(p.lat) > 90 || typeof p.lon !== 'number' || Math.abs(p.lon) > 180 || Object.keys(p).length !== 2) {
      throw new CityTrustError('INPUT_INVALID', 'place is {lat, lon} in degrees');
    }
    out.place = { lat: p.lat, lon: p.lon };
  }
  if (feed !== undefined) {
    if (feed === null || typeof feed !== 'object' || Array.isArray(feed)) throw new CityTrustError('INPUT_INVALID', 'feed is an object of named scalars');
    const entries = Object.entries(feed);
    if (entries.length > MAX_FEED || !entries.every(([k, v]) => NAME.test(k) && scalar(v))) throw new CityTrustError('INPUT_INVALID', `feed has up to ${MAX_FEED} named scalars`);
    out.feed = Object.fromEntries(entries) as Record<string, AttributeValue>;
  }
  return out;
}

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

  /** Creates or replaces a rule of the tenant. */
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

  async rule(tenant: string, id: string): Promise<OfferRule> {
    if (typeof id !== 'string' || !RULE_ID.test(id)) throw new CityTrustError('OFFER_RULE_NOT_FOUND', 'no such offer rule');
    const r = await this.#store.db.selectFrom('offer_rules').select('rule').where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    if (!r) throw new CityTrustError('OFFER_RULE_NOT_FOUND', 'no such offer rule');
    return validateRule(JSON.parse(r.rule));
  }

  async deleteRule(tenant: string, id: string, actor: string): Promise<void> {
    if (typeof id !== 'string' || !RULE_ID.test(id)) throw new CityTrustError('OFFER_RULE_NOT_FOUND', 'no such offer rule');
    const r = await this.#store.db.deleteFrom('offer_rules').where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) !== 1) throw new CityTrustError('OFFER_RULE_NOT_FOUND', 'no such offer rule');
    await this.#audit.append({ actor, tenant, action: 'offers.rule.delete', subject: id });
  }

  /** Stores the holder's attributes sealed (e.g. {student: true, ageBand: "18-25", district: "north"}). */
  async setAttributes(tenant: string, walletId: string, attributes: unknown, actor: string): Promise<void> {
    await this.#wallets.get(tenant, walletId);
    if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) throw new CityTrustError('INPUT_INVALID', 'attributes is an object');
    const entries = Object.entries(attributes);
    if (entries.length > 32 || !entries.every(([k, v]) => NAME.test(k) && scalar(v))) {
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

  /**
   * Records the holder's consent to show the named attributes to this tenant's offer rules.
   * `proof` is the wallet's signature over consentToBeSigned(…) with a nonce from
   * POST /v1/wallets/{id}/nonce; nothing is recorded unless it verifies.
   */
  async grantConsent(tenant: string, walletId: string, attributes: unknown, proof: { nonce: unknown; signature: unknown }, actor: string): Promise<Consent> {
    await this.#wallets.get(tenant, walletId);
    if (!Array.isArray(attributes) || attributes.length === 0 || attributes.length > 32 || !attributes.every((a) => typeof a === 'string' && NAME.test(a))) {
      throw new CityTrustError('INPUT_INVALID', 'attributes is a list of attribute names');
    }
    const names = [...new Set(attributes as string[])].sort();
    if (proof === null || typeof proof !== 'object') throw new CityTrustError('WALLET_PROOF_INVALID', 'consent needs the holder signature');
    await this.#wallets.verifyHolderStatement(tenant, walletId, proof, (nonce) => consentToBeSigned(tenant, walletId, names, nonce));
    const c: Consent = { id: `oc_${randomBytes(12).toString('hex')}`, tenant, walletId, attributes: names, purpose: OFFERS_PURPOSE, grantedAt: this.#clock.now(), revokedAt: null };
    await this.#store.db.insertInto('offer_consents').values({ id: c.id, tenant_id: tenant, wallet_id: walletId, attributes: JSON.stringify(c.attributes), purpose: c.purpose, granted_at: c.grantedAt, revoked_at: null }).execute();
    await this.#audit.append({ actor, tenant, action: 'offers.consent.grant', subject: c.id, details: { wallet: walletId, attributes: c.attributes } });
    return c;
  }

  async revokeConsent(tenant: string, consentId: string, actor: string): Promise<Consent> {
    if (typeof consentId !== 'string' || !CONSENT_ID.test(consentId)) throw new CityTrustError('OFFER_CONSENT_NOT_FOUND', 'no such active consent');
    const now = this.#clock.now();
    const r = await this.#store.db.updateTable('offer_consents').set({ revoked_at: now }).where('id', '=', consentId).where('tenant_id', '=', tenant).where('revoked_at', 'is', null).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new CityTrustError('OFFER_CONSENT_NOT_FOUND', 'no such active consent');
    await this.#audit.append({ actor, tenant, action: 'offers.consent.revoke', subject: consentId });
    const row = await this.#store.db.selectFrom('offer_consents').selectAll().where('id', '=', consentId).executeTakeFirstOrThrow();
    return toConsent(row);
  }

  async consents(tenant: string, walletId: string): Promise<Consent[]> {
    await this.#wallets.get(tenant, walletId);
    const rows = await this.#store.db.selectFrom('offer_consents').selectAll().where('tenant_id', '=', tenant).where('wallet_id', '=', walletId).orderBy('granted_at').orderBy('id').execute();
    return rows.map(toConsent);
  }

  /** The offers a holder is eligible for now; attributes without an active consent never reach the rules. */
  async eligible(tenant: string, walletId: string, context: unknown): Promise<OfferRule['offer'][]> {
    const ctx = validateOfferContext(context);
    const consents = (await this.consents(tenant, walletId)).filter((c) => c.revokedAt === null);
    if (consents.length === 0) throw new CityTrustError('OFFER_CONSENT_NOT_FOUND', 'the holder has given no consent for offers');
    const row = await this.#store.db.selectFrom('holder_attributes').select('data').where('wallet_id', '=', walletId).where('tenant_id', '=', tenant).executeTakeFirst();
    const all = row ? ((await this.#pii.openRecord(tenant, `holder_attributes/${walletId}`, new Uint8Array(row.data))) as Record<string, AttributeValue>) : {};
    return evaluateOffers(await this.rules(tenant), projectConsented(all, consents, tenant, OFFERS_PURPOSE), { ...ctx, now: this.#clock.now() });
  }
}

function toConsent(r: { id: string; tenant_id: string; wallet_id: string; attributes: string; purpose: string; granted_at: number; revoked_at: number | null }): Consent {
  return { id: r.id, tenant: r.tenant_id, walletId: r.wallet_id, attributes: JSON.parse(r.attributes) as string[], purpose: r.purpose, grantedAt: Number(r.granted_at), revokedAt: r.revoked_at === null ? null : Number(r.revoked_at) };
}
