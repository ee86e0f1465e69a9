/** Context-aware offers over consented holder attributes, time, place and an external feed (docs/wallet.md). */
export { ConsentedAttributes, projectConsented, type Consent, type AttributeValue } from './consent.ts';
export { evaluateOffers, validateRule, type OfferRule, type Condition, type OfferContext } from './rules.ts';
export { Offers, OFFERS_PURPOSE, consentToBeSigned, validateOfferContext } from './service.ts';
