export { ROLES, isRole, authorize, tenantScope, actorOf, type Role, type Principal } from './roles.ts';
export { Tenants, TENANT_ID, type Tenant } from './tenants.ts';
export { Tokens, type TokenInfo, type CreatedToken, type CreateTokenInput } from './tokens.ts';
