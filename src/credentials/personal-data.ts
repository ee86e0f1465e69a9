/**
 * Holder personal data (name, e-mail) at rest: encrypted with a per-tenant vault KEK through
 * EnvelopeCipher and found by a keyed hash (HMAC-SHA256 with a per-tenant vault key) of the
 * normalised e-mail. Neither is ever stored, logged or audited in clear; without the vault the
 * columns are noise, and the HMAC key never leaves it, so the index cannot be brute-forced offline.
 */
import { CityTrustError } from '../core/errors.ts';
import { utf8 } from '../core/bytes.ts';
import { EnvelopeCipher } from '../vault/envelope.ts';
import type { VaultCaller } from '../vault/types.ts';
import type { CredentialDeps } from './settings.ts';

export interface HolderData {
  readonly name?: string;
  readonly email?: string;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export function validateHolder(input: unknown): HolderData {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new CityTrustError('INPUT_INVALID', 'holder is {name?, email?}');
  const h = input as Record<string, unknown>;
  for (const k of Object.keys(h)) if (k !== 'name' && k !== 'email') throw new CityTrustError('INPUT_INVALID', `unknown holder field ${k}`);
  if (h.name !== undefined && (typeof h.name !== 'string' || h.name.trim().length === 0 || h.name.length > 200)) throw new CityTrustError('INPUT_INVALID', 'holder name is 1..200 characters');
  if (h.email !== undefined && (typeof h.email !== 'string' || !EMAIL.test(h.email.trim()))) throw new CityTrustError('INPUT_INVALID', 'holder email is not an e-mail address');
  return { ...(h.name !== undefined && { name: (h.name as string).trim() }), ...(h.email !== undefined && { email: (h.email as string).trim() }) };
}

/** RFC 5321 local parts may be case-sensitive, but no provider we meet treats them so; lower-casing makes lookups work. */
function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

interface TenantKeys {
  kekId: string;
  indexKeyId: string;
}

export class PersonalData {
  readonly #deps: CredentialDeps;
  readonly #keys = new Map<string, Promise<TenantKeys>>();

  constructor(deps: CredentialDeps) {
    this.#deps = deps;
  }

  #caller(tenant: string): VaultCaller {
    return { actor: 'system:credentials', tenant };
  }

  #tenantKeys(tenant: string): Promise<TenantKeys> {
    let p = this.#keys.get(tenant);
    if (!p) {
      p = this.#loadKeys(tenant).catch((e: unknown) => {
        this.#keys.delete(tenant);
        throw e;
      });
      this.#keys.set(tenant, p);
    }
    return p;
  }

  async #loadKeys(tenant: string): Promise<TenantKeys> {
    const { store, vault, clock } = this.#deps;
    const row = await store.db.selectFrom('credential_tenant_keys').selectAll().where('tenant_id', '=', tenant).executeTakeFirst();
    if (row) return { kekId: row.kek_id, indexKeyId: row.index_key_id };
    const caller = this.#caller(tenant);
    const kek = await vault.createKey(caller, { type: 'aes-256-gcm', label: `holder data kek ${tenant}` });
    const idx = await vault.createKey(caller, { type: 'hmac-sha256', label: `holder index ${tenant}` });
    await store.db
      .insertInto('credential_tenant_keys')
      .values({ tenant_id: tenant, kek_id: kek.id, index_key_id: idx.id, created_at: clock.now() })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    const won = await store.db.selectFrom('credential_tenant_keys').selectAll().where('tenant_id', '=', tenant).executeTakeFirstOrThrow();
    return { kekId: won.kek_id, indexKeyId: won.index_key_id };
  }

  /** The keyed hash that finds a holder by e-mail. */
  async index(tenant: string, email: string): Promise<Uint8Array> {
    const k = await this.#tenantKeys(tenant);
    return this.#deps.vault.mac(this.#caller(tenant), k.indexKeyId, utf8.encode(`citytrust/holder-email/v1\0${normaliseEmail(email)}`));
  }

  /** Seals the holder data of one credential; the AAD names the row so a copied ciphertext does not open elsewhere. */
  async seal(tenant: string, credentialId: string, holder: HolderData): Promise<Uint8Array> {
    const k = await this.#tenantKeys(tenant);
    return new EnvelopeCipher(this.#deps.vault, this.#caller(tenant), k.kekId).seal(utf8.encode(JSON.stringify(holder)), aad(credentialId));
  }

  async open(tenant: string, credentialId: string, sealed: Uint8Array): Promise<HolderData> {
    const k = await this.#tenantKeys(tenant);
    const plain = await new EnvelopeCipher(this.#deps.vault, this.#caller(tenant), k.kekId).open(sealed, aad(credentialId));
    return JSON.parse(utf8.decode(plain)) as HolderData;
  }

  /** Seals any JSON for a named record (holder attributes of the offers module). */
  async sealRecord(tenant: string, record: string, value: unknown): Promise<Uint8Array> {
    const k = await this.#tenantKeys(tenant);
    return new EnvelopeCipher(this.#deps.vault, this.#caller(tenant), k.kekId).seal(utf8.encode(JSON.stringify(value)), utf8.encode(record));
  }

  async openRecord(tenant: string, record: string, sealed: Uint8Array): Promise<unknown> {
    const k = await this.#tenantKeys(tenant);
    return JSON.parse(utf8.decode(await new EnvelopeCipher(this.#deps.vault, this.#caller(tenant), k.kekId).open(sealed, utf8.encode(record)))) as unknown;
  }
}

function aad(credentialId: string): Uint8Array {
  return utf8.encode(`credentials/${credentialId}/holder_data`);
}
