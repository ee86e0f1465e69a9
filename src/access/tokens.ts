/**
 * API tokens: `ct_<id>_<secret>`, where id is 16 hex characters (the lookup key, safe to log)
 * and secret is 32 random bytes in base64url (256 bits). Only SHA-256(secret) is stored: a
 * fast hash is right here because the secret has full entropy, so there is nothing for a
 * slow hash to protect against, and it keeps authentication cheap on every request.
 * The secret is shown once, at creation.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { constantTimeEqual, fromBase64Url } from '../core/bytes.ts';
import { CityTrustError } from '../core/errors.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import { authorize, isRole, type Principal, type Role } from './roles.ts';

// 32 bytes are 43 base64url characters; the last carries 2 unused bits that must be zero (RFC 4648 §3.5),
// so only the canonical spelling matches and malformed input is refused here with its own code.
const TOKEN = /^ct_([0-9a-f]{16})_([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

export interface TokenInfo {
  id: string;
  tenant: string | null;
  label: string;
  roles: Role[];
  createdAt: number;
  createdBy: string;
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface CreatedToken {
  info: TokenInfo;
  /** The bearer token. Shown once; never stored, never logged. */
  token: string;
}

function hashSecret(secret: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(secret).digest());
}

function rowToInfo(r: { id: string; tenant_id: string | null; label: string; roles: string; created_at: number; created_by: string; expires_at: number | null; revoked_at: number | null }): TokenInfo {
  return {
    id: r.id,
    tenant: r.tenant_id,
    label: r.label,
    roles: JSON.parse(r.roles) as Role[],
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  };
}

export interface CreateTokenInput {
  tenant: unknown;
  roles: unknown;
  label?: unknown;
  /** Lifetime in seconds; absent = no expiry. */
  ttlSeconds?: unknown;
}

export class Tokens {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #audit: AuditSink;
  constructor(deps: { store: Store; clock: Clock; audit: AuditSink }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  /**
   * Creates a token. `creator` is the principal asking (undefined only for `citytrust init`,
   * which bootstraps the first city-admin from the machine's own shell).
   */
  async create(input: CreateTokenInput, creator: Principal | undefined): Promise<CreatedToken> {
    const tenant = input.tenant === undefined || input.tenant === null ? null : input.tenant;
    if (tenant !== null && typeof tenant !== 'string') throw new CityTrustError('INPUT_INVALID', 'tenant must be a tenant id or null');
    if (!Array.isArray(input.roles) || input.roles.length === 0 || !input.roles.every(isRole)) {
      throw new CityTrustError('INPUT_INVALID', 'roles must be a non-empty list of: city-admin, tenant-admin, issuer, operator, auditor');
    }
    const roles = [...new Set(input.roles as Role[])].sort();
    if (roles.includes('city-admin') && tenant !== null) throw new CityTrustError('INPUT_INVALID', 'a city-admin token belongs to no tenant');
    if (tenant === null && roles.some((r) => r !== 'city-admin' && r !== 'auditor')) {
      throw new CityTrustError('INPUT_INVALID', 'a city-wide token may hold only city-admin or auditor');
    }
    const label = input.label === undefined ? '' : input.label;
    if (typeof label !== 'string' || label.length > 200) throw new CityTrustError('INPUT_INVALID', 'label must be at most 200 characters');
    let expiresAt: number | null = null;
    if (input.ttlSeconds !== undefined) {
      const ttl = input.ttlSeconds;
      if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 60 || ttl > 10 * 365 * 86400) {
        throw new CityTrustError('INPUT_INVALID', 'ttlSeconds must be a whole number from 60 to 315360000');
      }
      expiresAt = this.#clock.now() + ttl * 1000;
    }

    if (creator) {
      // Only a city-admin mints city-wide or city-admin tokens; a tenant-admin mints for its own tenant.
      if (tenant === null || roles.includes('city-admin')) authorize(creator, ['city-admin']);
      else authorize(creator, ['tenant-admin'], tenant);
    }
    if (tenant !== null) {
      const t = await this.#store.db.selectFrom('tenants').select('id').where('id', '=', tenant).executeTakeFirst();
      if (!t) throw new CityTrustError('TENANT_NOT_FOUND', `tenant ${tenant} does not exist`);
    }

    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32);
    const createdBy = creator ? `token:${creator.tokenId}` : 'system:init';
    const createdAt = this.#clock.now();
    await this.#store.db
      .insertInto('api_tokens')
      .values({ id, tenant_id: tenant, label, roles: JSON.stringify(roles), secret_hash: hashSecret(secret), created_at: createdAt, created_by: createdBy, expires_at: expiresAt, revoked_at: null })
      .execute();
    await this.#audit.append({ actor: createdBy, tenant, action: 'token.create', subject: id, details: { roles, label } });
    const token = `ct_${id}_${secret.toString('base64url')}`;
    secret.fill(0);
    return { info: { id, tenant, label, roles, createdAt, createdBy, expiresAt, revokedAt: null }, token };
  }

  /** Turns a bearer token into the principal it stands for, or throws the specific code. */
  async authenticate(bearer: string): Promise<Principal> {
    const m = TOKEN.exec(bearer);
    if (!m) throw new CityTrustError('AUTH_INVALID_TOKEN', 'the token is malformed');
    const [, id, secretText] = m as unknown as [string, string, string];
    const row = await this.#store.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    const secret = fromBase64Url(secretText);
    // Hash and compare even when the id is unknown, so timing does not reveal which ids exist.
    const presented = hashSecret(secret);
    const stored = row ? new Uint8Array(row.secret_hash) : new Uint8Array(32);
    const match = constantTimeEqual(presented, stored);
    if (!row || !match) throw new CityTrustError('AUTH_INVALID_TOKEN', 'the token is not valid');
    if (row.revoked_at !== null) throw new CityTrustError('AUTH_TOKEN_REVOKED', 'the token was revoked');
    if (row.expires_at !== null && Number(row.expires_at) <= this.#clock.now()) throw new CityTrustError('AUTH_TOKEN_EXPIRED', 'the token has expired');
    return { tokenId: row.id, tenant: row.tenant_id, roles: JSON.parse(row.roles) as Role[] };
  }

  async revoke(id: string, by: Principal | undefined): Promise<TokenInfo> {
    const row = await this.#store.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new CityTrustError('NOT_FOUND', `token ${id} does not exist`);
    if (by) {
      // Not leaking existence across tenants: a foreign token looks like a missing one.
      try {
        if (row.tenant_id === null) authorize(by, ['city-admin']);
        else authorize(by, ['tenant-admin'], row.tenant_id);
      } catch (e) {
        if (e instanceof CityTrustError && e.code === 'TENANT_FORBIDDEN') throw new CityTrustError('NOT_FOUND', `token ${id} does not exist`);
        throw e;
      }
    }
    if (row.revoked_at !== null) return rowToInfo(row);
    const now = this.#clock.now();
    await this.#store.db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    await this.#audit.append({ actor: by ? `token:${by.tokenId}` : 'system:cli', tenant: row.tenant_id, action: 'token.revoke', subject: id });
    return rowToInfo({ ...row, revoked_at: now });
  }

  async list(scope: string | undefined): Promise<TokenInfo[]> {
    let q = this.#store.db.selectFrom('api_tokens').select(['id', 'tenant_id', 'label', 'roles', 'created_at', 'created_by', 'expires_at', 'revoked_at']);
    if (scope !== undefined) q = q.where('tenant_id', '=', scope);
    return (await q.orderBy('created_at').execute()).map(rowToInfo);
  }
}
