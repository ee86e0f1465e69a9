/**
 * The city's certificate authority: issuance from CSRs under profiles, enrolment with
 * bootstrap tokens, renewal with the current certificate, revocation (with the device
 * registry's lifecycle), CRLs, the OCSP responder and the server's own TLS certificate.
 * Every CA signature is made by the vault; the only private key this module ever holds is
 * the server's short-lived TLS leaf key (see `serverTls`).
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import type { Database, PkiCertificatesTable } from '../store/schema.ts';
import type { KeyVault } from '../vault/types.ts';
import type { Devices } from '../devices/registry.ts';
import type { BootstrapTokens } from '../devices/bootstrap.ts';
import type { Device, DeviceCertificateHooks, DeviceState } from '../devices/types.ts';
import { buildCertificate, nameDer } from './x509/build.ts';
import { certFields, spkiPublicKey } from './x509/cert-fields.ts';
import { checkCsr, type CheckedCsr } from './x509/csr.ts';
import { hex, toPem } from './x509/der.ts';
import {
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  certificatePolicies,
  crlDistributionPoint,
  extKeyUsage,
  keyIdentifier,
  keyUsage,
  ocspNoCheck,
  subjectAltName,
  subjectKeyIdentifier,
  type RevocationReason,
  type SanInput,
} from './x509/extensions.ts';
import { ipText } from './x509/general-names.ts';
import { CaRegistry, caInfo, vaultSigner, type CaInfo, type CaRecord } from './cas.ts';
import { certificateInfo, OPERATOR_REASONS, type CertificateInfo, type IssuedCertificate, type CertStatus } from './certificates.ts';
import { CrlPublisher } from './crl.ts';
import { OcspResponder, responderKeyHash, type OcspAnswer, type OcspSigner } from './ocsp.ts';
import { checkDnsName, checkIp, deviceUrn, DEVICE_PROFILE, dnsWithin, headEndUrn, profileByName, PROFILE_TABLE, VAULT_KEY_PROFILES, type Profile, type ProfileName } from './profiles.ts';
import { randomSerial } from './serial.ts';
import { DEFAULT_PKI_SETTINGS, type PkiSettings } from './settings.ts';
import { CertificateWriter } from './writer.ts';

const DAY = 86_400_000;
/** Backdating absorbs small clock differences between us and devices. */
const BACKDATE_MS = 60_000;
const SERIAL = /^[0-9a-f]{2,40}$/;

export interface PkiDeps {
  store: Store;
  vault: KeyVault;
  clock: Clock;
  audit: AuditSink;
  devices: Devices;
  bootstrap: BootstrapTokens;
  settings?: Partial<PkiSettings>;
  logger?: Logger;
}

/** An operator's issuance request (`citytrust cert issue`, POST /v1/pki/certificates). */
export interface IssueRequest {
  csr: Uint8Array | string;
  /** The device the certificate is for; omitted for the city's own TLS server/client certificates. */
  tenant?: string | null;
  deviceId?: string;
  /** Defaults to the device type's profile. */
  profile?: string;
  /** tls-server only: names the operator approves (checked against the services CA's name constraints). */
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
}

/** An operator's request to certify a key that lives in the vault (`citytrust cert issue --key`). */
export interface VaultKeyIssueRequest {
  /** The tenant that owns the key; the certificate names this tenant's service. */
  tenant: string;
  /** Vault key id (`vk_…`) of the tenant. */
  keyId: string;
  /** A vault-key profile: `head-end` (key agreement) or `head-end-command` (command signing). */
  profile: string;
}

/** Who a TLS client certificate belongs to. */
export interface ClientIdentity {
  serial: string;
  tenant: string | null;
  deviceId: string | null;
  profile: ProfileName;
  device?: Device;
}

export interface ServerTlsCredentials {
  /** PKCS#8 PEM of the ephemeral leaf key: in memory only, never written. */
  keyPem: string;
  /** Leaf then issuing CA. */
  certPem: string;
  /** Every CA certificate of the hierarchy that is still valid: whom client certificates may chain to. */
  caPem: string;
  serial: string;
  notBefore: number;
  notAfter: number;
}

type TimedSigner = OcspSigner & { readonly notBefore: number; readonly notAfter: number };

interface Plan {
  ca: CaRecord;
  profile: Profile;
  subject: Uint8Array;
  subjectText: string;
  sans: SanInput;
  tenant: string | null;
  device: Device | null;
}

function sanStrings(s: SanInput): string[] {
  return [...(s.dns ?? []).map((d) => `dns:${d}`), ...(s.ip ?? []).map((i) => `ip:${i}`), ...(s.uri ?? []).map((u) => `uri:${u}`)];
}

export class Pki implements DeviceCertificateHooks {
  readonly settings: PkiSettings;
  readonly cas: CaRegistry;
  readonly crls: CrlPublisher;
  readonly ocsp: OcspResponder;
  readonly #d: PkiDeps;
  readonly #writer: CertificateWriter;
  readonly #ocspSigners = new Map<string, TimedSigner>();
  readonly #ocspSignerInflight = new Map<string, Promise<TimedSigner>>();
  readonly #chainPems = new Map<string, string[]>();

  constructor(deps: PkiDeps) {
    this.#d = deps;
    this.settings = { ...DEFAULT_PKI_SETTINGS, ...deps.settings };
    this.#writer = new CertificateWriter(deps.store);
    this.cas = new CaRegistry({ store: deps.store, vault: deps.vault, clock: deps.clock, audit: deps.audit, settings: this.settings });
    this.crls = new CrlPublisher({ store: deps.store, clock: deps.clock, cas: this.cas, settings: this.settings });
    this.ocsp = new OcspResponder({ store: deps.store, clock: deps.clock, cas: this.cas, settings: this.settings, signerFor: (ca) => this.#ocspSigner(ca) });
    deps.devices.setCertificateHooks(this);
  }

  // ---- hierarchy ----

  async init(actor: string): Promise<CaInfo[]> {
    const cas = await this.cas.init(actor);
    return cas.map(caInfo);
  }

  async rollover(purpose: unknown, actor: string): Promise<CaInfo> {
    const ca = await this.cas.rollover(purpose, actor);
    return caInfo(ca);
  }

  async listCas(): Promise<CaInfo[]> {
    return (await this.cas.all()).map(caInfo);
  }

  async caCertificate(id: string): Promise<Uint8Array> {
    return (await this.cas.get(id)).certDer;
  }

  /** Root and issuing CAs still valid now: the trust bundle (EST /cacerts, mTLS). */
  async trustBundle(): Promise<Uint8Array[]> {
    const now = this.#d.clock.now();
    const all = await this.cas.all();
    return all.filter((c) => c.notAfter > now).sort((a, b) => (a.purpose === 'root' ? -1 : b.purpose === 'root' ? 1 : a.id.localeCompare(b.id))).map((c) => c.certDer);
  }

  // ---- issuance ----

  /** Operator issuance: any profile, for a registered device or (city scope) the city's services. */
  async issue(scope: string | null | undefined, req: IssueRequest, actor: string): Promise<IssuedCertificate> {
    const csr = checkCsr(req.csr);
    let device: Device | null = null;
    let profile: Profile;
    if (req.deviceId !== undefined) {
      if (typeof req.tenant !== 'string') throw new CityTrustError('INPUT_INVALID', 'a device certificate needs the tenant');
      device = await this.#d.devices.get(scope, req.tenant, req.deviceId);
      if (device.state === 'compromised' || device.state === 'retired' || device.state === 'suspended') throw new CityTrustError('DEVICE_NOT_ACTIVE', `the device is ${device.state}`);
      profile = profileByName(req.profile ?? DEVICE_PROFILE[device.type]);
      if (!profile.deviceTypes.includes(device.type)) throw new CityTrustError('PKI_PROFILE_MISMATCH', `a ${device.type} cannot hold a ${profile.name} certificate`);
    } else {
      // Without a device: the city's own servers and clients only.
      if (scope) throw new CityTrustError('PKI_PROFILE_MISMATCH', 'a tenant issues certificates to its registered devices only');
      profile = profileByName(req.profile);
      if (VAULT_KEY_PROFILES[profile.name]) throw new CityTrustError('PKI_PROFILE_MISMATCH', `${profile.name} certificates certify a vault key: give its key id instead of a CSR`);
      if (profile.name !== 'tls-server' && profile.name !== 'tls-client') throw new CityTrustError('PKI_PROFILE_MISMATCH', `${profile.name} certificates are issued to registered devices`);
    }
    const plan = await this.#plan(profile, device, req.dnsNames ?? [], req.ipAddresses ?? []);
    this.#refuseForeignNames(csr, plan.sans);
    // Only a pending device has anything to write beside the row: it becomes active.
    return this.#issue(plan, csr, actor, device?.state === 'pending' ? async (trx) => this.#d.devices.activateOnEnrolment(trx, device) : undefined);
  }

  /**
   * Certifies a tenant's vault key under a vault-key profile (the metering head-end's
   * key-agreement and command keys). There is no CSR — an ECDH key cannot sign one — so
   * possession is the vault's word: the key is read with the tenant as caller, which sees
   * only that tenant's keys, and must have the usage the profile certifies.
   */
  async issueForVaultKey(scope: string | null | undefined, req: VaultKeyIssueRequest, actor: string): Promise<IssuedCertificate> {
    const profile = profileByName(req.profile);
    const rule = VAULT_KEY_PROFILES[profile.name];
    if (!rule) throw new CityTrustError('PKI_PROFILE_MISMATCH', `${profile.name} certificates are issued from a CSR, not for a vault key`);
    if (typeof req.tenant !== 'string' || req.tenant.length === 0) throw new CityTrustError('INPUT_INVALID', 'a vault-key certificate needs the tenant that owns the key');
    if (typeof req.keyId !== 'string') throw new CityTrustError('INPUT_INVALID', 'keyId is a vault key id');
    // A tenant token certifies its own keys only; another tenant's key answers like a missing one.
    if (scope && scope !== req.tenant) throw new CityTrustError('VAULT_KEY_NOT_FOUND', 'no such key');
    const caller = { actor, tenant: req.tenant };
    const info = await this.#d.vault.getKey(caller, req.keyId);
    if (!rule.keyTypes.includes(info.type)) throw new CityTrustError('PKI_PROFILE_MISMATCH', `a ${profile.name} certificate certifies a ${rule.keyTypes.join(' or ')} key, not ${info.type}`);
    if (!info.usages.includes(rule.usage)) throw new CityTrustError('PKI_PROFILE_MISMATCH', `a ${profile.name} certificate certifies a key with the ${rule.usage} usage`);
    const pub = await this.#d.vault.publicKey(caller, req.keyId);
    const ca = await this.cas.active(profile.ca as Exclude<typeof profile.ca, 'issuing'>);
    const plan: Plan = {
      ca,
      profile,
      tenant: req.tenant,
      device: null,
      subject: nameDer([['O', req.tenant], ['OU', profile.name], ['CN', 'head-end']]),
      subjectText: `CN=head-end,OU=${profile.name},O=${req.tenant}`,
      sans: { uri: [headEndUrn(req.tenant)] },
    };
    const key = { spki: pub.spki, publicKey: spkiPublicKey(pub.spki), keySha256: new Uint8Array(createHash('sha256').update(pub.spki).digest()) };
    return this.#issue(plan, key, actor, undefined, req.keyId);
  }

  /** REST/EST enrolment with a one-time bootstrap token; everything is checked before the token is spent. */
  async enroll(csrInput: Uint8Array | string, token: unknown, expectedDeviceId?: string): Promise<IssuedCertificate> {
    const csr = checkCsr(csrInput);
    const { tokenId, device } = await this.#d.bootstrap.check(token, expectedDeviceId);
    const plan = await this.#plan(profileByName(DEVICE_PROFILE[device.type]), device, [], []);
    this.#refuseForeignNames(csr, plan.sans);
    return this.#issue(plan, csr, `device:${device.tenant}/${device.id}`, async (trx) => {
      await this.#d.bootstrap.consume(trx, tokenId);
      await this.#d.devices.activateOnEnrolment(trx, device);
    });
  }

  /** Renewal (REST /v1/pki/renew, EST simplereenroll) by a device holding a valid certificate of ours. */
  async renew(csrInput: Uint8Array | string, current: ClientIdentity): Promise<IssuedCertificate> {
    const csr = checkCsr(csrInput);
    const row = await this.#row(null, current.serial);
    let device: Device | null = null;
    if (row.device_id !== null && row.tenant_id !== null) {
      device = await this.#d.devices.get(row.tenant_id, row.tenant_id, row.device_id);
      if (device.state !== 'active') throw new CityTrustError('DEVICE_NOT_ACTIVE', `the device is ${device.state}`);
    }
    const profile = profileByName(row.profile);
    // A vault key is re-certified by an operator (issueForVaultKey), never from a CSR.
    if (VAULT_KEY_PROFILES[profile.name] || profile.name === 'ocsp-signing') throw new CityTrustError('PKI_PROFILE_MISMATCH', `a ${profile.name} certificate is not renewed by its holder`);
    const old = JSON.parse(row.sans) as string[];
    const dns = old.filter((s) => s.startsWith('dns:')).map((s) => s.slice(4));
    const ips = old.filter((s) => s.startsWith('ip:')).map((s) => s.slice(3));
    const plan = await this.#plan(profile, device, dns, ips);
    this.#refuseForeignNames(csr, plan.sans);
    const actor = device ? `device:${device.tenant}/${device.id}` : `cert:${row.serial}`;
    return this.#issue(plan, csr, actor);
  }

  async #plan(profile: Profile, device: Device | null, dnsNames: readonly string[], ips: readonly string[]): Promise<Plan> {
    const s = this.settings;
    if (profile.name === 'ocsp-signing') throw new CityTrustError('PKI_PROFILE_MISMATCH', 'OCSP signing certificates are issued by the responder itself');
    const ca = await this.cas.active(profile.ca as Exclude<typeof profile.ca, 'issuing'>);
    const dns = dnsNames.map(checkDnsName);
    const ip = ips.map(checkIp).map((i) => ipText(Uint8Array.from(i.split('.').map(Number))));
    if (profile.name !== 'tls-server' && (dns.length > 0 || ip.length > 0)) throw new CityTrustError('PKI_PROFILE_MISMATCH', 'only tls-server certificates carry DNS names or IP addresses');
    if (profile.name === 'tls-server' && dns.length === 0 && ip.length === 0 && !device) throw new CityTrustError('PKI_NAME_INVALID', 'a tls-server certificate needs at least one DNS name or IP address');
    for (const d of dns) {
      // The services CA carries these as name constraints; refuse here rather than issue what validators reject.
      if (s.serviceDomains.length > 0 && !s.serviceDomains.some((c) => dnsWithin(d, c))) throw new CityTrustError('PKI_NAME_INVALID', `${d} is outside the services CA's name constraints (${s.serviceDomains.join(', ')})`);
    }
    if (device) {
      return {
        ca,
        profile,
        tenant: device.tenant,
        device,
        subject: nameDer([['O', device.tenant], ['OU', profile.name], ['CN', device.id]]),
        subjectText: `CN=${device.id},OU=${profile.name},O=${device.tenant}`,
        sans: { dns, ip, uri: [deviceUrn(device.tenant, device.id), ...siteUrns(profile.name, device)] },
      };
    }
    const cn = dns[0] ?? ip[0] ?? profile.name;
    return { ca, profile, tenant: null, device: null, subject: nameDer([['O', s.organization], ['OU', profile.name], ['CN', cn]]), subjectText: `CN=${cn},OU=${profile.name},O=${s.organization}`, sans: { dns, ip } };
  }

  /** A CSR may ask for nothing, or for names the profile assigns anyway; anything else is refused. */
  #refuseForeignNames(csr: CheckedCsr, sans: SanInput): void {
    if (csr.requestsCa) throw new CityTrustError('PKI_CSR_CA_REQUESTED', 'the CSR asks for CA rights');
    const allowed = new Set(sanStrings(sans));
    const foreign = csr.requestedNames.filter((n) => !allowed.has(n));
    if (foreign.length > 0) throw new CityTrustError('PKI_CSR_SAN_FOREIGN', 'the CSR asks for names this certificate cannot carry', { details: { names: foreign.slice(0, 5) } });
  }

  async #refuseCompromisedKey(keySha256: Uint8Array, publicKey: Uint8Array): Promise<void> {
    const cas = await this.cas.all();
    if (cas.some((c) => Buffer.from(c.publicKey).equals(Buffer.from(publicKey)))) throw new CityTrustError('PKI_CSR_KEY_COMPROMISED', 'the key is a CA key');
    const hit = await this.#d.store.db.selectFrom('pki_certificates').select('serial').where('key_sha256', '=', keySha256).where('reason', '=', 'keyCompromise').limit(1).executeTakeFirst();
    if (hit) throw new CityTrustError('PKI_CSR_KEY_COMPROMISED', 'the key belongs to a certificate revoked for key compromise');
  }

  async #issue(plan: Plan, key: Pick<CheckedCsr, 'spki' | 'publicKey' | 'keySha256'>, actor: string, inTransaction?: (trx: Transaction<Database>) => Promise<void>, keyId?: string): Promise<IssuedCertificate> {
    await this.#refuseCompromisedKey(key.keySha256, key.publicKey);
    const { ca, profile } = plan;
    const now = this.#d.clock.now();
    const notAfter = Math.min(now + profile.validityDays(this.settings) * DAY, ca.notAfter);
    const exts = [
      basicConstraints(false),
      keyUsage(profile.keyUsage),
      extKeyUsage(profile.eku),
      subjectKeyIdentifier(keyIdentifier(key.publicKey)),
      authorityKeyIdentifier(ca.keyIdentifier),
      certificatePolicies([profile.policy]),
    ];
    const sans = sanStrings(plan.sans);
    if (sans.length > 0) exts.push(subjectAltName(plan.sans));
    if (profile.name === 'ocsp-signing') exts.push(ocspNoCheck());
    else exts.push(crlDistributionPoint(this.cas.crlUrl(ca.id)), authorityInfoAccess({ ocsp: this.cas.ocspUrl(), caIssuers: this.cas.caUrl(ca.id) }));
    const serial = randomSerial();
    const der = await buildCertificate({ serial, issuer: ca.subjectDer, subject: plan.subject, notBefore: now - BACKDATE_MS, notAfter, spki: key.spki, extensions: exts }, this.cas.signer(ca, actor));
    const serialText = hex(serial);
    const row: PkiCertificatesTable = {
      serial: serialText,
      ca_id: ca.id,
      tenant_id: plan.tenant,
      device_id: plan.device?.id ?? null,
      profile: profile.name,
      subject: plan.subjectText,
      sans: JSON.stringify(sans),
      not_before: Math.floor((now - BACKDATE_MS) / 1000) * 1000,
      not_after: Math.floor(notAfter / 1000) * 1000,
      key_sha256: key.keySha256,
      fingerprint: new Uint8Array(createHash('sha256').update(der).digest()),
      der,
      status: 'good',
      revoked_at: null,
      reason: null,
      key_id: keyId ?? null,
      created_at: now,
      created_by: actor,
    };
    await this.#writer.write(row, inTransaction);
    // An `unknown` answer may be cached for a serial nobody had; serials are random, but be exact.
    this.ocsp.invalidate(serialText);
    await this.#d.audit.append({ actor, tenant: plan.tenant, action: 'pki.cert.issue', subject: serialText, details: { ca: ca.id, profile: profile.name, device: plan.device?.id ?? null, notAfter: row.not_after, ...(keyId ? { keyId } : {}) } });
    const chainPem = await this.#chainPem(ca.id);
    return {
      serial: serialText,
      caId: ca.id,
      profile: profile.name,
      tenant: plan.tenant,
      deviceId: plan.device?.id ?? null,
      subject: plan.subjectText,
      sans,
      notBefore: row.not_before,
      notAfter: row.not_after,
      der,
      certificatePem: toPem('CERTIFICATE', der),
      chainPem,
    };
  }

  /** PEM of a CA and the CAs above it; a CA id names one certificate forever, so this never goes stale. */
  async #chainPem(caId: string): Promise<string[]> {
    let pems = this.#chainPems.get(caId);
    if (!pems) {
      pems = (await this.cas.chain(caId)).map((c) => toPem('CERTIFICATE', c.certDer));
      this.#chainPems.set(caId, pems);
    }
    return [...pems];
  }

  // ---- lookup ----

  async #row(scope: string | null | undefined, serial: unknown): Promise<PkiCertificatesTable> {
    if (typeof serial !== 'string' || !SERIAL.test(serial.toLowerCase())) throw new CityTrustError('PKI_SERIAL_INVALID', 'a serial number is 2–40 hex digits');
    const r = await this.#d.store.db.selectFrom('pki_certificates').selectAll().where('serial', '=', serial.toLowerCase().replace(/^(00)+(?=..)/, '')).executeTakeFirst();
    // A certificate of another tenant answers exactly like a missing one.
    if (!r || (scope && r.tenant_id !== scope)) throw new CityTrustError('PKI_CERT_NOT_FOUND', 'no such certificate');
    return r;
  }

  async getCertificate(scope: string | null | undefined, serial: unknown): Promise<CertificateInfo> {
    return certificateInfo(await this.#row(scope, serial));
  }

  async listCertificates(scope: string | null | undefined, f: { tenant?: string; deviceId?: string; status?: CertStatus; profile?: string; caId?: string; limit?: number } = {}): Promise<CertificateInfo[]> {
    let q = this.#d.store.db.selectFrom('pki_certificates').selectAll();
    if (scope) q = q.where('tenant_id', '=', scope);
    if (f.tenant) q = q.where('tenant_id', '=', f.tenant);
    if (f.deviceId) q = q.where('device_id', '=', f.deviceId);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.profile) q = q.where('profile', '=', f.profile);
    if (f.caId) q = q.where('ca_id', '=', f.caId);
    const rows = await q.orderBy('created_at', 'desc').orderBy('serial').limit(Math.min(f.limit ?? 100, 1000)).execute();
    return rows.map(certificateInfo);
  }

  /**
   * Maps a TLS client certificate (DER, as the handshake proved possession of its key) to the
   * certificate we issued and its device: exact fingerprint match, status good, within
   * validity, device active.
   */
  async authenticateClient(der: Uint8Array | undefined): Promise<ClientIdentity> {
    if (!der || der.length === 0) throw new CityTrustError('PKI_CLIENT_CERT_REQUIRED', 'a client certificate is required');
    const fp = new Uint8Array(createHash('sha256').update(der).digest());
    const r = await this.#d.store.db.selectFrom('pki_certificates').selectAll().where('fingerprint', '=', fp).executeTakeFirst();
    if (!r) throw new CityTrustError('PKI_CLIENT_CERT_UNKNOWN', 'the client certificate was not issued here');
    if (r.status !== 'good') throw new CityTrustError('PKI_CLIENT_CERT_REVOKED', 'the client certificate is revoked or on hold');
    const now = this.#d.clock.now();
    if (now >= Number(r.not_after) || now < Number(r.not_before)) throw new CityTrustError('PKI_CLIENT_CERT_EXPIRED', 'the client certificate is outside its validity');
    const id: ClientIdentity = { serial: r.serial, tenant: r.tenant_id, deviceId: r.device_id, profile: r.profile as ProfileName };
    if (r.tenant_id !== null && r.device_id !== null) {
      const device = await this.#d.devices.get(r.tenant_id, r.tenant_id, r.device_id);
      if (device.state !== 'active') throw new CityTrustError('DEVICE_NOT_ACTIVE', `the device is ${device.state}`);
      return { ...id, device };
    }
    return id;
  }

  // ---- revocation ----

  async revoke(scope: string | null | undefined, serial: unknown, reason: unknown, actor: string): Promise<CertificateInfo> {
    const r = typeof reason === 'string' ? reason : 'unspecified';
    if (!(OPERATOR_REASONS as readonly string[]).includes(r)) throw new CityTrustError('PKI_REVOCATION_REASON_INVALID', `reason must be one of ${OPERATOR_REASONS.join(', ')}`);
    const row = await this.#row(scope, serial);
    if (row.status === 'revoked') throw new CityTrustError('PKI_CERT_ALREADY_REVOKED', 'the certificate is already revoked');
    const now = this.#d.clock.now();
    const u = await this.#d.store.db
      .updateTable('pki_certificates')
      .set({ status: 'revoked', revoked_at: row.status === 'hold' && row.revoked_at !== null ? Number(row.revoked_at) : now, reason: r })
      .where('serial', '=', row.serial)
      .where('status', '!=', 'revoked')
      .executeTakeFirst();
    if (Number(u.numUpdatedRows) !== 1) throw new CityTrustError('PKI_CERT_ALREADY_REVOKED', 'the certificate is already revoked');
    await this.#afterStatusChange([{ serial: row.serial, caId: row.ca_id }]);
    await this.#d.audit.append({ actor, tenant: row.tenant_id, action: 'pki.cert.revoke', subject: row.serial, details: { reason: r, ca: row.ca_id, device: row.device_id } });
    return this.getCertificate(scope, row.serial);
  }

  async #afterStatusChange(changed: readonly { serial: string; caId: string }[]): Promise<void> {
    const cas = new Set<string>();
    for (const c of changed) {
      this.ocsp.invalidate(c.serial);
      cas.add(c.caId);
    }
    // Publish at once: the answer to a revocation means the CRL already lists it.
    for (const ca of cas) {
      this.crls.invalidate(ca);
      await this.crls.crl(ca).catch((e: unknown) => this.#d.logger?.warn({ err: e, ca }, 'CRL regeneration failed; it is retried on the next fetch'));
    }
  }

  /** DeviceCertificateHooks: compromised → revoke (keyCompromise), retired → revoke (cessationOfOperation), suspended → hold, active → release hold. */
  async applyDeviceState(trx: Transaction<Database>, device: Device, to: DeviceState, actor: string): Promise<() => Promise<void>> {
    const now = this.#d.clock.now();
    const base = trx.selectFrom('pki_certificates').select(['serial', 'ca_id', 'status']).where('tenant_id', '=', device.tenant).where('device_id', '=', device.id);
    let rows: { serial: string; ca_id: string; status: string }[] = [];
    let reason: RevocationReason | null = null;
    if (to === 'compromised' || to === 'retired') {
      reason = to === 'compromised' ? 'keyCompromise' : 'cessationOfOperation';
      rows = await base.where('status', '!=', 'revoked').execute();
      if (rows.length > 0) {
        await trx.updateTable('pki_certificates').set({ status: 'revoked', revoked_at: now, reason }).where('tenant_id', '=', device.tenant).where('device_id', '=', device.id).where('status', '!=', 'revoked').execute();
      }
    } else if (to === 'suspended') {
      reason = 'certificateHold';
      rows = await base.where('status', '=', 'good').where('not_after', '>', now).execute();
      if (rows.length > 0) {
        await trx.updateTable('pki_certificates').set({ status: 'hold', revoked_at: now, reason }).where('tenant_id', '=', device.tenant).where('device_id', '=', device.id).where('status', '=', 'good').where('not_after', '>', now).execute();
      }
    } else if (to === 'active') {
      rows = await base.where('status', '=', 'hold').execute();
      if (rows.length > 0) {
        await trx.updateTable('pki_certificates').set({ status: 'good', revoked_at: null, reason: null }).where('tenant_id', '=', device.tenant).where('device_id', '=', device.id).where('status', '=', 'hold').execute();
      }
    }
    return async () => {
      await this.#afterStatusChange(rows.map((r) => ({ serial: r.serial, caId: r.ca_id })));
      for (const r of rows) {
        await this.#d.audit.append({ actor, tenant: device.tenant, action: to === 'active' ? 'pki.cert.release' : to === 'suspended' ? 'pki.cert.hold' : 'pki.cert.revoke', subject: r.serial, details: { reason, device: device.id, deviceState: to } });
      }
    };
  }

  // ---- CRL and OCSP ----

  async crl(caId: string): Promise<{ der: Uint8Array; thisUpdate: number; nextUpdate: number; number: number }> {
    return this.crls.crl(caId);
  }

  async ocspRespond(der: Uint8Array): Promise<OcspAnswer> {
    return this.ocsp.respond(der);
  }

  /** The delegated responder of a CA (RFC 6960 §4.2.2.2), issued on first use and renewed at two thirds of its life. */
  async #ocspSigner(ca: CaRecord): Promise<OcspSigner> {
    const now = this.#d.clock.now();
    const have = this.#ocspSigners.get(ca.id);
    const fresh = (notBefore: number, notAfter: number) => now < notBefore + ((notAfter - notBefore) * 2) / 3;
    if (have && fresh(have.notBefore, have.notAfter)) return have;
    let p = this.#ocspSignerInflight.get(ca.id);
    if (!p) {
      p = this.#loadOrIssueOcspSigner(ca, fresh).finally(() => this.#ocspSignerInflight.delete(ca.id));
      this.#ocspSignerInflight.set(ca.id, p);
    }
    return p;
  }

  async #loadOrIssueOcspSigner(ca: CaRecord, fresh: (nb: number, na: number) => boolean): Promise<TimedSigner> {
    const caller = { actor: 'system:pki', tenant: null };
    const rows = await this.#d.store.db.selectFrom('pki_certificates').selectAll().where('ca_id', '=', ca.id).where('profile', '=', 'ocsp-signing').where('status', '=', 'good').orderBy('not_after', 'desc').limit(1).execute();
    let row = rows[0];
    if (!row || row.key_id === null || !fresh(Number(row.not_before), Number(row.not_after))) {
      const key = await this.#d.vault.createKey(caller, { type: ca.keyType, label: `pki ocsp signer ${ca.id}` });
      const pub = await this.#d.vault.publicKey(caller, key.id);
      const publicKey = spkiPublicKey(pub.spki);
      const s = this.settings;
      const plan: Plan = {
        ca,
        profile: PROFILE_TABLE['ocsp-signing'],
        tenant: null,
        device: null,
        subject: nameDer([['O', s.organization], ['OU', 'ocsp-signing'], ['CN', `OCSP responder ${ca.id}`]]),
        subjectText: `CN=OCSP responder ${ca.id},OU=ocsp-signing,O=${s.organization}`,
        sans: {},
      };
      const issued = await this.#issue(plan, { spki: pub.spki, publicKey, keySha256: new Uint8Array(createHash('sha256').update(pub.spki).digest()) }, 'system:pki', undefined, key.id);
      row = await this.#d.store.db.selectFrom('pki_certificates').selectAll().where('serial', '=', issued.serial).executeTakeFirstOrThrow();
      this.ocsp.clear();
    }
    const der = new Uint8Array(row.der);
    const f = certFields(der);
    const signer = { certDer: der, keyHash: responderKeyHash(f.publicKey), signer: vaultSigner(this.#d.vault, caller, row.key_id!, ca.keyType), notBefore: f.notBefore, notAfter: f.notAfter };
    this.#ocspSigners.set(ca.id, signer);
    return signer;
  }

  // ---- the server's own TLS ----

  /**
   * A tls-server certificate for this server from the services CA. Node's TLS stack needs
   * the leaf key in process memory, so it is generated here, held only in memory, certified
   * for `serviceCertDays` at most, and replaced at each renewal (`citytrust serve --tls`
   * renews at two thirds of the lifetime). CA keys never leave the vault.
   */
  async serverTls(names: readonly string[], actor = 'system:pki'): Promise<ServerTlsCredentials> {
    const dns = names.filter((n) => !/^\d+\.\d+\.\d+\.\d+$/.test(n));
    const ips = names.filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n));
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const plan = await this.#plan(PROFILE_TABLE['tls-server'], null, dns, ips);
    const issued = await this.#issue(plan, { spki, publicKey: spkiPublicKey(spki), keySha256: new Uint8Array(createHash('sha256').update(spki).digest()) }, actor);
    const bundle = await this.trustBundle();
    return {
      keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      certPem: issued.certificatePem + issued.chainPem[0]!,
      caPem: bundle.map((d) => toPem('CERTIFICATE', d)).join(''),
      serial: issued.serial,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
    };
  }

  /** Re-signs stale CRLs (the server calls this on a timer). */
  async refresh(): Promise<void> {
    const now = this.#d.clock.now();
    for (const ca of await this.cas.all()) if (ca.notAfter > now) await this.crls.crl(ca.id);
  }
}


/** Site ids that can stand in a URN and a resource path; a site outside this alphabet gets no site binding. */
const SITE_ID = /^[A-Za-z0-9._~-]{1,64}$/;

/**
 * Readers and gates also carry `urn:citytrust:site:<tenant>:<site>`: wallets check it before
 * revealing anything, so a reader certified for one site cannot ask for another site's
 * credentials. Only a registry site that is a plain id is bound; it is never rewritten into
 * one, because two free-text sites folding to the same id would merge their readers.
 */
function siteUrns(profile: string, device: { tenant: string; site: string }): string[] {
  if (profile !== 'reader' && profile !== 'gate') return [];
  return SITE_ID.test(device.site) ? [`urn:citytrust:site:${device.tenant}:${device.site}`] : [];
}
