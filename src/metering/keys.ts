/**
 * A tenant's head-end keys, all in the vault and owned by the tenant: the key-agreement key
 * (ec-p256, derive only) meters agree their session keys with, the command key (ec-p256,
 * sign/verify) that signs commands, and the KEK (aes-256-gcm) that envelopes customer data.
 * Only ids and public keys leave this module.
 */
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import { toBase64, toHex } from '../core/bytes.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import type { KeyVault, VaultCaller } from '../vault/types.ts';
import { EnvelopeCipher } from '../vault/envelope.ts';
import { publicKeyId } from './suite.ts';
import type { HeadEndInfo } from './simulated-meter.ts';

export interface TenantKeys {
  readonly tenant: string;
  readonly kaKeyId: string;
  readonly commandKeyId: string;
  readonly kekId: string;
}

/** The vault caller the head-end acts as for a tenant. */
export function meteringCaller(tenant: string, actor = 'system:metering'): VaultCaller {
  return { actor, tenant };
}

export class MeteringKeys {
  readonly #store: Store;
  readonly #vault: KeyVault;
  readonly #clock: Clock;
  readonly #audit: AuditSink;
  readonly #cache = new Map<string, TenantKeys>();
  readonly #info = new Map<string, HeadEndInfo>();

  constructor(deps: { store: Store; vault: KeyVault; clock: Clock; audit: AuditSink }) {
    this.#store = deps.store;
    this.#vault = deps.vault;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  /** Creates the tenant's keys once; later calls return the existing ones. */
  async setup(tenant: string, actor: string): Promise<TenantKeys> {
    const existing = await this.find(tenant);
    if (existing) return existing;
    const t = await this.#store.db.selectFrom('tenants').select('id').where('id', '=', tenant).executeTakeFirst();
    if (!t) throw new CityTrustError('TENANT_NOT_FOUND', `tenant ${tenant} does not exist`);
    const caller = meteringCaller(tenant, actor);
    const ka = await this.#vault.createKey(caller, { type: 'ec-p256', label: `metering ${tenant} head-end key agreement`, usages: ['derive'] });
    const cmd = await this.#vault.createKey(caller, { type: 'ec-p256', label: `metering ${tenant} command signing`, usages: ['sign', 'verify'] });
    const kek = await this.#vault.createKey(caller, { type: 'aes-256-gcm', label: `metering ${tenant} customer data KEK`, usages: ['encrypt', 'decrypt'] });
    const keys: TenantKeys = { tenant, kaKeyId: ka.id, commandKeyId: cmd.id, kekId: kek.id };
    try {
      await this.#store.db.insertInto('metering_tenants').values({ tenant_id: tenant, ka_key_id: ka.id, command_key_id: cmd.id, kek_id: kek.id, created_at: this.#clock.now() }).execute();
    } catch (e) {
      // Another instance set the tenant up meanwhile: use its keys, drop ours.
      const won = await this.find(tenant);
      for (const k of [ka.id, cmd.id, kek.id]) await this.#vault.destroyKey(caller, k).catch(() => undefined);
      if (won) return won;
      throw e;
    }
    await this.#audit.append({ actor, tenant, action: 'metering.setup', subject: tenant, details: { keyAgreementKey: ka.id, commandKey: cmd.id, kek: kek.id } });
    this.#cache.set(tenant, keys);
    return keys;
  }

  async find(tenant: string): Promise<TenantKeys | undefined> {
    const hit = this.#cache.get(tenant);
    if (hit) return hit;
    const r = await this.#store.db.selectFrom('metering_tenants').selectAll().where('tenant_id', '=', tenant).executeTakeFirst();
    if (!r) return undefined;
    const keys: TenantKeys = { tenant, kaKeyId: r.ka_key_id, commandKeyId: r.command_key_id, kekId: r.kek_id };
    this.#cache.set(tenant, keys);
    return keys;
  }

  async get(tenant: string): Promise<TenantKeys> {
    const k = await this.find(tenant);
    if (!k) throw new CityTrustError('METER_SETUP_MISSING', `tenant ${tenant} has no metering keys; run \`citytrust meter setup --tenant ${tenant}\``);
    return k;
  }

  /** The public keys a meter pins at provisioning (GET /v1/metering/tenants/{tenant}/head-end). */
  async headEndInfo(tenant: string): Promise<HeadEndInfo> {
    const hit = this.#info.get(tenant);
    if (hit) return hit;
    const k = await this.get(tenant);
    const caller = meteringCaller(tenant);
    const ka = await this.#vault.publicKey(caller, k.kaKeyId);
    const cmd = await this.#vault.publicKey(caller, k.commandKeyId);
    const info: HeadEndInfo = {
      tenant,
      keyAgreement: { keyId: toHex(publicKeyId(ka.spki)), spki: toBase64(ka.spki) },
      commandKeys: [{ keyId: toHex(publicKeyId(cmd.spki)), spki: toBase64(cmd.spki) }],
    };
    this.#info.set(tenant, info);
    return info;
  }

  /** Envelope cipher of the tenant's customer data. */
  async customerCipher(tenant: string, actor?: string): Promise<EnvelopeCipher> {
    const k = await this.get(tenant);
    return new EnvelopeCipher(this.#vault, meteringCaller(tenant, actor), k.kekId);
  }
}
