/**
 * Per-tenant issuer keys: vault keys certified by the city root. Rotation makes a new key current
 * and re-certifies the old one with `signUntil`, so readers keep accepting what it signed before
 * and refuse anything it signs later; the old key stays in the trust list until the last
 * credential it signed has expired (docs/credential-format.md §Trust).
 */
import { CityTrustError } from '../core/errors.ts';
import { importSpkiPublicKey, type CoseSigner } from '../crypto/index.ts';
import type { VaultCaller } from '../vault/types.ts';
import { createIssuerCertificate, keyIdOf, type IssuerAlgorithm } from './trust.ts';
import type { CityRoot } from './root.ts';
import { seconds, settingsOf, type CredentialDeps, type CredentialSettings } from './settings.ts';
import { vaultCoseSigner, vaultKeyType } from './vault-signer.ts';

/** Other server instances may hold the previous key in their cache this long after a rotation. */
export const ROTATION_GRACE_SECONDS = 60;
const CACHE_MS = 10_000;

export interface IssuerKeyInfo {
  readonly kid: string;
  readonly tenant: string;
  readonly alg: IssuerAlgorithm;
  readonly state: 'active' | 'retired';
  readonly createdAt: number;
  readonly retiredAt: number | null;
  readonly certificateExpiresAt: number;
  readonly lastCredentialExpiry: number;
}

export interface CurrentIssuerKey {
  readonly kid: Uint8Array;
  readonly kidHex: string;
  readonly alg: IssuerAlgorithm;
  readonly signer: CoseSigner;
  readonly certExp: number;
}

export function issuerCaller(tenant: string, actor = 'system:credentials'): VaultCaller {
  return { actor, tenant };
}

export class IssuerKeys {
  readonly #deps: CredentialDeps;
  readonly #root: CityRoot;
  readonly #settings: CredentialSettings;
  readonly #cache = new Map<string, { at: number; key: CurrentIssuerKey }>();

  constructor(deps: CredentialDeps, root: CityRoot) {
    this.#deps = deps;
    this.#root = root;
    this.#settings = settingsOf(deps);
  }

  /** Creates the tenant's first issuer key, or a new one that replaces the current key. */
  async rotate(tenant: string, alg: IssuerAlgorithm, actor: string): Promise<IssuerKeyInfo> {
    const { store, vault, audit, clock } = this.#deps;
    const type = vaultKeyType(alg);
    const root = await this.#root.get();
    const now = seconds(clock);
    const caller = issuerCaller(tenant, actor);
    const key = await vault.createKey(caller, { type, label: `credential issuer ${tenant}` });
    const pub = await vault.publicKey(caller, key.id);
    const publicKey = importSpkiPublicKey(alg === 'ES256' ? 'P-256' : 'Ed25519', pub.spki);
    const kid = keyIdOf(publicKey);
    const certExp = now + this.#settings.issuerCertSeconds;
    const certificate = await createIssuerCertificate({ tenant, alg, publicKey, iat: now, nbf: now - ROTATION_GRACE_SECONDS, exp: certExp }, root.signer, root.kid);
    const previous = await store.db.selectFrom('credential_issuer_keys').selectAll().where('tenant_id', '=', tenant).where('state', '=', 'active').execute();
    const retiredCerts = new Map<string, { certificate: Uint8Array; exp: number }>();
    for (const p of previous) {
      const signUntil = now + ROTATION_GRACE_SECONDS;
      const exp = Math.max(Number(p.last_expiry), signUntil) + 1;
      const oldKey = importSpkiPublicKey(p.alg === 'ES256' ? 'P-256' : 'Ed25519', new Uint8Array(p.public_key));
      retiredCerts.set(p.kid, { exp, certificate: await createIssuerCertificate({ tenant, alg: p.alg, publicKey: oldKey, iat: now, nbf: Number(p.created_at) - ROTATION_GRACE_SECONDS, exp, signUntil }, root.signer, root.kid) });
    }
    await store.transaction(async (trx) => {
      for (const [oldKid, c] of retiredCerts) {
        await trx.updateTable('credential_issuer_keys').set({ state: 'retired', retired_at: now, certificate: c.certificate, cert_exp: c.exp }).where('kid', '=', oldKid).execute();
      }
      await trx
        .insertInto('credential_issuer_keys')
        .values({ kid: hex(kid), tenant_id: tenant, vault_key_id: key.id, alg, public_key: pub.spki, certificate, cert_exp: certExp, state: 'active', created_at: now, retired_at: null, last_expiry: 0 })
        .execute();
    });
    this.#cache.delete(tenant);
    await audit.append({ actor, tenant, action: 'credentials.issuer_key.rotate', subject: hex(kid), details: { alg, vaultKeyId: key.id, retired: [...retiredCerts.keys()] } });
    return { kid: hex(kid), tenant, alg, state: 'active', createdAt: now, retiredAt: null, certificateExpiresAt: certExp, lastCredentialExpiry: 0 };
  }

  /** The key that signs now; CREDENTIAL_ISSUER_KEY_MISSING before the first rotation. */
  async current(tenant: string): Promise<CurrentIssuerKey> {
    const hit = this.#cache.get(tenant);
    const now = this.#deps.clock.now();
    if (hit && now - hit.at < CACHE_MS) return hit.key;
    const row = await this.#deps.store.db
      .selectFrom('credential_issuer_keys')
      .select(['kid', 'vault_key_id', 'alg', 'cert_exp'])
      .where('tenant_id', '=', tenant)
      .where('state', '=', 'active')
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (!row) throw new CityTrustError('CREDENTIAL_ISSUER_KEY_MISSING', `tenant ${tenant} has no issuer key`);
    const key: CurrentIssuerKey = Object.freeze({
      kid: new Uint8Array(Buffer.from(row.kid, 'hex')),
      kidHex: row.kid,
      alg: row.alg,
      signer: vaultCoseSigner(this.#deps.vault, issuerCaller(tenant), row.vault_key_id, row.alg),
      certExp: Number(row.cert_exp),
    });
    this.#cache.set(tenant, { at: now, key });
    return key;
  }

  async list(tenant?: string): Promise<IssuerKeyInfo[]> {
    let q = this.#deps.store.db.selectFrom('credential_issuer_keys').selectAll();
    if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
    const rows = await q.orderBy('created_at', 'desc').execute();
    return rows.map((r) => ({
      kid: r.kid,
      tenant: r.tenant_id,
      alg: r.alg,
      state: r.state,
      createdAt: Number(r.created_at),
      retiredAt: r.retired_at === null ? null : Number(r.retired_at),
      certificateExpiresAt: Number(r.cert_exp),
      lastCredentialExpiry: Number(r.last_expiry),
    }));
  }

  /**
   * Certificates readers must trust now: every current key, and every retired key some unexpired
   * credential still depends on. A retired key whose credentials outlive its certificate (issued
   * during the rotation grace) is re-certified to cover them.
   */
  async certificatesInForce(): Promise<Uint8Array[]> {
    const { store } = this.#deps;
    const now = seconds(this.#deps.clock);
    const rows = await store.db.selectFrom('credential_issuer_keys').selectAll().execute();
    const out: Uint8Array[] = [];
    for (const r of rows) {
      if (r.state === 'retired' && Number(r.last_expiry) <= now && Number(r.cert_exp) <= now) continue;
      if (r.state === 'retired' && Number(r.cert_exp) < Number(r.last_expiry)) {
        const root = await this.#root.get();
        const key = importSpkiPublicKey(r.alg === 'ES256' ? 'P-256' : 'Ed25519', new Uint8Array(r.public_key));
        const exp = Number(r.last_expiry) + 1;
        const cert = await createIssuerCertificate(
          { tenant: r.tenant_id, alg: r.alg, publicKey: key, iat: now, nbf: Number(r.created_at) - ROTATION_GRACE_SECONDS, exp, signUntil: Number(r.retired_at) + ROTATION_GRACE_SECONDS },
          root.signer,
          root.kid,
        );
        await store.db.updateTable('credential_issuer_keys').set({ certificate: cert, cert_exp: exp }).where('kid', '=', r.kid).execute();
        out.push(cert);
        continue;
      }
      if (Number(r.cert_exp) > now) out.push(new Uint8Array(r.certificate));
    }
    return out;
  }
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
