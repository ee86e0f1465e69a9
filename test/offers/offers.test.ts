/** Context-aware offers: rules over consented attributes, time, place and a weather feed; consent recorded and revocable. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConsentedAttributes, consentToBeSigned, evaluateOffers, projectConsented, validateRule, type OfferRule } from '../../src/offers/index.ts';
import { createSignature } from '../../src/crypto/index.ts';
import { fromBase64Url, toBase64Url } from '../../src/core/bytes.ts';
import { openEnv, TestWallet, type Env } from '../credentials/service-helpers.ts';

/** The holder's signed consent: its SE key over the attribute names and a fresh nonce. */
async function proof(env: Env, w: TestWallet, attributes: string[], signed: string[] = attributes): Promise<{ nonce: string; signature: string }> {
  const { nonce } = await env.svc.wallets.nonce(w.id);
  const tbs = consentToBeSigned(w.tenant, w.id, signed, fromBase64Url(nonce));
  return { nonce, signature: toBase64Url(createSignature('ES256', w.key.privateKey, tbs, 'raw')) };
}
import { rejectsCode, throwsCode } from '../credentials/helpers.ts';

const rainyStudents = {
  id: 'rainy-students',
  offer: { title: 'Hot chocolate −50 % for students', code: 'CHOC50' },
  when: [
    { attribute: 'student', eq: true },
    { context: 'weather', eq: 'rain' },
    { time: { timeZone: 'Europe/Berlin', windows: [[0x7f, 600, 1200]] } },
    { place: { lat: 52.52, lon: 13.405, radiusMeters: 500 } },
  ],
};
const here = { lat: 52.521, lon: 13.406 };

describe('the offer rule engine', () => {
  const rule = validateRule(rainyStudents);
  const now = Date.UTC(2026, 5, 10, 13, 0);
  const consentAll = [{ id: 'c', tenant: 'cafe', walletId: 'w', attributes: ['student'], purpose: 'offers', grantedAt: 0, revokedAt: null }];

  it('offers when every condition holds over the consented projection', () => {
    const attrs = projectConsented({ student: true, district: 'north' }, consentAll, 'cafe', 'offers');
    assert.deepEqual(attrs.names(), ['student']);
    assert.deepEqual(evaluateOffers([rule], attrs, { now, place: here, feed: { weather: 'rain' } }), [rainyStudents.offer]);
  });

  it('does not offer when weather, time or place differ', () => {
    const attrs = projectConsented({ student: true }, consentAll, 'cafe', 'offers');
    assert.deepEqual(evaluateOffers([rule], attrs, { now, place: here, feed: { weather: 'sun' } }), []);
    assert.deepEqual(evaluateOffers([rule], attrs, { now: Date.UTC(2026, 5, 10, 20, 0), place: here, feed: { weather: 'rain' } }), []);
    assert.deepEqual(evaluateOffers([rule], attrs, { now, place: { lat: 52.53, lon: 13.405 }, feed: { weather: 'rain' } }), []);
    assert.deepEqual(evaluateOffers([rule], attrs, { now, feed: { weather: 'rain' } }), []);
  });

  it('never lets a rule see an attribute without consent, revoked consent or consent for another tenant', () => {
    const none = projectConsented({ student: true }, [], 'cafe', 'offers');
    assert.deepEqual(evaluateOffers([rule], none, { now, place: here, feed: { weather: 'rain' } }), []);
    const revoked = projectConsented({ student: true }, [{ ...consentAll[0]!, revokedAt: 1 }], 'cafe', 'offers');
    assert.equal(revoked.has('student'), false);
    const other = projectConsented({ student: true }, [{ ...consentAll[0]!, tenant: 'bank' }], 'cafe', 'offers');
    assert.equal(other.has('student'), false);
  });

  it('refuses raw attributes in place of a consented projection, at compile and at run time', () => {
    throwsCode(() => evaluateOffers([rule], { get: () => true } as unknown as ConsentedAttributes, { now }), 'OFFER_CONSENT_NOT_FOUND');
    assert.throws(() => new ConsentedAttributes(Symbol('forged'), new Map()), TypeError);
  });

  it('refuses malformed rules', () => {
    const bad: unknown[] = [
      {},
      { ...rainyStudents, id: 'Bad Id' },
      { ...rainyStudents, when: [] },
      { ...rainyStudents, when: [{ attribute: 'student' }] },
      { ...rainyStudents, when: [{ time: { timeZone: 'Mars/Olympus', windows: [[1, 0, 60]] } }] },
      { ...rainyStudents, when: [{ place: { lat: 100, lon: 0, radiusMeters: 5 } }] },
      { ...rainyStudents, when: [{ colour: 'red' }] },
      { ...rainyStudents, extra: 1 },
    ];
    for (const r of bad) throwsCode(() => validateRule(r), 'OFFER_RULE_INVALID');
  });
});

describe('the offers service', () => {
  it('records consent, evaluates over it, and stops when it is revoked', async (t) => {
    const env = await openEnv(t, ['cafe']);
    const w = await new TestWallet(env, 'cafe').register();
    const offers = env.svc.offers;
    const rule: OfferRule = await offers.defineRule('cafe', rainyStudents, 'test');
    assert.equal(rule.id, 'rainy-students');
    await offers.setAttributes('cafe', w.id, { student: true, district: 'north' }, 'test');
    await rejectsCode(offers.eligible('cafe', w.id, { place: here, feed: { weather: 'rain' } }), 'OFFER_CONSENT_NOT_FOUND');
    const consent = await offers.grantConsent('cafe', w.id, ['district'], await proof(env, w, ['district']), 'wallet');
    assert.deepEqual(await offers.eligible('cafe', w.id, { place: here, feed: { weather: 'rain' } }), [], 'student was not consented');
    const student = await offers.grantConsent('cafe', w.id, ['student'], await proof(env, w, ['student']), 'wallet');
    assert.deepEqual(await offers.eligible('cafe', w.id, { place: here, feed: { weather: 'rain' } }), [rainyStudents.offer]);
    await offers.revokeConsent('cafe', student.id, 'wallet');
    assert.deepEqual(await offers.eligible('cafe', w.id, { place: here, feed: { weather: 'rain' } }), []);
    await offers.revokeConsent('cafe', consent.id, 'wallet');
    await rejectsCode(offers.eligible('cafe', w.id, { place: here, feed: { weather: 'rain' } }), 'OFFER_CONSENT_NOT_FOUND');
    await rejectsCode(offers.revokeConsent('cafe', consent.id, 'wallet'), 'OFFER_CONSENT_NOT_FOUND');
    const row = await env.store.db.selectFrom('holder_attributes').select('data').executeTakeFirstOrThrow();
    assert.equal(Buffer.from(row.data).includes(Buffer.from('north')), false);
    assert.equal(JSON.stringify(env.audit.events).includes('north'), false);
    assert.deepEqual((await offers.consents('cafe', w.id)).map((c) => c.revokedAt !== null), [true, true]);
  });

  it('records no consent the holder did not sign: forged, for other attributes, by another wallet, or replayed', async (t) => {
    const env = await openEnv(t, ['cafe']);
    const w = await new TestWallet(env, 'cafe').register();
    const other = await new TestWallet(env, 'cafe').register();
    const offers = env.svc.offers;
    const forged = await proof(env, w, ['student']);
    await rejectsCode(offers.grantConsent('cafe', w.id, ['student'], { ...forged, signature: toBase64Url(new Uint8Array(64)) }, 'app'), 'WALLET_PROOF_INVALID');
    await rejectsCode(offers.grantConsent('cafe', w.id, ['student', 'district'], await proof(env, w, ['student', 'district'], ['student']), 'app'), 'WALLET_PROOF_INVALID');
    const byOther = await proof(env, other, ['student']);
    await rejectsCode(offers.grantConsent('cafe', w.id, ['student'], byOther, 'app'), 'WALLET_NONCE_INVALID');
    await rejectsCode(offers.grantConsent('cafe', w.id, ['student'], { nonce: toBase64Url(new Uint8Array(32)), signature: forged.signature }, 'app'), 'WALLET_NONCE_INVALID');
    assert.deepEqual(await offers.consents('cafe', w.id), []);
    const good = await proof(env, w, ['student']);
    await offers.grantConsent('cafe', w.id, ['student'], good, 'app');
    await rejectsCode(offers.grantConsent('cafe', w.id, ['student'], good, 'app'), 'WALLET_SYNC_REPLAYED');
    assert.equal((await offers.consents('cafe', w.id)).length, 1);
  });

  it('refuses rules, consents and evaluation for another tenant\'s wallet as if it did not exist', async (t) => {
    const env = await openEnv(t, ['cafe', 'bank']);
    const w = await new TestWallet(env, 'cafe').register();
    const offers = env.svc.offers;
    await rejectsCode(offers.setAttributes('bank', w.id, { student: true }, 'bank'), 'WALLET_NOT_FOUND');
    await rejectsCode(offers.grantConsent('bank', w.id, ['student'], await proof(env, w, ['student']), 'bank'), 'WALLET_NOT_FOUND');
    await rejectsCode(offers.consents('bank', w.id), 'WALLET_NOT_FOUND');
    await rejectsCode(offers.eligible('bank', w.id, {}), 'WALLET_NOT_FOUND');
    await offers.defineRule('cafe', rainyStudents, 'cafe');
    await rejectsCode(offers.rule('bank', 'rainy-students'), 'OFFER_RULE_NOT_FOUND');
    await rejectsCode(offers.deleteRule('bank', 'rainy-students', 'bank'), 'OFFER_RULE_NOT_FOUND');
    assert.equal((await offers.rule('cafe', 'rainy-students')).id, 'rainy-students');
  });
});
