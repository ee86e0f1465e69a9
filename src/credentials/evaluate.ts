/**
 * Deciding a request against a credential's grants (device-side, pure, no I/O): the reader's
 * offline decision engine. The signature, trust and holder proof are checked before (verify.ts);
 * this answers "may this credential do this, here, now?" with a decision and one reason code.
 *
 * Checks run in a fixed order and the first failure is the reason: validity, status, what is
 * asked (resource or zones), schedule, class, attributes, uses. Anything the reader cannot
 * establish (an unknown time zone, a missing use count, an unknown status) denies: fail closed.
 */
import type { CredentialClaims } from './claims.ts';
import { isResource, matchResource } from './patterns.ts';
import { inSchedule } from './schedule.ts';
import type { CredentialStatus } from './status-list.ts';

export const DECISION_REASONS = [
  'GRANTED',
  'NOT_YET_VALID',
  'EXPIRED',
  'REVOKED',
  'SUSPENDED',
  'STATUS_UNKNOWN',
  'NOTHING_REQUESTED',
  'RESOURCE_INVALID',
  'RESOURCE_NOT_GRANTED',
  'ZONE_NOT_GRANTED',
  'OUTSIDE_SCHEDULE',
  'SCHEDULE_ZONE_UNKNOWN',
  'CLASS_NOT_GRANTED',
  'ATTRIBUTE_MISSING',
  'USES_UNKNOWN',
  'USES_EXHAUSTED',
] as const;
export type DecisionReason = (typeof DECISION_REASONS)[number];

export interface Decision {
  readonly allow: boolean;
  readonly reason: DecisionReason;
}

export interface EvaluationContext {
  /** Milliseconds since the epoch (the reader's clock). */
  readonly now: number;
  /** The resource the reader guards (`door:hq/floor3/d12`). */
  readonly resource?: string;
  /** Zones the journey touches; every one must be granted. */
  readonly zones?: readonly string[];
  /** The class of service asked for (1 = first). A credential of class c serves classes ≥ c. */
  readonly class?: number;
  /** The holder needs at least one of these attested attributes (student, staff, resident). */
  readonly requiredAttributes?: readonly string[];
  /** Uses counted so far (reader or back office); needed when the credential limits uses. */
  readonly usesSoFar?: number;
  /** Status from a verified status list; with `requireStatus`, absent means STATUS_UNKNOWN. */
  readonly status?: CredentialStatus;
  readonly requireStatus?: boolean;
  /** Tolerance for nbf/exp in seconds (default 60). */
  readonly clockSkewSeconds?: number;
}

const LOWEST_CLASS = 9;

function deny(reason: DecisionReason): Decision {
  return { allow: false, reason };
}

export function evaluate(credential: CredentialClaims | { readonly claims: CredentialClaims }, ctx: EvaluationContext): Decision {
  const c = 'claims' in credential ? credential.claims : credential;
  const g = c.grants;
  const skew = ctx.clockSkewSeconds ?? 60;
  const now = Math.floor(ctx.now / 1000);
  if (!Number.isFinite(ctx.now)) return deny('NOT_YET_VALID');
  if (now + skew < c.nbf) return deny('NOT_YET_VALID');
  if (now - skew >= c.exp) return deny('EXPIRED');

  if (ctx.status === 'revoked') return deny('REVOKED');
  if (ctx.status === 'suspended') return deny('SUSPENDED');
  if (ctx.status === 'unknown' || (ctx.status === undefined && ctx.requireStatus === true && c.status !== undefined)) return deny('STATUS_UNKNOWN');

  if (ctx.resource === undefined && ctx.zones === undefined) return deny('NOTHING_REQUESTED');
  if (ctx.resource !== undefined) {
    if (!isResource(ctx.resource)) return deny('RESOURCE_INVALID');
    if (!(g.resources ?? []).some((p) => matchResource(p, ctx.resource as string))) return deny('RESOURCE_NOT_GRANTED');
  }
  if (ctx.zones !== undefined) {
    const granted = new Set(g.zones ?? []);
    if (ctx.zones.length === 0 || !ctx.zones.every((z) => granted.has(z))) return deny('ZONE_NOT_GRANTED');
  }

  if (g.schedule !== undefined) {
    const inside = inSchedule(ctx.now, g.timeZone as string, g.schedule);
    if (inside === undefined) return deny('SCHEDULE_ZONE_UNKNOWN');
    if (!inside) return deny('OUTSIDE_SCHEDULE');
  }
  if (ctx.class !== undefined && (g.class ?? LOWEST_CLASS) > ctx.class) return deny('CLASS_NOT_GRANTED');
  if (ctx.requiredAttributes !== undefined && ctx.requiredAttributes.length > 0) {
    const has = new Set(g.attributes ?? []);
    if (!ctx.requiredAttributes.some((a) => has.has(a))) return deny('ATTRIBUTE_MISSING');
  }
  if (g.uses !== undefined) {
    if (ctx.usesSoFar === undefined || !Number.isSafeInteger(ctx.usesSoFar) || ctx.usesSoFar < 0) return deny('USES_UNKNOWN');
    if (ctx.usesSoFar >= g.uses) return deny('USES_EXHAUSTED');
  }
  return { allow: true, reason: 'GRANTED' };
}
