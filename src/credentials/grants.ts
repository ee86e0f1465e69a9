/**
 * Grants: what a credential lets its holder do, where and when (device-side, pure).
 * Encoded as one compact integer-keyed CBOR map under the private-use claim -65537
 * (RFC 8392 §9.1: keys below -65536 are for private use). docs/credential-format.md has the CDDL.
 */
import { CityTrustError } from '../core/errors.ts';
import { isResourcePattern } from './patterns.ts';
import { isScheduleWindow, isTimeZone, type ScheduleWindow } from './schedule.ts';

export interface Grants {
  /** Resources or patterns (`door:hq/floor3/*`); absent = no resource grant. */
  readonly resources?: readonly string[];
  /** Transit zones; a journey is granted when every zone it touches is listed. */
  readonly zones?: readonly string[];
  /** Weekly windows, wall-clock in `timeZone`; absent = any time within nbf..exp. */
  readonly schedule?: readonly ScheduleWindow[];
  readonly timeZone?: string;
  /** Service class: 1 is the highest (first class); a credential of class n serves classes ≥ n. */
  readonly class?: number;
  /** Most uses; readers and the back office count them. */
  readonly uses?: number;
  /** Holder attributes the issuer attests (student, staff, resident…). */
  readonly attributes?: readonly string[];
  /** Template/product id, for people and reports. */
  readonly product?: string;
  /** The holder key signs only after a user verification at most this many seconds old (0 = every use). */
  readonly userVerificationSeconds?: number;
}

/** Integer keys of the grants map (docs/credential-format.md). */
export const GRANT_KEY = { resources: 1, zones: 2, schedule: 3, timeZone: 4, class: 5, uses: 6, attributes: 7, product: 8, userVerificationSeconds: 9 } as const;

const LIMITS = { resources: 32, zones: 64, windows: 28, attributes: 16, text: 64 } as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

function bad(message: string): never {
  throw new CityTrustError('CREDENTIAL_GRANTS_INVALID', message);
}

function names(v: unknown, what: string, max: number, check: (s: string) => boolean): readonly string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > max) bad(`${what} is a list of 1..${max} entries`);
  for (const s of v) if (typeof s !== 'string' || !check(s)) bad(`${what} has an invalid entry`);
  if (new Set(v).size !== v.length) bad(`${what} repeats an entry`);
  return Object.freeze([...(v as string[])]);
}

function uint(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${what} is an integer in ${min}..${max}`);
  return v;
}

/**
 * Checks grants given by an issuer or decoded from a credential and returns a frozen copy.
 * Every field is optional, but a schedule needs its time zone and the zone must be one this
 * platform knows (an issuer must never sign a schedule no reader can evaluate).
 */
export function validateGrants(input: unknown, opts: { readonly requireKnownZone?: boolean } = {}): Grants {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) bad('grants is an object');
  const g = input as Record<string, unknown>;
  for (const k of Object.keys(g)) if (!(k in GRANT_KEY)) bad(`unknown grant "${k}"`);
  const out: { -readonly [K in keyof Grants]: Grants[K] } = {};
  if (g.resources !== undefined) out.resources = names(g.resources, 'resources', LIMITS.resources, isResourcePattern);
  if (g.zones !== undefined) out.zones = names(g.zones, 'zones', LIMITS.zones, (s) => NAME.test(s));
  if (g.schedule !== undefined) {
    if (!Array.isArray(g.schedule) || g.schedule.length === 0 || g.schedule.length > LIMITS.windows) bad(`schedule is a list of 1..${LIMITS.windows} windows`);
    for (const w of g.schedule) if (!isScheduleWindow(w)) bad('a schedule window is [days 1..127, start 0..1439, end 1..1440], start ≠ end');
    out.schedule = Object.freeze(g.schedule.map((w: ScheduleWindow) => Object.freeze([w[0], w[1], w[2]] as const)));
    if (g.timeZone === undefined) bad('a schedule needs timeZone');
  }
  if (g.timeZone !== undefined) {
    // A reader with an older tz database decodes the credential and denies at evaluation
    // (SCHEDULE_ZONE_UNKNOWN); only the issuer insists that the zone is known.
    const known = opts.requireKnownZone === false ? typeof g.timeZone === 'string' && /^[A-Za-z][A-Za-z0-9_/+-]{0,63}$/.test(g.timeZone) : isTimeZone(g.timeZone);
    if (!known) bad('timeZone is not an IANA time zone name known here');
    if (g.schedule === undefined) bad('timeZone is only meaningful with a schedule');
    out.timeZone = g.timeZone as string;
  }
  if (g.class !== undefined) out.class = uint(g.class, 'class', 1, 9);
  if (g.uses !== undefined) out.uses = uint(g.uses, 'uses', 1, 1_000_000);
  if (g.attributes !== undefined) out.attributes = names(g.attributes, 'attributes', LIMITS.attributes, (s) => NAME.test(s));
  if (g.product !== undefined) {
    if (typeof g.product !== 'string' || !NAME.test(g.product)) bad('product is a short name');
    out.product = g.product;
  }
  if (g.userVerificationSeconds !== undefined) out.userVerificationSeconds = uint(g.userVerificationSeconds, 'userVerificationSeconds', 0, 86_400);
  return Object.freeze(out);
}

/** The CBOR map of validated grants (keys in GRANT_KEY order; encodeCbor sorts them anyway). */
export function grantsToCbor(g: Grants): Map<number, unknown> {
  const m = new Map<number, unknown>();
  if (g.resources) m.set(GRANT_KEY.resources, [...g.resources]);
  if (g.zones) m.set(GRANT_KEY.zones, [...g.zones]);
  if (g.schedule) m.set(GRANT_KEY.schedule, g.schedule.map((w) => [...w]));
  if (g.timeZone !== undefined) m.set(GRANT_KEY.timeZone, g.timeZone);
  if (g.class !== undefined) m.set(GRANT_KEY.class, g.class);
  if (g.uses !== undefined) m.set(GRANT_KEY.uses, g.uses);
  if (g.attributes) m.set(GRANT_KEY.attributes, [...g.attributes]);
  if (g.product !== undefined) m.set(GRANT_KEY.product, g.product);
  if (g.userVerificationSeconds !== undefined) m.set(GRANT_KEY.userVerificationSeconds, g.userVerificationSeconds);
  return m;
}

const NAME_BY_KEY = new Map<unknown, keyof Grants>(Object.entries(GRANT_KEY).map(([k, v]) => [v, k as keyof Grants]));

/**
 * Grants from their CBOR map. An unknown key fails closed: a grant this reader cannot read may be a
 * restriction, and ignoring a restriction would grant more than the issuer meant.
 */
export function grantsFromCbor(m: unknown): Grants {
  if (!(m instanceof Map)) throw new CityTrustError('CREDENTIAL_MALFORMED', 'grants is a map');
  const obj: Record<string, unknown> = {};
  for (const [k, v] of m) {
    const name = NAME_BY_KEY.get(k);
    if (name === undefined) throw new CityTrustError('CREDENTIAL_MALFORMED', `unknown grant key ${String(k)}`);
    obj[name] = v;
  }
  try {
    return validateGrants(obj, { requireKnownZone: false });
  } catch (e) {
    throw new CityTrustError('CREDENTIAL_MALFORMED', 'the credential carries invalid grants', { cause: e });
  }
}
