/**
 * The CA hierarchy (docs/pki.md, hierarchy): a root and one issuing CA per purpose, every key
 * in the vault. Rollover adds a generation; the previous one is `retired`: it no longer
 * issues but keeps signing CRLs and answering OCSP, and stays in the trust bundle, until its
 * certificate expires — so chains through it stay valid until then.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import type { PkiCasTable } from '../store/schema.ts';
import type { KeyVault, VaultCaller } from '../vault/types.ts';
import { buildCertificate, nameDer, type DerSigner } from './x509/build.ts';
import { certFields, nameText, spkiPublicKey } from './x509/cert-fields.ts';
import { toPem } from './x509/der.ts';
import {
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  crlDistributionPoint,
  keyIdentifier,
  keyUsage,
  nameConstraints,
  subjectKeyIdentifier,
} from './x509/extensions.ts';
import type { PkiKeyType } from './x509/keys.ts';
import { CA_PURPOSES, ISSUING_PURPOSES, type CaPurpose } from './profiles.ts';
import type { PkiSettings } from './settings.ts';
import { randomSerial } from './serial.ts';

export interface CaRecord {
  readonly id: string;
  readonly purpose: CaPurpose;
  readonly generation: number;
  readonly parentId: string | null;
  readonly keyId: string;
  readonly keyType: PkiKeyType;
  readonly certDer: Uint8Array;
  readonly serial: string;
  readonly subject: string;
  /** Subject Name DER: the issuer field of everything this CA signs. */
  readonly subjectDer: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly spki: Uint8Array;
  readonly keyIdentifier: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly state: 'active' | 'retired';
  /** SHA-1 and SHA-256 of the subject DER and of the public key bits (OCSP CertID, RFC 6960 §4.1.1). */
  readonly certIdHashes: { readonly sha1: string; readonly sha256: string };
}

/** What other modules show of a CA. */
export interface CaInfo {
  id: string;
  purpose: CaPurpose;
  generation: number;
  parentId: string | null;
  keyId: string;
  keyType: PkiKeyType;
  serial: string;
  subject: string;
  notBefore: number;
  notAfter: number;
  state: 'active' | 'retired';
  certificatePem: string;
}

export function caInfo(ca: CaRecord): CaInfo {
  return {
    id: ca.id,
    purpose: ca.purpose,
    generation: ca.generation,
    parentId: ca.parentId,
    keyId: ca.keyId,
    keyType: ca.keyType,
    serial: ca.serial,
    subject: ca.subject,
    notBefore: ca.notBefore,
    notAfter: ca.notAfter,
    state: ca.state,
    certificatePem: toPem('CERTIFICATE', ca.certDer),
  };
}

function certIdKey(alg: 'sha1' | 'sha256', nameDer: Uint8Array, publicKey: Uint8Array): string {
  return `${alg}:${createHash(alg).update(nameDer).digest('hex')}:${createHash(alg).update(publicKey).digest('hex')}`;
}

function toRecord(r: PkiCasTable): CaRecord {
  const der = new Uint8Array(r.cert_der);
  const f = certFields(der);
  return {
    id: r.id,
    purpose: r.purpose as CaPurpose,
    generation: Number(r.generation),
    parentId: r.parent_id,
    keyId: r.key_id,
    keyType: r.key_type as PkiKeyType,
    certDer: der,
    serial: r.serial,
    subject: r.subject,
    subjectDer: f.subject,
    publicKey: f.publicKey,
    spki: f.spki,
    keyIdentifier: keyIdentifier(f.publicKey),
    notBefore: Number(r.not_before),
    notAfter: Number(r.not_after),
    state: r.state,
    certIdHashes: { sha1: certIdKey('sha1', f.subject, f.publicKey), sha256: certIdKey('sha256', f.subject, f.publicKey) },
  };
}

/** A DerSigner backed by a vault key: the only way CA keys sign. */
export function vaultSigner(vault: KeyVault, caller: VaultCaller, keyId: string, keyType: PkiKeyType): DerSigner {
  return { keyType, sign: async (data) => (await vault.sign(caller, keyId, data, { format: 'der' })).signature };
}

const DAY = 86_400_000;
const TITLE: Record<CaPurpose, string> = { root: 'Root', readers: 'Readers and Gates', vehicles: 'Vehicles', meters: 'Meters', services: 'Services', 'code-signing': 'Code Signing' };

export interface CaDeps {
  readonly store: Store;
  readonly vault: KeyVault;
  readonly clock: Clock;
  readonly audit: AuditSink;
  readonly settings: PkiSettings;
}

export class CaRegistry {
  readonly #d: CaDeps;
  #byId = new Map<string, CaRecord>();
  #byCertId = new Map<string, CaRecord>();
  #loaded = false;

  constructor(deps: CaDeps) {
    this.#d = deps;
  }

  /** Reads every CA from the store (again); other instances may have rolled one over. */
  async load(): Promise<void> {
    const rows = await this.#d.store.db.selectFrom('pki_cas').selectAll().orderBy('purpose').orderBy('generation').execute();
    const byId = new Map<string, CaRecord>();
    const byCertId = new Map<string, CaRecord>();
    for (const r of rows) {
      const ca = toRecord(r);
      byId.set(ca.id, ca);
      byCertId.set(ca.certIdHashes.sha1, ca);
      byCertId.set(ca.certIdHashes.sha256, ca);
    }
    this.#byId = byId;
    this.#byCertId = byCertId;
    this.#loaded = true;
  }

  async #ensure(): Promise<void> {
    if (!this.#loaded) await this.load();
  }

  async all(): Promise<CaRecord[]> {
    await this.#ensure();
    return [...this.#byId.values()];
  }

  async get(id: string): Promise<CaRecord> {
    await this.#ensure();
    let ca = this.#byId.get(id);
    if (!ca) {
      await this.load();
      ca = this.#byId.get(id);
    }
    if (!ca) throw new CityTrustError('PKI_CA_NOT_FOUND', `no CA ${id}`);
    return ca;
  }

  /** The CA an OCSP CertID names by its name and key hashes, or undefined. */
  async byCertIdHashes(key: string): Promise<CaRecord | undefined> {
    await this.#ensure();
    return this.#byCertId.get(key);
  }

  /** The active CA of a purpose, valid now; PKI_NOT_INITIALISED / PKI_CA_UNAVAILABLE otherwise. */
  async active(purpose: CaPurpose): Promise<CaRecord> {
    await this.#ensure();
    if (this.#byId.size === 0) await this.load();
    if (this.#byId.size === 0) throw new CityTrustError('PKI_NOT_INITIALISED', 'the CA hierarchy has not been created');
    const now = this.#d.clock.now();
    const ca = [...this.#byId.values()].filter((c) => c.purpose === purpose && c.state === 'active').sort((a, b) => b.generation - a.generation)[0];
    if (!ca || now >= ca.notAfter) throw new CityTrustError('PKI_CA_UNAVAILABLE', `no valid active ${purpose} CA`);
    return ca;
  }

  /** The chain above a CA, ending at the root (the CA itself first). */
  async chain(id: string): Promise<CaRecord[]> {
    const out: CaRecord[] = [];
    for (let ca: CaRecord | undefined = await this.get(id); ca; ca = ca.parentId ? await this.get(ca.parentId) : undefined) out.push(ca);
    return out;
  }

  signer(ca: CaRecord, actor: string): DerSigner {
    return vaultSigner(this.#d.vault, { actor, tenant: null }, ca.keyId, ca.keyType);
  }

  caUrl(id: string): string {
    return `${this.#d.settings.baseUrl}/pki/ca/${id}.crt`;
  }

  crlUrl(id: string): string {
    return `${this.#d.settings.baseUrl}/pki/crl/${id}.crl`;
  }

  ocspUrl(): string {
    return `${this.#d.settings.baseUrl}/pki/ocsp`;
  }

  /** Creates the root and every issuing CA. Refused when any CA exists. */
  async init(actor: string): Promise<CaRecord[]> {
    const existing = await this.#d.store.db.selectFrom('pki_cas').select('id').limit(1).execute();
    if (existing.length > 0) throw new CityTrustError('PKI_ALREADY_INITIALISED', 'the CA hierarchy already exists');
    const root = await this.#create('root', 1, null, actor);
    const out = [root];
    for (const p of ISSUING_PURPOSES) out.push(await this.#create(p, 1, root, actor));
    return out;
  }

  /** A new generation of an issuing CA; the current one retires (keeps CRL/OCSP until it expires). */
  async rollover(purpose: unknown, actor: string): Promise<CaRecord> {
    if (typeof purpose !== 'string' || !(ISSUING_PURPOSES as readonly string[]).includes(purpose)) {
      throw new CityTrustError('INPUT_INVALID', `rollover takes an issuing CA purpose: ${ISSUING_PURPOSES.join(', ')}`);
    }
    const current = await this.active(purpose as CaPurpose);
    const root = await this.active('root');
    return this.#create(purpose as CaPurpose, current.generation + 1, root, actor, current);
  }

  async #create(purpose: CaPurpose, generation: number, parent: CaRecord | null, actor: string, retiring?: CaRecord): Promise<CaRecord> {
    const s = this.#d.settings;
    const caller: VaultCaller = { actor, tenant: null };
    const id = `${purpose}-${generation}`;
    const keyType = parent ? s.issuingKeyType : s.rootKeyType;
    const key = await this.#d.vault.createKey(caller, { type: keyType, label: `pki ca ${id}` });
    const pub = await this.#d.vault.publicKey(caller, key.id);
    const spki = pub.spki;
    const publicKey = spkiPublicKey(spki);
    const now = this.#d.clock.now();
    const subject = nameDer([
      ['O', s.organization],
      ['CN', `${s.organization} ${TITLE[purpose]} CA ${generation}`],
    ]);
    const ski = keyIdentifier(publicKey);
    const notAfter = Math.min(now + (parent ? s.issuingCaDays : s.rootCaDays) * DAY, parent ? parent.notAfter : Infinity);
    const exts = [
      // Root: one level of issuing CAs below it; issuing CAs: end entities only.
      basicConstraints(true, parent ? 0 : 1),
      keyUsage(['keyCertSign', 'cRLSign']),
      subjectKeyIdentifier(ski),
    ];
    if (parent) {
      exts.push(authorityKeyIdentifier(parent.keyIdentifier), crlDistributionPoint(this.crlUrl(parent.id)), authorityInfoAccess({ caIssuers: this.caUrl(parent.id) }));
      if (purpose === 'services' && s.serviceDomains.length > 0) exts.push(nameConstraints({ dns: s.serviceDomains }));
    }
    const serial = randomSerial();
    const signer = parent ? this.signer(parent, actor) : vaultSigner(this.#d.vault, caller, key.id, keyType);
    const der = await buildCertificate({ serial, issuer: parent ? parent.subjectDer : subject, subject, notBefore: now - 60_000, notAfter, spki, extensions: exts }, signer);
    const f = certFields(der);
    const row: PkiCasTable = {
      id,
      purpose,
      generation,
      parent_id: parent?.id ?? null,
      key_id: key.id,
      key_type: keyType,
      cert_der: der,
      serial: f.serial,
      subject: nameText(f.subject),
      not_before: f.notBefore,
      not_after: f.notAfter,
      state: 'active',
      crl_number: 0,
      created_at: now,
    };
    await this.#d.store.transaction(async (trx) => {
      if (retiring) {
        const r = await trx.updateTable('pki_cas').set({ state: 'retired' }).where('id', '=', retiring.id).where('state', '=', 'active').executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) throw new CityTrustError('CONFLICT', `${retiring.id} was rolled over meanwhile`);
      }
      await trx.insertInto('pki_cas').values(row).execute();
    });
    await this.#d.audit.append({ actor, tenant: null, action: retiring ? 'pki.ca.rollover' : 'pki.ca.create', subject: id, details: { serial: f.serial, keyId: key.id, keyType, notAfter: f.notAfter, ...(retiring ? { retired: retiring.id } : {}) } });
    await this.load();
    return this.get(id);
  }
}

export { CA_PURPOSES };
