/**
 * One-time bootstrap tokens for a device's first enrolment: `ctb_<id>_<secret>`, id 16 hex
 * characters (lookup key, safe to log), secret 32 random bytes in base64url. Only
 * SHA-256(secret) is stored — the secret has full entropy, so a fast hash loses nothing — and
 * it is compared in constant time. A token is bound to one device, expires, and is consumed
 * in the transaction that stores the certificate it paid for.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Clock } from '../core/clock.ts';
import { constantTimeEqual, fromBase64Url, toBase64Url } from '../core/bytes.ts';
import { CityTrustError } from '../core/errors.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import type { Database } from '../store/schema.ts';
import type { Devices } from './registry.ts';
import type { Device } from './types.ts';

// 32 bytes are 43 base64url characters; the last carries 2 unused bits that must be zero (RFC 4648 §3.5),
// so only the canonical spelling matches and malformed input is refused here with its own code.
const TOKEN = /^ctb_([0-9a-f]{16})_([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

function hashSecret(secret: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(secret).digest());
}

export interface CreatedBootstrapToken {
  /** Shown once; never stored. */
  readonly token: string;
  readonly id: string;
  readonly tenant: string;
  readonly deviceId: string;
  readonly expiresAt: number;
}

export class BootstrapTokens {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #audit: AuditSink;
  readonly #devices: Devices;
  readonly #defaultTtlSeconds: number;

  constructor(deps: { store: Store; clock: Clock; audit: AuditSink; devices: Devices; defaultTtlSeconds: number }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#devices = deps.devices;
    this.#defaultTtlSeconds = deps.defaultTtlSeconds;
  }

  async create(scope: string | null | undefined, tenant: string, deviceId: string, actor: string, ttlSeconds?: number): Promise<CreatedBootstrapToken> {
    const ttl = ttlSeconds ?? this.#defaultTtlSeconds;
    if (!Number.isSafeInteger(ttl) || ttl < 60 || ttl > 90 * 86400) throw new CityTrustError('INPUT_INVALID', 'a bootstrap token lives 60 seconds to 90 days');
    const device = await this.#devices.get(scope, tenant, deviceId);
    if (device.state !== 'pending' && device.state !== 'active') throw new CityTrustError('DEVICE_NOT_ACTIVE', `the device is ${device.state}`);
    const id = randomBytes(8).toString('hex');
    const secret = new Uint8Array(randomBytes(32));
    const now = this.#clock.now();
    const expiresAt = now + ttl * 1000;
    await this.#store.db
      .insertInto('device_bootstrap_tokens')
      .values({ id, tenant_id: tenant, device_id: deviceId, secret_hash: hashSecret(secret), created_at: now, created_by: actor, expires_at: expiresAt, used_at: null })
      .execute();
    await this.#audit.append({ actor, tenant, action: 'device.bootstrap.create', subject: deviceId, details: { tokenId: id, expiresAt } });
    return { token: `ctb_${id}_${toBase64Url(secret)}`, id, tenant, deviceId, expiresAt };
  }

  /**
   * Checks a token without consuming it (enrolment validates everything before it writes).
   * `deviceId`, when given (EST Basic auth user name), must be the device the token is for.
   */
  async check(token: unknown, deviceId?: string): Promise<{ tokenId: string; device: Device }> {
    const m = typeof token === 'string' ? TOKEN.exec(token) : null;
    if (!m) throw new CityTrustError('DEVICE_BOOTSTRAP_INVALID', 'the bootstrap token is malformed');
    const row = await this.#store.db.selectFrom('device_bootstrap_tokens').selectAll().where('id', '=', m[1]!).executeTakeFirst();
    // The hash comparison runs even for an unknown id, so timing tells nothing about which ids exist.
    const presented = hashSecret(fromBase64Url(m[2]!));
    const ok = constantTimeEqual(presented, row ? new Uint8Array(row.secret_hash) : new Uint8Array(32));
    if (!row || !ok) throw new CityTrustError('DEVICE_BOOTSTRAP_INVALID', 'the bootstrap token is unknown');
    if (deviceId !== undefined && deviceId !== row.device_id) throw new CityTrustError('DEVICE_BOOTSTRAP_INVALID', 'the bootstrap token is for another device');
    if (row.used_at !== null) throw new CityTrustError('DEVICE_BOOTSTRAP_USED', 'the bootstrap token was already used');
    if (this.#clock.now() >= Number(row.expires_at)) throw new CityTrustError('DEVICE_BOOTSTRAP_EXPIRED', 'the bootstrap token has expired');
    const device = await this.#devices.get(row.tenant_id, row.tenant_id, row.device_id);
    if (device.state !== 'pending' && device.state !== 'active') throw new CityTrustError('DEVICE_NOT_ACTIVE', `the device is ${device.state}`);
    return { tokenId: row.id, device };
  }

  /** Marks the token used inside the enrolment transaction; a concurrent second use loses here. */
  async consume(trx: Transaction<Database>, tokenId: string): Promise<void> {
    const r = await trx.updateTable('device_bootstrap_tokens').set({ used_at: this.#clock.now() }).where('id', '=', tokenId).where('used_at', 'is', null).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new CityTrustError('DEVICE_BOOTSTRAP_USED', 'the bootstrap token was already used');
  }
}
