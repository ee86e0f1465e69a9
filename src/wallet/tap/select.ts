/**
 * What the wallet reveals to an authenticated reader (docs/tap-protocol.md §4.3):
 *
 * 1. Site: a request for a resource names its site (the first path segment, `door:hq/…` → `hq`);
 *    the reader's certificate must bind it to that site, or the wallet declines with
 *    TAP_READER_SITE_MISMATCH before it looks at a single credential.
 * 2. Tenant: a credential is shown only to readers of its issuer (or of tenants the holder's app
 *    accepts for that issuer), as Aliro shows an access credential only to its reader group.
 * 3. Scope: the credential must cover what is asked (the resource matches one of its patterns, or
 *    every zone is granted). Validity, schedule, class, status and uses are the reader's to decide,
 *    so an expired ticket is still shown and the holder learns why from the answer.
 * Among what is left the wallet prefers a credential that its own clock says is granted. If nothing
 * is left: TAP_NO_MATCHING_CREDENTIAL, the same answer whether or not a credential of another
 * tenant would have matched.
 */
import { evaluate, matchResource, type CredentialClaims } from '../../credentials/device.ts';
import type { AuthenticatedReader } from '../../tap/types.ts';

export interface RevealPolicy {
  /** Tenants whose readers may see credentials of `issuer` (default: the issuer only). */
  readonly readerTenantsFor?: (issuer: string) => readonly string[];
  /**
   * A resource request from a reader whose certificate names no site is declined (default true).
   * Turn off only where the issuer provisions pinned reader keys that carry no site.
   */
  readonly requireCertifiedSite?: boolean;
}

export interface Candidate {
  readonly claims: CredentialClaims;
}

/** `door:hq/floor3/d12` → `hq`. */
export function resourceSite(resource: string): string {
  return resource.slice(resource.indexOf(':') + 1).split('/')[0] as string;
}

/** The reader-level check (1): undefined when the reader may ask this, else the decline code. */
export function siteCheck(reader: AuthenticatedReader, policy: RevealPolicy = {}): string | undefined {
  const { resource } = reader.request;
  if (resource === undefined) return undefined;
  const certified = reader.identity.site;
  if (certified === undefined) return policy.requireCertifiedSite === false ? undefined : 'TAP_READER_SITE_MISMATCH';
  return certified === resourceSite(resource) ? undefined : 'TAP_READER_SITE_MISMATCH';
}

function covers(c: CredentialClaims, reader: AuthenticatedReader): boolean {
  const { resource, zones } = reader.request;
  const g = c.grants;
  if (resource !== undefined && !(g.resources ?? []).some((p) => matchResource(p, resource))) return false;
  if (zones !== undefined && !zones.every((z) => (g.zones ?? []).includes(z))) return false;
  return true;
}

/** Chooses the credential to present, or the decline code. `now` in milliseconds. */
export function selectCredential<C extends Candidate>(candidates: Iterable<C>, reader: AuthenticatedReader, now: number, policy: RevealPolicy = {}): C | { readonly decline: string } {
  const site = siteCheck(reader, policy);
  if (site !== undefined) return { decline: site };
  let fallback: C | undefined;
  for (const c of candidates) {
    const tenants = policy.readerTenantsFor?.(c.claims.iss) ?? [c.claims.iss];
    if (!tenants.includes(reader.identity.tenant) || !covers(c.claims, reader)) continue;
    const { resource, zones, class: cls, attributes } = reader.request;
    const d = evaluate(c.claims, {
      now,
      ...(resource !== undefined && { resource }),
      ...(zones !== undefined && { zones }),
      ...(cls !== undefined && { class: cls }),
      ...(attributes !== undefined && { requiredAttributes: attributes }),
      // Uses and status are counted and known at the reader; the wallet only ranks.
      usesSoFar: 0,
    });
    if (d.allow) return c;
    fallback ??= c;
  }
  return fallback ?? { decline: 'TAP_NO_MATCHING_CREDENTIAL' };
}
