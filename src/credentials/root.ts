/**
 * The city credential root: one vault key of the city (tenant null) that certifies issuer keys
 * and signs trust lists. The city PKI root CA certifies it in turn (a root certificate, see
 * ./trust.ts), so readers pin the one city root; devices that pinned this key directly keep
 * working.
 */
import type { KeyObject } from 'node:crypto';
import { coseVerifierKey, importSpkiPublicKey, type CoseSignAlgorithm, type CoseSigner, type CoseVerifierKey } from '../crypto/index.ts';
import { CityTrustError } from '../core/errors.ts';
import type { VaultCaller } from '../vault/types.ts';
import { createRootCertificate, keyIdOf, pinnedRootKey } from './trust.ts';
import { seconds, type CityRootAnchor, type CredentialDeps } from './settings.ts';
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

/** The city PKI root's statement for the credential root, and the city root it chains to. */
export interface RootCertificate {
  /** COSE_Sign1 CWT, typ application/ct-root+cwt, signed by the city PKI root key. */
  readonly certificate: Uint8Array;
  readonly exp: number;
  readonly cityRoot: { readonly alg: CoseSignAlgorithm; readonly kid: Uint8Array; readonly spki: Uint8Array; readonly certificate: Uint8Array };
}

const ANCHOR_ALG: Readonly<Record<CityRootAnchor['keyType'], CoseSignAlgorithm>> = { 'ec-p256': 'ES256', 'ec-p384': 'ES384', ed25519: 'EdDSA' };

/** What the anchor adapter reads of the PKI's CA registry (src/pki/cas.ts `CaRegistry.all`). */
export interface CaSource {
  all(): Promise<readonly { readonly purpose: string; readonly state: string; readonly generation: number; readonly keyId: string; readonly keyType: string; readonly certDer: Uint8Array; readonly notAfter: number }[]>;
}

/** The `cityRoot` collaborator over the PKI: its active root CA, or undefined before `ca init`. */
export function cityRootFromPki(cas: CaSource): () => Promise<CityRootAnchor | undefined> {
  return async () => {
    const root = (await cas.all()).filter((c) => c.purpose === 'root' && c.state === 'active').sort((a, b) => b.generation - a.generation)[0];
    if (root === undefined || !(root.keyType in ANCHOR_ALG)) return undefined;
    return { vaultKeyId: root.keyId, keyType: root.keyType as CityRootAnchor['keyType'], certificate: root.certDer, notAfter: root.notAfter };
  };
}

export class CityRoot {
  readonly #deps: CredentialDeps;
  #cached: Promise<CityRootKey> | undefined;
  #certified: { vaultKeyId: string; notAfter: number; value: Promise<RootCertificate> } | undefined;

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

  /**
   * The city PKI root's certificate for this credential root, made once per process with the
   * PKI root's vault key (it stays out of the daily trust-list signing); undefined while the PKI
   * has no root.
   */
  async certificate(): Promise<RootCertificate | undefined> {
    const anchor = await this.#deps.cityRoot?.();
    if (anchor === undefined) return undefined;
    // The statement lasts as long as the root CA certificate, so it is made again only when the
    // city root changes (its key, or its certificate's end).
    const hit = this.#certified;
    if (hit !== undefined && hit.vaultKeyId === anchor.vaultKeyId && hit.notAfter === anchor.notAfter) return hit.value;
    const now = seconds(this.#deps.clock);
    const value = this.#certify(anchor, now);
    this.#certified = { vaultKeyId: anchor.vaultKeyId, notAfter: anchor.notAfter, value };
    value.catch(() => {
      if (this.#certified?.value === value) this.#certified = undefined;
    });
    return value;
  }

  async #certify(anchor: CityRootAnchor, now: number): Promise<RootCertificate> {
    const { vault, audit } = this.#deps;
    const root = await this.get();
    const alg = ANCHOR_ALG[anchor.keyType];
    // The kid and algorithm come from the vault key that will sign, so a mis-wired anchor cannot
    // produce a statement readers would check against another key.
    const spki = (await vault.publicKey(ROOT_CALLER, anchor.vaultKeyId)).spki;
    const city = pinnedRootKey(spki);
    if (city.alg !== alg) throw new CityTrustError('INTERNAL', `the city root key is ${city.alg}, its anchor says ${alg}`);
    const exp = Math.floor(anchor.notAfter / 1000);
    const certificate = await createRootCertificate({ publicKey: root.publicKey, iat: now, nbf: now - 60, exp }, vaultCoseSigner(vault, ROOT_CALLER, anchor.vaultKeyId, alg), city.kid as Uint8Array);
    await audit.append({ actor: ROOT_CALLER.actor, tenant: null, action: 'credentials.root.certify', subject: root.vaultKeyId, details: { kid: Buffer.from(root.kid).toString('hex'), cityRootKid: Buffer.from(city.kid as Uint8Array).toString('hex'), exp } });
    return Object.freeze({ certificate, exp, cityRoot: Object.freeze({ alg, kid: city.kid as Uint8Array, spki, certificate: anchor.certificate }) });
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
