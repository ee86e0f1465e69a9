/**
 * Wires the credential services over one set of collaborators. Only server, cli and sim call this
 * (DESIGN: domain modules take their collaborators as parameters).
 */
import { createTrustList } from './trust.ts';
import { CityRoot } from './root.ts';
import { IssuerKeys } from './issuer-keys.ts';
import { Templates } from './templates.ts';
import { StatusLists } from './status-service.ts';
import { Wallets } from './wallets.ts';
import { PersonalData } from './personal-data.ts';
import { CredentialIssuer } from './issuer.ts';
import { seconds, settingsOf, type CredentialDeps } from './settings.ts';
import type { IssuerAlgorithm } from './trust.ts';
import { Offers } from '../offers/service.ts';
import { SealPool } from './seal-pool.ts';

export interface PublishedTrustList {
  readonly token: Uint8Array;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/**
 * The trust list readers fetch: every issuer certificate in force, signed by the credential root,
 * with the city PKI root's certificate for that root once the PKI exists.
 */
export class TrustLists {
  readonly #deps: CredentialDeps;
  readonly #root: CityRoot;
  readonly #keys: IssuerKeys;
  #cached: { at: number; generation: number; list: Promise<PublishedTrustList> } | undefined;
  #generation = 0;

  constructor(deps: CredentialDeps, root: CityRoot, keys: IssuerKeys) {
    this.#deps = deps;
    this.#root = root;
    this.#keys = keys;
  }

  /** Drop the cached list (after a rotation on this instance). */
  invalidate(): void {
    this.#generation++;
  }

  current(): Promise<PublishedTrustList> {
    const life = settingsOf(this.#deps).trustListSeconds;
    const now = seconds(this.#deps.clock);
    // Re-signed every minute at most, so other instances' rotations appear within a minute.
    if (this.#cached && this.#cached.generation === this.#generation && now - this.#cached.at < Math.min(60, life / 2)) return this.#cached.list;
    const list = (async () => {
      const root = await this.#root.get();
      const certificates = await this.#keys.certificatesInForce();
      const rootCertificate = (await this.#root.certificate())?.certificate;
      const token = await createTrustList({ certificates, iat: now, exp: now + life, ...(rootCertificate && { rootCertificate }) }, root.signer, root.kid);
      return { token, issuedAt: now, expiresAt: now + life };
    })();
    list.catch(() => (this.#cached = undefined));
    this.#cached = { at: now, generation: this.#generation, list };
    return list;
  }
}

export interface CredentialServices {
  readonly root: CityRoot;
  readonly issuerKeys: IssuerKeys;
  readonly trustLists: TrustLists;
  readonly templates: Templates;
  readonly statusLists: StatusLists;
  readonly wallets: Wallets;
  readonly personalData: PersonalData;
  readonly issuer: CredentialIssuer;
  /** Context-aware offers over consented holder attributes (src/offers). */
  readonly offers: Offers;
  /** Rotate (or create) a tenant's issuer key and refresh the trust list. */
  rotateIssuerKey(tenant: string, alg: IssuerAlgorithm, actor: string): ReturnType<IssuerKeys['rotate']>;
  /** Stops the status poller and the seal workers. */
  close(): Promise<void>;
}

export function createCredentialServices(deps: CredentialDeps): CredentialServices {
  const settings = settingsOf(deps);
  const sealer = new SealPool(settings.sealWorkers);
  const root = new CityRoot(deps);
  const issuerKeys = new IssuerKeys(deps, root);
  const trustLists = new TrustLists(deps, root, issuerKeys);
  const templates = new Templates(deps);
  const statusLists = new StatusLists(deps, issuerKeys);
  const wallets = new Wallets(deps, sealer);
  const personalData = new PersonalData(deps);
  const issuer = new CredentialIssuer(deps, { keys: issuerKeys, templates, status: statusLists, wallets, personalData });
  const offers = new Offers({ store: deps.store, audit: deps.audit, clock: deps.clock, personalData, wallets });
  return {
    offers,
    root,
    issuerKeys,
    trustLists,
    templates,
    statusLists,
    wallets,
    personalData,
    issuer,
    rotateIssuerKey: async (tenant, alg, actor) => {
      const info = await issuerKeys.rotate(tenant, alg, actor);
      trustLists.invalidate();
      return info;
    },
    close: async () => {
      statusLists.stop();
      await sealer.close();
    },
  };
}
