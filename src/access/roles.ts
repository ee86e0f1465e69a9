/**
 * Roles and the principal a request acts as. Authorising returns nothing but throws the
 * specific code: the caller then acts within the scope the check established.
 */
import { CityTrustError } from '../core/errors.ts';

export const ROLES = ['city-admin', 'tenant-admin', 'issuer', 'operator', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(r: unknown): r is Role {
  return typeof r === 'string' && (ROLES as readonly string[]).includes(r);
}

export interface Principal {
  tokenId: string;
  /** null: a city-wide principal (city-admin, city auditor). */
  tenant: string | null;
  roles: readonly Role[];
}

export function actorOf(p: Principal): string {
  return `token:${p.tokenId}`;
}

/**
 * Checks that `p` holds one of `roles` and, when `tenant` is given, may act in that tenant.
 * city-admin holds every role in every tenant; a city-wide auditor may read every tenant.
 */
export function authorize(p: Principal, roles: readonly Role[], tenant?: string | null): void {
  const isCityAdmin = p.roles.includes('city-admin');
  if (!isCityAdmin && !roles.some((r) => p.roles.includes(r))) {
    throw new CityTrustError('AUTH_FORBIDDEN', `this action needs one of the roles: ${roles.join(', ')}`);
  }
  if (tenant === undefined || isCityAdmin) return;
  if (p.tenant === null) {
    // City-wide non-admin principals (auditors) read across tenants but act in none.
    if (p.roles.includes('auditor') && roles.includes('auditor')) return;
    throw new CityTrustError('TENANT_FORBIDDEN', 'a city-wide token cannot act for a tenant with this role');
  }
  if (tenant !== p.tenant) throw new CityTrustError('TENANT_FORBIDDEN', 'the object belongs to another tenant');
}

/** The tenant filter a listing must apply: undefined = all tenants (city-wide principals only). */
export function tenantScope(p: Principal): string | undefined {
  return p.tenant === null ? undefined : p.tenant;
}
