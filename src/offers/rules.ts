/**
 * Offer rules and their evaluation (pure): conditions over consented holder attributes, time,
 * place and an external context feed (weather…). The engine takes a ConsentedAttributes, never raw
 * attributes (./consent.ts).
 */
import { CityTrustError } from '../core/errors.ts';
import { inSchedule, isScheduleWindow, isTimeZone, type ScheduleWindow } from '../credentials/schedule.ts';
import { ConsentedAttributes, type AttributeValue } from './consent.ts';

export type Condition =
  | { readonly attribute: string; readonly eq?: AttributeValue; readonly in?: readonly AttributeValue[]; readonly exists?: true }
  | { readonly time: { readonly timeZone: string; readonly windows: readonly ScheduleWindow[] } }
  | { readonly place: { readonly lat: number; readonly lon: number; readonly radiusMeters: number } }
  | { readonly context: string; readonly eq?: AttributeValue; readonly lt?: number; readonly gt?: number };

export interface OfferRule {
  readonly id: string;
  /** What the holder is offered (shown by the tenant's app). */
  readonly offer: { readonly title: string; readonly code: string };
  /** All conditions must hold. */
  readonly when: readonly Condition[];
}

export interface OfferContext {
  /** Milliseconds since the epoch. */
  readonly now: number;
  readonly place?: { readonly lat: number; readonly lon: number };
  /** The external feed (e.g. {weather: "rain", temperatureC: 12}). */
  readonly feed?: Readonly<Record<string, AttributeValue>>;
}

const NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,31}$/;
const scalar = (v: unknown): v is AttributeValue => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

function bad(message: string): never {
  throw new CityTrustError('OFFER_RULE_INVALID', message);
}

export function validateRule(input: unknown): OfferRule {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) bad('a rule is an object');
  const r = input as Record<string, unknown>;
  if (typeof r.id !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(r.id)) bad('rule id is 1..63 of a-z, 0-9, hyphens');
  const offer = r.offer as Record<string, unknown> | undefined;
  if (!offer || typeof offer.title !== 'string' || offer.title.length === 0 || offer.title.length > 200 || typeof offer.code !== 'string' || !/^[A-Za-z0-9-]{1,32}$/.test(offer.code)) {
    bad('offer is {title, code}');
  }
  if (!Array.isArray(r.when) || r.when.length === 0 || r.when.length > 16) bad('when is a list of 1..16 conditions');
  for (const c of r.when as unknown[]) validateCondition(c);
  for (const k of Object.keys(r)) if (!['id', 'offer', 'when'].includes(k)) bad(`unknown field ${k}`);
  return { id: r.id, offer: { title: offer!.title as string, code: offer!.code as string }, when: r.when as Condition[] };
}

function validateCondition(c: unknown): void {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) bad('a condition is an object');
  const o = c as Record<string, unknown>;
  if ('attribute' in o) {
    if (typeof o.attribute !== 'string' || !NAME.test(o.attribute)) bad('attribute names an attribute');
    const ops = ['eq', 'in', 'exists'].filter((k) => k in o);
    if (ops.length !== 1) bad('an attribute condition has one of eq, in, exists');
    if ('eq' in o && !scalar(o.eq)) bad('eq is a scalar');
    if ('in' in o && (!Array.isArray(o.in) || o.in.length === 0 || !o.in.every(scalar))) bad('in is a list of scalars');
    if ('exists' in o && o.exists !== true) bad('exists is true');
  } else if ('time' in o) {
    const t = o.time as Record<string, unknown> | undefined;
    if (!t || !isTimeZone(t.timeZone) || !Array.isArray(t.windows) || t.windows.length === 0 || !t.windows.every(isScheduleWindow)) bad('time is {timeZone, windows}');
  } else if ('place' in o) {
    const p = o.place as Record<string, unknown> | undefined;
    if (!p || typeof p.lat !== 'number' || Math.abs(p.lat) > 90 || typeof p.lon !== 'number' || Math.abs(p.lon) > 180 || typeof p.radiusMeters !== 'number' || !(p.radiusMeters > 0 && p.radiusMeters <= 100_000)) {
      bad('place is {lat, lon, radiusMeters}');
    }
  } else if ('context' in o) {
    if (typeof o.context !== 'string' || !NAME.test(o.context)) bad('context names a feed field');
    const ops = ['eq', 'lt', 'gt'].filter((k) => k in o);
    if (ops.length === 0) bad('a context condition has eq, lt or gt');
    if ('eq' in o && !scalar(o.eq)) bad('eq is a scalar');
    if (('lt' in o && typeof o.lt !== 'number') || ('gt' in o && typeof o.gt !== 'number')) bad('lt and gt are numbers');
  } else bad('a condition is on an attribute, time, place or context');
}

/** Great-circle distance (haversine), metres. */
function distance(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const r = (d: number) => (d * Math.PI) / 180;
  const h = Math.sin(r(b.lat - a.lat) / 2) ** 2 + Math.cos(r(a.lat)) * Math.cos(r(b.lat)) * Math.sin(r(b.lon - a.lon) / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.sqrt(h));
}

function holds(c: Condition, attrs: ConsentedAttributes, ctx: OfferContext): boolean {
  if ('attribute' in c) {
    const v = attrs.get(c.attribute);
    if (v === undefined) return false;
    if (c.exists) return true;
    if (c.eq !== undefined) return v === c.eq;
    return (c.in ?? []).includes(v);
  }
  if ('time' in c) return inSchedule(ctx.now, c.time.timeZone, c.time.windows) === true;
  if ('place' in c) return ctx.place !== undefined && distance(ctx.place, c.place) <= c.place.radiusMeters;
  const v = ctx.feed?.[c.context];
  if (v === undefined) return false;
  if (c.eq !== undefined && v !== c.eq) return false;
  if (c.lt !== undefined && !(typeof v === 'number' && v < c.lt)) return false;
  if (c.gt !== undefined && !(typeof v === 'number' && v > c.gt)) return false;
  return true;
}

/** The offers whose every condition holds. Refuses anything but a consented projection. */
export function evaluateOffers(rules: readonly OfferRule[], attributes: ConsentedAttributes, ctx: OfferContext): OfferRule['offer'][] {
  if (!(attributes instanceof ConsentedAttributes)) throw new CityTrustError('OFFER_CONSENT_NOT_FOUND', 'offers are evaluated over consented attributes only');
  return rules.filter((r) => r.when.every((c) => holds(c, attributes, ctx))).map((r) => r.offer);
}
