/**
 * Install reports (docs/updates.md, "Install reports"): after installing, a device tells the
 * server what it runs, in a message signed by its own certificate key. The server checks the
 * signature against the device's current certificates (allow-list: P-256 → ES256 over IEEE
 * P1363 r‖s, Ed25519 → EdDSA; the `alg` field must agree with the key, never chooses it),
 * checks the device in the registry, refuses replays by sequence number, records the versions
 * and writes the audit log.
 */
import { createPublicKey, verify as cryptoVerify, X509Certificate, type KeyObject } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import { fromBase64Url } from '../core/bytes.ts';
import type { AuditSink } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import { reportBytes, type InstallReport } from './client.ts';
import { ARTIFACT_NAME, isVersion } from './names.ts';
import { obj } from './validate.ts';
import { DEVICE_TYPES } from '../pki/profiles.ts';

/** What the registry tells about a device (src/devices `Devices.get` fits). */
export interface DeviceDirectory {
  get(scope: string | null | undefined, tenant: string, id: string): Promise<{ readonly state: string; readonly type: string; readonly site: string }>;
}

/** The device's current certificate keys (src/pki `Pki.listCertificates` fits `pkiDeviceKeys`). */
export interface DeviceKeys {
  currentKeys(tenant: string, deviceId: string, now: number): Promise<KeyObject[]>;
}

export function pkiDeviceKeys(pki: { listCertificates(scope: string | null | undefined, f: { tenant?: string; deviceId?: string; status?: 'good' }): Promise<{ notBefore: number; notAfter: number; certificatePem: string }[]> }): DeviceKeys {
  return {
    async currentKeys(tenant, deviceId, now) {
      const certs = await pki.listCertificates(null, { tenant, deviceId, status: 'good' });
      return certs.filter((c) => c.notBefore <= now && now <= c.notAfter).map((c) => new X509Certificate(c.certificatePem).publicKey);
    },
  };
}

export interface InstalledVersion {
  name: string;
  repo: string;
  deviceClass: string;
  version: string;
  target: string;
  sha256: string;
  reportedAt: number;
  receivedAt: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

function parse(body: unknown, repoId: string): { report: InstallReport; alg: 'ES256' | 'EdDSA'; signature: Uint8Array } {
  const bad = (why: string): never => {
    throw new CityTrustError('UPDATE_REPORT_INVALID', `the install report is malformed: ${why}`);
  };
  const b = obj(body, 'the report body');
  const r = obj(b.report, 'report');
  if (b.alg !== 'ES256' && b.alg !== 'EdDSA') bad('alg is ES256 or EdDSA');
  if (typeof b.signature !== 'string') bad('signature is base64url');
  let signature: Uint8Array = new Uint8Array(0);
  try {
    signature = fromBase64Url(b.signature as string);
  } catch {
    bad('signature is base64url');
  }
  if (r._type !== 'citytrust.update-report.v1') bad('_type');
  for (const f of ['tenant', 'device', 'repo', 'deviceClass'] as const) if (typeof r[f] !== 'string' || (r[f] as string).length > 100) bad(f);
  if (r.repo !== repoId) bad('the report names another repository');
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1) bad('seq');
  if (!Number.isSafeInteger(r.at) || (r.at as number) < 0) bad('at');
  const inst = obj(r.installed, 'installed');
  if (Object.keys(inst).length > 32) bad('too many artifacts');
  for (const [n, a0] of Object.entries(inst)) {
    const a = obj(a0, 'an installed artifact');
    if (!ARTIFACT_NAME.test(n) || !isVersion(a.version) || typeof a.target !== 'string' || a.target.length > 300 || typeof a.sha256 !== 'string' || !HEX64.test(a.sha256) || Object.keys(a).length !== 3) bad(`installed.${n}`);
  }
  if (Object.keys(r).length !== 8) bad('unexpected fields');
  return { report: r as unknown as InstallReport, alg: b.alg as 'ES256' | 'EdDSA', signature };
}

function verifyWith(key: KeyObject, alg: 'ES256' | 'EdDSA', data: Uint8Array, sig: Uint8Array): boolean {
  try {
    if (key.asymmetricKeyType === 'ed25519') return alg === 'EdDSA' && cryptoVerify(null, data, key, sig);
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return alg === 'ES256' && sig.length === 64 && cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
  return false;
}

export class InstallReports {
  readonly #store: Store;
  readonly #audit: AuditSink;
  readonly #clock: Clock;
  readonly #devices: DeviceDirectory;
  readonly #keys: DeviceKeys;

  constructor(deps: { store: Store; audit: AuditSink; clock: Clock; devices: DeviceDirectory; keys: DeviceKeys }) {
    this.#store = deps.store;
    this.#audit = deps.audit;
    this.#clock = deps.clock;
    this.#devices = deps.devices;
    this.#keys = deps.keys;
  }

  async receive(repoId: string, body: unknown): Promise<{ accepted: true; seq: number }> {
    const { report, alg, signature } = parse(body, repoId);
    const repo = await this.#store.db.selectFrom('update_repos').select(['tenant_id', 'device_classes']).where('id', '=', repoId).executeTakeFirst();
    if (!repo || repo.tenant_id !== report.tenant) throw new CityTrustError('UPDATE_REPO_NOT_FOUND', 'no such update repository');
    if (!(JSON.parse(repo.device_classes) as string[]).includes(report.deviceClass)) throw new CityTrustError('UPDATE_DEVICE_CLASS_UNKNOWN', 'the repository does not serve this device class');
    const device = await this.#devices.get(null, report.tenant, report.device);
    if (device.state !== 'active') throw new CityTrustError('DEVICE_NOT_ACTIVE', 'the device is not active');
    // A class named like a registry device type must be the device's own type (a reader does not report as a gate).
    if ((DEVICE_TYPES as readonly string[]).includes(report.deviceClass) && report.deviceClass !== device.type) {
      throw new CityTrustError('UPDATE_REPORT_INVALID', `the report names device class ${report.deviceClass}, but ${report.device} is a ${device.type}`);
    }
    const now = this.#clock.now();
    const data = reportBytes(report);
    const keys = await this.#keys.currentKeys(report.tenant, report.device, now);
    if (!keys.some((k) => verifyWith(k, alg, data, signature))) throw new CityTrustError('UPDATE_REPORT_SIGNATURE_INVALID', 'the report is not signed by a current certificate key of the device');
    await this.#store.transaction(async (trx) => {
      const last = await trx.selectFrom('update_device_reports').select('last_seq').where('tenant_id', '=', report.tenant).where('device_id', '=', report.device).executeTakeFirst();
      if (last && Number(last.last_seq) >= report.seq) throw new CityTrustError('UPDATE_REPORT_REPLAYED', `report ${report.seq} is not above the last accepted (${last.last_seq})`);
      if (last) {
        const u = await trx.updateTable('update_device_reports').set({ last_seq: report.seq, received_at: now }).where('tenant_id', '=', report.tenant).where('device_id', '=', report.device).where('last_seq', '=', last.last_seq).executeTakeFirst();
        if (Number(u.numUpdatedRows) !== 1) throw new CityTrustError('UPDATE_REPORT_REPLAYED', 'another report of this device was accepted meanwhile');
      } else {
        await trx.insertInto('update_device_reports').values({ tenant_id: report.tenant, device_id: report.device, last_seq: report.seq, received_at: now }).execute();
      }
      for (const [name, a] of Object.entries(report.installed)) {
        const row = { tenant_id: report.tenant, device_id: report.device, name, repo_id: repoId, device_class: report.deviceClass, version: a.version, target_path: a.target, sha256: a.sha256, seq: report.seq, reported_at: report.at, received_at: now };
        await trx.deleteFrom('update_device_versions').where('tenant_id', '=', report.tenant).where('device_id', '=', report.device).where('name', '=', name).execute();
        await trx.insertInto('update_device_versions').values(row).execute();
      }
      // The device registry carries the installed versions too (one source for the console,
      // `citytrust device show` and the API), written in the same transaction as the report.
      const dev = await trx.selectFrom('devices').select('firmware').where('tenant_id', '=', report.tenant).where('id', '=', report.device).executeTakeFirst();
      const firmware = { ...(JSON.parse(dev?.firmware ?? '{}') as Record<string, string>), ...Object.fromEntries(Object.entries(report.installed).map(([n, a]) => [n, a.version])) };
      await trx.updateTable('devices').set({ firmware: JSON.stringify(firmware), firmware_reported_at: now }).where('tenant_id', '=', report.tenant).where('id', '=', report.device).execute();
    });
    const versions = Object.fromEntries(Object.entries(report.installed).map(([n, a]) => [n, a.version]));
    await this.#audit.append({ actor: `device:${report.device}`, tenant: report.tenant, action: 'updates.device.report', subject: report.device, details: { repo: repoId, seq: report.seq, installed: versions } });
    return { accepted: true, seq: report.seq };
  }

  /** What a device last reported, per artifact (tenant-scoped: a foreign device answers DEVICE_NOT_FOUND). */
  async installed(scope: string | null, tenant: string, deviceId: string): Promise<InstalledVersion[]> {
    await this.#devices.get(scope, tenant, deviceId);
    const rows = await this.#store.db.selectFrom('update_device_versions').selectAll().where('tenant_id', '=', tenant).where('device_id', '=', deviceId).orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, repo: r.repo_id, deviceClass: r.device_class, version: r.version, target: r.target_path, sha256: r.sha256, reportedAt: Number(r.reported_at), receivedAt: Number(r.received_at) }));
  }
}

/** Test and simulator helper: a DeviceKeys over fixed SPKI keys. */
export function staticDeviceKeys(map: Record<string, Uint8Array[]>): DeviceKeys {
  return {
    async currentKeys(tenant, id) {
      return (map[`${tenant}/${id}`] ?? []).map((spki) => createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
    },
  };
}
