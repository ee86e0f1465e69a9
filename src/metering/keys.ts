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
import type { Pki } from '../pki/pki.ts';
import { publicKeyId } from './suite.ts';
import type { HeadEndInfo } from './simulated-meter.ts';

/** A head-end certificate is replaced once two thirds of its life have passed (meters fetch the new one). */
const RENEW_AT = 2 / 3;

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
  readonly #info = new Map<string, { info: HeadEndInfo; renewAt: number }>();
  readonly #ids = new Map<string, { keyAgreement: string; command: string }>();
  readonly #pki: Pki | undefined;
  /** Called once a tenant's keys were created (the server joins the broker for the tenant). */
  onSetup: ((tenant: string) => Promise<void>) | undefined;

  constructor(deps: { store: Store; vault: KeyVault; clock: Clock; audit: AuditSink; pki?: Pki }) {
    this.#pki = deps.pki;
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
    await this.onSetup?.(tenant);
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

  /** Ids of the tenant's current key-agreement and command keys (what ingest and dispatch need; no certificates). */
  async keyIds(tenant: string): Promise<{ keyAgreement: string; command: string }> {
    const hit = this.#ids.get(tenant);
    if (hit) return hit;
    const k = await this.get(tenant);
    const caller = meteringCaller(tenant);
    const ids = { keyAgreement: toHex(publicKeyId((await this.#vault.publicKey(caller, k.kaKeyId)).spki)), command: toHex(publicKeyId((await this.#vault.publicKey(caller, k.commandKeyId)).spki)) };
    this.#ids.set(tenant, ids);
    return ids;
  }

  /**
   * The head-end's public keys with their certificates from the meters CA (profiles `head-end`
   * and `head-end-command`) and the chain up to the city root, as
   * `GET /v1/metering/tenants/{tenant}/head-end` publishes them. A meter validates the
   * certificates offline against the city root it was provisioned with before it agrees a key
   * or accepts a command. Certificates are issued on first use and replaced at two thirds of
   * their life, or at once when revoked.
   */
  async headEndInfo(tenant: string): Promise<HeadEndInfo> {
    const now = this.#clock.now();
    const hit = this.#info.get(tenant);
    if (hit && hit.renewAt > now) return hit.info;
    const k = await this.get(tenant);
    const caller = meteringCaller(tenant);
    const ka = await this.#vault.publicKey(caller, k.kaKeyId);
    const cmd = await this.#vault.publicKey(caller, k.commandKeyId);
    let renewAt = Number.MAX_SAFE_INTEGER;
    let kaCert: Uint8Array | undefined;
    let cmdCert: Uint8Array | undefined;
    let chain: Uint8Array[] = [];
    if (this.#pki) {
      const a = await this.#certificate(tenant, 'head-end', k.kaKeyId, now);
      const c = await this.#certificate(tenant, 'head-end-command', k.commandKeyId, now);
      kaCert = a.der;
      cmdCert = c.der;
      chain = a.chain;
      renewAt = Math.min(a.renewAt, c.renewAt);
    }
    const info: HeadEndInfo = {
      tenant,
      keyAgreement: { keyId: toHex(publicKeyId(ka.spki)), spki: toBase64(ka.spki), ...(kaCert ? { certificate: toBase64(kaCert) } : {}) },
      commandKeys: [{ keyId: toHex(publicKeyId(cmd.spki)), spki: toBase64(cmd.spki), ...(cmdCert ? { certificate: toBase64(cmdCert) } : {}) }],
      chain: chain.map(toBase64),
    };
    // Looked at again within a minute: a revoked head-end certificate is replaced soon.
    this.#info.set(tenant, { info, renewAt: Math.min(renewAt, now + 60_000) });
    return info;
  }

  /** The current good certificate of a head-end key, issued (and its serial recorded) when there is none. */
  async #certificate(tenant: string, profile: 'head-end' | 'head-end-command', keyId: string, now: number): Promise<{ der: Uint8Array; chain: Uint8Array[]; renewAt: number }> {
    const pki = this.#pki!;
    const column = profile === 'head-end' ? 'ka_cert_serial' : 'command_cert_serial';
    const row = await this.#store.db.selectFrom('metering_tenants').select(column).where('tenant_id', '=', tenant).executeTakeFirstOrThrow();
    const serial = (row as Record<string, string | null>)[column];
    if (serial) {
      const c = await this.#store.db.selectFrom('pki_certificates').select(['der', 'ca_id', 'status', 'not_before', 'not_after']).where('serial', '=', serial).executeTakeFirst();
      const renewAt = c ? Number(c.not_before) + (Number(c.not_after) - Number(c.not_before)) * RENEW_AT : 0;
      if (c && c.status === 'good' && renewAt > now) {
        const chain = (await pki.cas.chain(c.ca_id)).map((ca) => ca.certDer);
        return { der: new Uint8Array(c.der), chain, renewAt };
      }
    }
    const issued = await pki.issueForVaultKey(null, { tenant, keyId, profile }, 'system:metering');
    await this.#store.db.updateTable('metering_tenants').set({ [column]: issued.serial }).where('tenant_id', '=', tenant).execute();
    const c = await this.#store.db.selectFrom('pki_certificates').select(['ca_id', 'not_before', 'not_after']).where('serial', '=', issued.serial).executeTakeFirstOrThrow();
    const chain = (await pki.cas.chain(c.ca_id)).map((ca) => ca.certDer);
    return { der: issued.der, chain, renewAt: Number(c.not_before) + (Number(c.not_after) - Number(c.not_before)) * RENEW_AT };
  }

  /** Envelope cipher of the tenant's customer data. */
  async customerCipher(tenant: string, actor?: string): Promise<EnvelopeCipher> {
    const k = await this.get(tenant);
    return new EnvelopeCipher(this.#vault, meteringCaller(tenant, actor), k.kekId);
  }
}
