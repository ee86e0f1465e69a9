/**
 * Reader configuration (docs/reader.md §2). Validated once at start; a bad key names itself
 * (READER_CONFIG_INVALID) so an installer never finds out at the first tap.
 */
import { CityTrustError } from '../core/errors.ts';
import { isResource } from '../credentials/device.ts';

export interface ReaderConfig {
  /** The reader's device id (as registered and certified). */
  readonly readerId: string;
  /** The tenant operating the reader. */
  readonly tenant: string;
  /** The site the reader stands at; every resource it guards lies in it (`door:<site>/…`). */
  readonly site: string;
  /** Resources this reader guards; a tap asks for one of them (the first by default). */
  readonly resources: readonly string[];
  /** The transit zone of this validator, asked for when no resource is. */
  readonly zone?: string;
  /** The class of service this gate serves (1 = first class). */
  readonly class?: number;
  /** The holder needs one of these attributes (student, staff…). */
  readonly requiredAttributes?: readonly string[];
  /** Issuers whose credentials this reader accepts. */
  readonly trustedTenants: readonly string[];
  /** A status list older than this (seconds) is stale. */
  readonly statusMaxAgeSeconds: number;
  /** When the status list is stale or missing: deny (fail-closed) or decide without it (fail-open, flagged in the event). */
  readonly whenStale: 'fail-closed' | 'fail-open';
  /** Require a user verification (fingerprint, face, PIN) on the phone. */
  readonly userVerification: boolean;
  /** How old that verification may be when the credential itself sets no limit (seconds). */
  readonly userVerificationMaxAgeSeconds: number;
  /** Timed anti-passback per site: a credential granted here is refused at the site for this many seconds (0 = off). */
  readonly antiPassbackSeconds: number;
  /** Tolerance for credential nbf/exp against the reader clock. */
  readonly clockSkewSeconds: number;
  /** Each exchange of a tap must finish within this many milliseconds. */
  readonly tapDeadlineMs: number;
  /** Where events are uploaded and trust data fetched (https://…); absent for a reader that is never online. */
  readonly serverUrl?: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SEGMENT = /^[A-Za-z0-9._~-]{1,64}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export const READER_DEFAULTS = {
  statusMaxAgeSeconds: 3600,
  whenStale: 'fail-closed',
  userVerification: false,
  userVerificationMaxAgeSeconds: 300,
  antiPassbackSeconds: 0,
  clockSkewSeconds: 60,
  tapDeadlineMs: 1000,
} as const;

function bad(key: string, why: string): never {
  throw new CityTrustError('READER_CONFIG_INVALID', `reader configuration "${key}" ${why}`, { details: { key } });
}

function int(v: unknown, key: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) bad(key, `must be a whole number in ${min}..${max}`);
  return v;
}

function list(v: unknown, key: string, check: (s: string) => boolean, min: number): readonly string[] {
  if (!Array.isArray(v) || v.length < min || v.length > 32 || !v.every((s) => typeof s === 'string' && check(s))) bad(key, `must be a list of ${min}..32 valid names`);
  if (new Set(v).size !== v.length) bad(key, 'repeats an entry');
  return Object.freeze([...(v as string[])]);
}

const KEYS = new Set([
  'readerId', 'tenant', 'site', 'resources', 'zone', 'class', 'requiredAttributes', 'trustedTenants', 'statusMaxAgeSeconds', 'whenStale',
  'userVerification', 'userVerificationMaxAgeSeconds', 'antiPassbackSeconds', 'clockSkewSeconds', 'tapDeadlineMs', 'serverUrl',
]);

export function validateReaderConfig(input: unknown): ReaderConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) bad('(root)', 'must be an object');
  const c = input as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!KEYS.has(k)) bad(k, 'is not a known setting');
  const str = (k: string, re: RegExp): string => {
    if (typeof c[k] !== 'string' || !re.test(c[k] as string)) bad(k, 'is missing or malformed');
    return c[k] as string;
  };
  const readerId = str('readerId', ID);
  const tenant = str('tenant', ID);
  const site = str('site', SEGMENT);
  const resources = list(c.resources ?? [], 'resources', isResource, 0);
  for (const r of resources) if (r.slice(r.indexOf(':') + 1).split('/')[0] !== site) bad('resources', `lists ${r}, which is not at site ${site}`);
  const zone = c.zone === undefined ? undefined : str('zone', NAME);
  if (resources.length === 0 && zone === undefined) bad('resources', 'or zone must be set: a reader guards something');
  const whenStale = c.whenStale ?? READER_DEFAULTS.whenStale;
  if (whenStale !== 'fail-closed' && whenStale !== 'fail-open') bad('whenStale', 'is fail-closed or fail-open');
  if (c.userVerification !== undefined && typeof c.userVerification !== 'boolean') bad('userVerification', 'is true or false');
  let serverUrl: string | undefined;
  if (c.serverUrl !== undefined) {
    serverUrl = str('serverUrl', /^https?:\/\/[^\s]+$/);
    try {
      new URL(serverUrl);
    } catch {
      bad('serverUrl', 'is not a URL');
    }
  }
  return Object.freeze({
    readerId,
    tenant,
    site,
    resources,
    ...(zone !== undefined && { zone }),
    ...(c.class !== undefined && { class: int(c.class, 'class', 1, 9) }),
    ...(c.requiredAttributes !== undefined && { requiredAttributes: list(c.requiredAttributes, 'requiredAttributes', (s) => NAME.test(s), 1) }),
    trustedTenants: list(c.trustedTenants ?? [tenant], 'trustedTenants', (s) => ID.test(s), 1),
    statusMaxAgeSeconds: int(c.statusMaxAgeSeconds ?? READER_DEFAULTS.statusMaxAgeSeconds, 'statusMaxAgeSeconds', 1, 30 * 86400),
    whenStale,
    userVerification: (c.userVerification as boolean | undefined) ?? READER_DEFAULTS.userVerification,
    userVerificationMaxAgeSeconds: int(c.userVerificationMaxAgeSeconds ?? READER_DEFAULTS.userVerificationMaxAgeSeconds, 'userVerificationMaxAgeSeconds', 0, 86400),
    antiPassbackSeconds: int(c.antiPassbackSeconds ?? READER_DEFAULTS.antiPassbackSeconds, 'antiPassbackSeconds', 0, 86400),
    clockSkewSeconds: int(c.clockSkewSeconds ?? READER_DEFAULTS.clockSkewSeconds, 'clockSkewSeconds', 0, 3600),
    tapDeadlineMs: int(c.tapDeadlineMs ?? READER_DEFAULTS.tapDeadlineMs, 'tapDeadlineMs', 10, 60_000),
    ...(serverUrl !== undefined && { serverUrl: serverUrl.replace(/\/+$/, '') }),
  });
}
