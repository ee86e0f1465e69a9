/**
 * The city credential root: one vault key of the city (tenant null) that certifies issuer keys
 * and signs trust lists. Readers pin its public key; everything else they learn from it.
 */
import type { KeyObject } from 'node:crypto';
import { coseVerifierKey, importSpkiPublicKey, type CoseSigner, type CoseVerifierKey } from '../crypto/index.ts';
import type { VaultCaller } from '../vault/types.ts';
import { keyIdOf } from './trust.ts';
import { seconds, type CredentialDeps } from './settings.ts';
import { vaultCoseSigner } from './vault-signer.ts';

const ROOT_ROW = 'city';
export const ROOT_CALLER: VaultCaller = { actor: 'system:credentials', tenant: null };

export interface CityRootKey {
  readonly vaultKeyId: string;
  readonly kid: Uint8Array;
  readonly publicKey: KeyObject;
  readonly spki: Uint8Array;
  readonly signer: CoseSigner;
  readonly verifier: CoseVerifierKey;
}

export class CityRoot {
  readonly #deps: CredentialDeps;
  #cached: Promise<CityRootKey> | undefined;

  constructor(deps: CredentialDeps) {
    this.#deps = deps;
  }

  /** The root, created in the vault on first use (ES256: what NFC readers verify fastest). */
  get(): Promise<CityRootKey> {
    this.#cached ??= this.#load().catch((e: unknown) => {
      this.#cached = undefined;
      throw e;
    });
    return this.#cached;
  }

  async #load(): Promise<CityRootKey> {
    const { store, vault, audit, clock } = this.#deps;
    let row = await store.db.selectFrom('credential_roots').selectAll().where('id', '=', ROOT_ROW).executeTakeFirst();
    if (!row) {
      const key = await vault.createKey(ROOT_CALLER, { type: 'ec-p256', label: 'city credential root' });
      const pub = await vault.publicKey(ROOT_CALLER, key.id);
      const kid = keyIdOf(importSpkiPublicKey('P-256', pub.spki));
      await store.db
        .insertInto('credential_roots')
        .values({ id: ROOT_ROW, vault_key_id: key.id, kid, public_key: pub.spki, created_at: clock.now() })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      row = await store.db.selectFrom('credential_roots').selectAll().where('id', '=', ROOT_ROW).executeTakeFirstOrThrow();
      if (row.vault_key_id === key.id) {
        await audit.append({ actor: ROOT_CALLER.actor, tenant: null, action: 'credentials.root.create', subject: key.id, details: { kid: Buffer.from(kid).toString('hex'), at: seconds(clock) } });
      } else {
        // Another instance won the race; ours is unused.
        await vault.destroyKey(ROOT_CALLER, key.id).catch(() => undefined);
      }
    }
    const spki = new Uint8Array(row.public_key);
    const publicKey = importSpkiPublicKey('P-256', spki);
    return Object.freeze({
      vaultKeyId: row.vault_key_id,
      kid: new Uint8Array(row.kid),
      publicKey,
      spki,
      signer: vaultCoseSigner(vault, ROOT_CALLER, row.vault_key_id, 'ES256'),
      verifier: coseVerifierKey('ES256', publicKey),
    });
  }
}
