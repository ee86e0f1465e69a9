/**
 * The reader's offline decision (docs/reader.md §5), in this order, the first failure being the
 * reason:
 *
 *   1. credential: signature under an issuer key of the trust list, claims, nbf/exp
 *      (CREDENTIAL_INVALID with the precise code, or EXPIRED / NOT_YET_VALID)
 *   2. issuer accepted by this reader (ISSUER_NOT_TRUSTED)
 *   3. holder proof over TH3 with the key in cnf (HOLDER_PROOF_INVALID: a clone without the SE key)
 *   4. user verification when the reader or the credential demands it (USER_VERIFICATION_REQUIRED)
 *   5. trust data freshness: trust list and status list within limits, else fail-closed
 *      (TRUST_LIST_EXPIRED, STATUS_STALE) or fail-open (decided without status, flagged)
 *   6. grants: status, resource or zones, schedule, class, attributes, uses (the Credentials
 *      evaluate(); REVOKED, SUSPENDED, ZONE_NOT_GRANTED, OUTSIDE_SCHEDULE, USES_EXHAUSTED …)
 *   7. anti-passback at this site (ANTI_PASSBACK)
 *
 * Pure: no I/O, time from the caller. The reader commits the event before it answers.
 */
import { isCityTrustError, type ErrorCode } from '../core/errors.ts';
import { credentialStatus, evaluate, verifyCredential, verifyHolderSignature, type CredentialStatus, type DecisionReason, type VerifiedCredential } from '../credentials/device.ts';
import type { ReceivedPresentation } from '../tap/reader-session.ts';
import type { TapRequest } from '../tap/messages.ts';
import type { ReaderConfig } from './config.ts';
import type { ReaderState } from './state.ts';
import type { TrustCache } from './trust-cache.ts';

export const READER_REASONS = [
  'TRUST_CACHE_MISSING',
  'CREDENTIAL_INVALID',
  'ISSUER_NOT_TRUSTED',
  'HOLDER_PROOF_INVALID',
  'USER_VERIFICATION_REQUIRED',
  'TRUST_LIST_EXPIRED',
  'STATUS_STALE',
  'ANTI_PASSBACK',
] as const;
export type ReaderReason = DecisionReason | (typeof READER_REASONS)[number];

export interface EngineDecision {
  readonly allow: boolean;
  readonly reason: ReaderReason;
  /** The error code behind a refusal (CREDENTIAL_SIGNATURE_INVALID, CREDENTIAL_HOLDER_MISMATCH …). */
  readonly code?: ErrorCode;
  readonly credentialId?: string;
  readonly issuer?: string;
  readonly credentialExp?: number;
  /** A granted tap of a credential with a use limit: it counts one use. */
  readonly usesCounted?: boolean;
  readonly usesLeft?: number;
  /** Decided without a fresh status list or trust list (fail-open). */
  readonly statusStale?: boolean;
}

export interface EngineContext {
  readonly config: ReaderConfig;
  readonly request: TapRequest;
  readonly trust: TrustCache;
  readonly state: ReaderState;
  /** Milliseconds since the epoch, the reader's clock. */
  readonly now: number;
}

function deny(reason: ReaderReason, extra: Partial<EngineDecision> = {}): EngineDecision {
  return { allow: false, reason, ...extra };
}

export function decide(p: ReceivedPresentation, ctx: EngineContext): EngineDecision {
  const { config, request, now } = ctx;
  const trust = ctx.trust.trust;
  if (trust === undefined) return deny('TRUST_CACHE_MISSING', { code: 'READER_TRUST_CACHE_MISSING' });

  let cred: VerifiedCredential;
  try {
    cred = verifyCredential(p.credential, { trust, now, clockSkewSeconds: config.clockSkewSeconds });
  } catch (e) {
    const code = isCityTrustError(e) ? e.code : 'CREDENTIAL_MALFORMED';
    if (code === 'CREDENTIAL_EXPIRED') return deny('EXPIRED', { code });
    if (code === 'CREDENTIAL_NOT_YET_VALID') return deny('NOT_YET_VALID', { code });
    return deny('CREDENTIAL_INVALID', { code });
  }
  const about = { credentialId: cred.id, issuer: cred.claims.iss, credentialExp: cred.claims.exp };
  if (!config.trustedTenants.includes(cred.claims.iss)) return deny('ISSUER_NOT_TRUSTED', about);

  try {
    verifyHolderSignature(cred, p.signedData, p.proof);
  } catch (e) {
    return deny('HOLDER_PROOF_INVALID', { ...about, code: isCityTrustError(e) ? e.code : 'CREDENTIAL_HOLDER_MISMATCH' });
  }

  const uvLimit = cred.claims.grants.userVerificationSeconds ?? (config.userVerification || request.userVerification === true ? config.userVerificationMaxAgeSeconds : undefined);
  if (uvLimit !== undefined && (p.userVerification === null || p.userVerification > uvLimit)) return deny('USER_VERIFICATION_REQUIRED', about);

  // Freshness of what the decision rests on. Fail-open decides without the stale part and says so.
  let statusStale = false;
  const nowS = Math.floor(now / 1000);
  if (trust.expiresAt !== undefined && nowS >= trust.expiresAt) {
    if (config.whenStale === 'fail-closed') return deny('TRUST_LIST_EXPIRED', about);
    statusStale = true;
  }
  let status: CredentialStatus | undefined;
  const ref = cred.claims.status;
  if (ref !== undefined) {
    const list = ctx.trust.statusList(ref.uri);
    const fresh = list !== undefined && nowS - list.iat <= config.statusMaxAgeSeconds && (list.exp === undefined || nowS < list.exp);
    if (!fresh) {
      if (config.whenStale === 'fail-closed') return deny('STATUS_STALE', { ...about, code: 'STATUS_LIST_STALE' });
      statusStale = true;
    }
    if (list !== undefined) {
      try {
        status = credentialStatus(cred, list);
      } catch {
        status = 'unknown';
      }
      // A stale list still knows what it knew: a credential revoked in it stays refused under fail-open.
      if (!fresh && status === 'valid') status = undefined;
    }
  }

  const g = cred.claims.grants;
  const usesSoFar = ctx.state.usesOf(cred.id);
  const d = evaluate(cred, {
    now,
    ...(request.resource !== undefined && { resource: request.resource }),
    ...(request.zones !== undefined && { zones: request.zones }),
    ...(request.class !== undefined && { class: request.class }),
    ...(request.attributes !== undefined && { requiredAttributes: request.attributes }),
    usesSoFar,
    ...(status !== undefined && { status }),
    requireStatus: !statusStale,
    clockSkewSeconds: config.clockSkewSeconds,
  });
  const flagged = statusStale ? { statusStale: true } : {};
  if (!d.allow) return deny(d.reason, { ...about, ...flagged });

  if (config.antiPassbackSeconds > 0) {
    const last = ctx.state.lastGrantAt(config.site, cred.id);
    if (last !== undefined && now - last < config.antiPassbackSeconds * 1000) return deny('ANTI_PASSBACK', { ...about, ...flagged });
  }
  return {
    allow: true,
    reason: 'GRANTED',
    ...about,
    ...flagged,
    ...(g.uses !== undefined && { usesCounted: true, usesLeft: g.uses - usesSoFar - 1 }),
  };
}
