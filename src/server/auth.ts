/** Bearer-token authentication as a preHandler; routes declare the roles they need. */
import type { FastifyRequest } from 'fastify';
import { CityTrustError } from '../core/errors.ts';
import type { Principal, Role } from '../access/roles.ts';
import { authorize } from '../access/roles.ts';
import type { Tokens } from '../access/tokens.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

export function bearerOf(req: FastifyRequest): string {
  const h = req.headers.authorization;
  if (h === undefined || h === '') throw new CityTrustError('AUTH_MISSING', 'this endpoint needs Authorization: Bearer <token>');
  const m = /^Bearer ([!-~]{1,200})$/.exec(h);
  if (!m) throw new CityTrustError('AUTH_INVALID_TOKEN', 'the Authorization header is not a Bearer token');
  return m[1]!;
}

/** Authenticates the request and checks the roles; returns the principal for scoping. */
export async function requireRoles(tokens: Tokens, req: FastifyRequest, roles: readonly Role[], tenant?: string | null): Promise<Principal> {
  const p = req.principal ?? (await tokens.authenticate(bearerOf(req)));
  req.principal = p;
  authorize(p, roles, tenant);
  return p;
}
