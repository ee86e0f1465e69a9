/**
 * Who a meter is. `MeterIdentityResolver` is what ingest asks: validate the certificate a meter
 * presents in its key establishment (chain to the city root through the meters CA, meter
 * profile, SAN = the meter's URN, not revoked, device active), and later, for every frame,
 * whether that certificate and device are still good.
 *
 * The per-frame question is asked in bulk, once per ingest batch, and answers are cached for
 * `cacheMs` (metering.identityCacheMs): a revocation or a suspended device stops ingestion of
 * the meter's frames within that time.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { CityTrustError, isCityTrustError, type ErrorCode } from '../core/errors.ts';
import { importSpkiPublicKey } from '../crypto/index.ts';
import type { Store } from '../store/db.ts';
import type { Pki } from '../pki/pki.ts';
import { deviceUrn } from '../pki/profiles.ts';
import { validateChain } from '../pki/validate.ts';

export interface VerifiedMeterCertificate {
  readonly serial: string;
  readonly notAfter: number;
  readonly spki: Uint8Array;
  readonly publicKey: KeyObject;
}

export interface IdentityKey {
  readonly tenant: string;
  readonly meterId: string;
  readonly serial: string;
}

/** `ok`, or the code that refuses the meter's frames now. */
export type IdentityStatus = 'ok' | Extract<ErrorCode, 'METER_IDENTITY_INVALID' | 'METER_NOT_ACTIVE' | 'METER_COMPROMISED'>;

/** The message of a refusing identity status. */
export function identityMessage(s: Exclude<IdentityStatus, 'ok'>): string {
  return s === 'METER_COMPROMISED' ? 'the meter is compromised (it reported tampering); its certificates are revoked' : s === 'METER_NOT_ACTIVE' ? 'the meter device is not active' : 'the meter certificate is revoked, on hold, expired or unknown';
}

export interface MeterIdentityResolver {
  verifyCertificate(tenant: string, meterId: string, certificateDer: Uint8Array, at: number): Promise<VerifiedMeterCertificate>;
  statusMany(keys: readonly IdentityKey[], at: number): Promise<Map<string, IdentityStatus>>;
}

export function identityKey(k: IdentityKey): string {
  return `${k.tenant}/${k.meterId}/${k.serial}`;
}

/** Chain validation and status from the city PKI and the device registry. */
export class PkiMeterIdentityResolver implements MeterIdentityResolver {
  readonly #pki: Pki;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, { status: IdentityStatus; until: number }>();
  #trust: { anchors: Uint8Array[]; intermediates: Uint8Array[]; until: number } | undefined;

  constructor(deps: { pki: Pki; store: Store; clock: Clock; cacheMs: number }) {
    this.#pki = deps.pki;
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#cacheMs = deps.cacheMs;
  }

  async #trustAnchors(): Promise<{ anchors: Uint8Array[]; intermediates: Uint8Array[] }> {
    const now = this.#clock.now();
    if (this.#trust && this.#trust.until > now) return this.#trust;
    const cas = await this.#pki.cas.all();
    const valid = cas.filter((c) => c.notAfter > now);
    this.#trust = {
      anchors: valid.filter((c) => c.purpose === 'root').map((c) => c.certDer),
      // Only the meters CAs may stand between the root and a meter certificate.
      intermediates: valid.filter((c) => c.purpose === 'meters').map((c) => c.certDer),
      until: now + 60_000,
    };
    return this.#trust;
  }

  async verifyCertificate(tenant: string, meterId: string, der: Uint8Array, at: number): Promise<VerifiedMeterCertificate> {
    const { anchors, intermediates } = await this.#trustAnchors();
    let path;
    try {
      path = validateChain(der, { anchors, intermediates, time: at, profile: 'meter' });
    } catch (e) {
      const reason = isCityTrustError(e) ? e.code : 'INTERNAL';
      throw new CityTrustError('METER_IDENTITY_INVALID', 'the meter certificate does not validate', { cause: e, details: { reason } });
    }
    if (!path.names.includes(`uri:${deviceUrn(tenant, meterId)}`)) {
      throw new CityTrustError('METER_IDENTITY_INVALID', 'the certificate is for another device', { details: { reason: 'foreign-certificate' } });
    }
    const status = (await this.statusMany([{ tenant, meterId, serial: path.serial }], at)).get(identityKey({ tenant, meterId, serial: path.serial }));
    if (status !== 'ok') throw new CityTrustError(status ?? 'METER_IDENTITY_INVALID', identityMessage(status ?? 'METER_IDENTITY_INVALID'));
    return { serial: path.serial, notAfter: path.notAfter, spki: path.spki, publicKey: importSpkiPublicKey('P-256', path.spki) };
  }

  async statusMany(keys: readonly IdentityKey[], at: number): Promise<Map<string, IdentityStatus>> {
    const out = new Map<string, IdentityStatus>();
    const missing: IdentityKey[] = [];
    for (const k of keys) {
      const key = identityKey(k);
      const hit = this.#cache.get(key);
      if (hit && hit.until > at) out.set(key, hit.status);
      else if (!out.has(key)) missing.push(k);
    }
    if (missing.length === 0) return out;
    // Read-only look at the PKI's and the registry's tables: one query per batch instead of two per frame.
    const serials = [...new Set(missing.map((k) => k.serial))];
    const certs = new Map<string, { tenant: string | null; device: string | null; status: string; notAfter: number }>();
    for (let i = 0; i < serials.length; i += 500) {
      const rows = await this.#store.db.selectFrom('pki_certificates').select(['serial', 'tenant_id', 'device_id', 'status', 'not_after']).where('serial', 'in', serials.slice(i, i + 500)).execute();
      for (const r of rows) certs.set(r.serial, { tenant: r.tenant_id, device: r.device_id, status: r.status, notAfter: Number(r.not_after) });
    }
    const tenants = [...new Set(missing.map((k) => k.tenant))];
    const devices = new Map<string, string>();
    for (const t of tenants) {
      const ids = [...new Set(missing.filter((k) => k.tenant === t).map((k) => k.meterId))];
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await this.#store.db.selectFrom('devices').select(['id', 'state']).where('tenant_id', '=', t).where('id', 'in', ids.slice(i, i + 500)).execute();
        for (const r of rows) devices.set(`${t}/${r.id}`, r.state);
      }
    }
    for (const k of missing) {
      const c = certs.get(k.serial);
      // The device state first: a suspended device also has its certificates on hold, and "not active" says why.
      let status: IdentityStatus = 'ok';
      const state = devices.get(`${k.tenant}/${k.meterId}`);
      if (state === 'compromised') status = 'METER_COMPROMISED';
      else if (state !== 'active') status = 'METER_NOT_ACTIVE';
      else if (!c || c.tenant !== k.tenant || c.device !== k.meterId || c.status !== 'good' || at >= c.notAfter) status = 'METER_IDENTITY_INVALID';
      out.set(identityKey(k), status);
      this.#cache.set(identityKey(k), { status, until: at + this.#cacheMs });
    }
    if (this.#cache.size > 200_000) this.#cache.clear();
    return out;
  }
}
