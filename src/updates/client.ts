/**
 * The device updater for readers, gates and meters (docs/updates.md, "Device side"). It runs
 * the TUF client workflow with tuf-js from a root shipped at enrolment, reads the signed
 * release channel of its device class, and installs an image or data bundle only when:
 *
 *   - every metadata file verified (signatures, thresholds, versions, expiry: tuf-js, §5),
 *   - every key in root and delegations is on our allow-list (ed25519, ecdsa-sha2-nistp256),
 *   - the target is signed by the role delegated for this class and is for this class,
 *   - its version is newer than the installed one (never back), the bootloader suffices,
 *   - the downloaded bytes match the signed length and hash.
 *
 * Each refusal is a CityTrustError whose code says why. Device-side: imports no server code.
 */
import { mkdir, readFile, rename, writeFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Updater, type Fetcher, type TargetFile } from 'tuf-js';
import { DefaultFetcher } from 'tuf-js/dist/fetcher.js';
import type { Clock } from '../core/clock.ts';
import { systemClock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import { canonicalJson } from '../core/canonical-json.ts';
import { toBase64Url } from '../core/bytes.ts';
import { parseTufKey } from './keys.ts';
import { countValidSignatures, canonicalBytes, parseMetadataFile, type RoleKeys } from './metadata.ts';
import { channelPath, compareVersions, inRollout, isVersion } from './names.ts';
import { parseChannel, type ChannelRelease } from './channel.ts';
import { classifyTargetError, classifyTufError } from './client-errors.ts';
import type { TufPublicKey } from './keys.ts';

export interface DeviceIdentity {
  readonly tenant: string;
  readonly id: string;
  readonly deviceClass: string;
  /** The device's site (rollouts may name sites first). */
  readonly site?: string;
  /** Installed bootloader version (images may require a minimum). */
  readonly bootloader?: string;
}

export interface InstalledArtifact {
  readonly version: string;
  readonly target: string;
  readonly sha256: string;
  readonly at: number;
}

/** Signs install reports with the device's own key (its certificate key), e.g. in its secure element. */
export interface ReportSigner {
  readonly alg: 'ES256' | 'EdDSA';
  /** ES256: r ‖ s (64 bytes, IEEE P1363); EdDSA: the 64-byte Ed25519 signature. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export interface InstallReport {
  readonly _type: 'citytrust.update-report.v1';
  readonly tenant: string;
  readonly device: string;
  readonly repo: string;
  readonly deviceClass: string;
  /** Strictly increasing per device; the server accepts each number once. */
  readonly seq: number;
  /** Device time (ms since the epoch). */
  readonly at: number;
  readonly installed: Readonly<Record<string, { readonly version: string; readonly target: string; readonly sha256: string }>>;
}

export interface SignedReport {
  readonly report: InstallReport;
  readonly alg: 'ES256' | 'EdDSA';
  /** base64url of the signature over the canonical JSON of `report`. */
  readonly signature: string;
}

export type Decision =
  | { readonly name: string; readonly action: 'install'; readonly version: string; readonly from: string | null }
  | { readonly name: string; readonly action: 'up-to-date' | 'halted' | 'not-in-rollout'; readonly version: string; readonly installed: string | null }
  | { readonly name: string; readonly action: 'none' };

export interface DeviceUpdaterOptions {
  /** Server base URL, e.g. https://updates.city.example */
  readonly server: string;
  readonly repo: string;
  /** Persistent directory of the updater (metadata, downloads, installed artifacts, state). */
  readonly dir: string;
  readonly device: DeviceIdentity;
  /** Transport for tuf-js (tests serve in process); default HTTP with a timeout. */
  readonly fetcher?: Fetcher;
  /** Largest image the device accepts whatever the metadata says (default 64 MiB). */
  readonly maxTargetBytes?: number;
  /** Applies an artifact (flash, swap, reload config). Default: keeps the file in dir/installed/<name>. */
  readonly install?: (name: string, file: string, artifact: InstalledArtifact) => Promise<void>;
  readonly clock?: Clock;
}

interface State {
  installed: Record<string, InstalledArtifact>;
  seq: number;
}

/** Keys of a root or delegations object, checked against the allow-list before tuf-js trusts them. */
function checkKeys(keys: unknown, where: string): void {
  if (keys === null || typeof keys !== 'object') throw new CityTrustError('UPDATE_METADATA_MALFORMED', `${where} has no keys object`);
  for (const [id, k] of Object.entries(keys)) {
    try {
      parseTufKey(k);
    } catch (e) {
      if (e instanceof CityTrustError) throw new CityTrustError(e.code, `${where}: key ${id.slice(0, 16)}…: ${e.message}`, { cause: e });
      throw e;
    }
  }
}

/**
 * Wraps the transport: every metadata file that declares keys (root, targets with
 * delegations) is checked against the allow-list before tuf-js sees it. tuf-js itself would
 * accept RSA and P-384 keys; a device accepts only what the platform signs with.
 */
class AllowListFetcher implements Fetcher {
  readonly #inner: Fetcher;
  constructor(inner: Fetcher) {
    this.#inner = inner;
  }
  downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    return this.#inner.downloadFile(url, maxLength, handler);
  }
  async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    const bytes = await this.#inner.downloadBytes(url, maxLength);
    inspectMetadata(url, bytes);
    return bytes;
  }
}

function inspectMetadata(url: string, bytes: Uint8Array): void {
  let doc: { signed?: { _type?: unknown; keys?: unknown; delegations?: { keys?: unknown } } };
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof doc;
  } catch {
    return; // tuf-js refuses it as malformed, with its own reason
  }
  const s = doc?.signed;
  if (!s || typeof s !== 'object') return;
  const name = url.slice(url.lastIndexOf('/') + 1);
  if (s._type === 'root') checkKeys(s.keys, name);
  if (s._type === 'targets' && s.delegations) checkKeys(s.delegations.keys, name);
}

export class DeviceUpdater {
  readonly #o: DeviceUpdaterOptions;
  readonly #clock: Clock;
  readonly #fetcher: Fetcher;

  constructor(o: DeviceUpdaterOptions) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#fetcher = new AllowListFetcher(o.fetcher ?? new DefaultFetcher({ timeout: 30_000, retry: 2 }));
  }

  get #metaDir(): string {
    return join(this.#o.dir, 'metadata');
  }

  /**
   * Enrolment: stores the trusted root shipped with the device. It must be a root signed by its
   * own threshold with allowed keys only (TUF §5.2: the first root is trusted as shipped, so
   * this is the one moment a wrong file could slip in).
   */
  static async enrol(dir: string, trustedRoot: Uint8Array): Promise<void> {
    const { signed, signatures } = parseMetadataFile(trustedRoot, 'root');
    checkKeys(signed.keys, 'root.json');
    const role = (signed.roles as Record<string, RoleKeys> | undefined)?.root;
    if (!role || !Array.isArray(role.keyids) || !Number.isSafeInteger(role.threshold) || role.threshold < 1) throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'root.json has no root role');
    if (countValidSignatures(canonicalBytes(signed), signatures, signed.keys as Record<string, TufPublicKey>, role) < role.threshold) {
      throw new CityTrustError('UPDATE_THRESHOLD_NOT_MET', 'root.json is not signed by the threshold of its own root keys');
    }
    await mkdir(join(dir, 'metadata'), { recursive: true });
    await atomicWrite(join(dir, 'metadata', 'root.json'), trustedRoot);
  }

  #updater(): Updater {
    if (!existsSync(join(this.#metaDir, 'root.json'))) throw new CityTrustError('UPDATE_NOT_ENROLLED', 'the device has no trusted root; enrol it with the root.json of its repository');
    const base = `${this.#o.server.replace(/\/+$/, '')}/updates/${encodeURIComponent(this.#o.repo)}`;
    return new Updater({
      metadataDir: this.#metaDir,
      metadataBaseUrl: `${base}/metadata`,
      targetBaseUrl: `${base}/targets`,
      targetDir: join(this.#o.dir, 'downloads'),
      fetcher: this.#fetcher,
      // Tight bounds against endless-data on metadata (§5.4.1 "some upper limit").
      config: { timestampMaxLength: 16_384, rootMaxLength: 512_000, snapshotMaxLength: 2_000_000, targetsMaxLength: 5_000_000, maxRootRotations: 32, maxDelegations: 32 },
    });
  }

  async #refresh(): Promise<Updater> {
    const u = this.#updater();
    try {
      await u.refresh();
    } catch (e) {
      throw classifyTufError(e, 'refresh');
    }
    await this.#checkExpiry(['root', 'timestamp', 'snapshot', 'targets']);
    return u;
  }

  /**
   * tuf-js judges expiry by the system clock (`new Date()`, its §5.1 reference time). A device
   * that keeps its own time (an RTC, a time source it trusts: the injected clock) must refuse
   * metadata expired by *that* time too, or a device whose system clock lags could be frozen.
   * So after tuf-js verified and persisted the metadata, we check each trusted file's expiry
   * against the injected clock as well (TUF §5.3.10, §5.4.4, §5.5.6, §5.6.6).
   */
  async #checkExpiry(roles: readonly string[]): Promise<void> {
    const now = this.#clock.now();
    for (const role of roles) {
      let expires: unknown;
      try {
        const doc = JSON.parse(await readFile(join(this.#metaDir, `${role}.json`), 'utf8')) as { signed?: { expires?: unknown } };
        expires = doc.signed?.expires;
      } catch {
        continue; // not loaded in this check (a delegated role not consulted)
      }
      const at = typeof expires === 'string' ? Date.parse(expires) : Number.NaN;
      if (!Number.isFinite(at)) throw new CityTrustError('UPDATE_METADATA_MALFORMED', `${role}.json has no valid expiry`);
      if (at <= now) {
        throw new CityTrustError('UPDATE_METADATA_EXPIRED', `${role}.json expired at ${expires as string} by the device clock (freeze); nothing was installed`, { details: { stage: role } });
      }
    }
  }

  /** The delegated roles the trusted targets metadata consults for `path` (to check their expiry too). */
  async #delegatedRoles(path: string): Promise<string[]> {
    const matches = (p: unknown): boolean => typeof p === 'string' && (p.endsWith('/*') ? path.startsWith(p.slice(0, -1)) && !path.slice(p.length - 1).includes('/') : p === path);
    try {
      const doc = JSON.parse(await readFile(join(this.#metaDir, 'targets.json'), 'utf8')) as { signed?: { delegations?: { roles?: { name?: unknown; paths?: unknown }[] } } };
      return (doc.signed?.delegations?.roles ?? [])
        .filter((r) => Array.isArray(r.paths) && r.paths.some(matches))
        .map((r) => r.name)
        .filter((n): n is string => typeof n === 'string' && /^[a-z][a-z0-9-]{1,62}$/.test(n));
    } catch {
      return [];
    }
  }

  async #state(): Promise<State> {
    try {
      const s = JSON.parse(await readFile(join(this.#o.dir, 'state.json'), 'utf8')) as State;
      return { installed: s.installed ?? {}, seq: Number.isSafeInteger(s.seq) ? s.seq : 0 };
    } catch {
      return { installed: {}, seq: 0 };
    }
  }

  async installed(): Promise<Record<string, InstalledArtifact>> {
    return (await this.#state()).installed;
  }

  async #download(u: Updater, info: TargetFile): Promise<string> {
    await mkdir(join(this.#o.dir, 'downloads'), { recursive: true });
    const file = join(this.#o.dir, 'downloads', `${randomBytes(8).toString('hex')}.part`);
    try {
      // tuf-js streams at most info.length bytes and checks length and hashes before copying (§5.7.3).
      await u.downloadTarget(info, file);
    } catch (e) {
      await rm(file, { force: true });
      throw classifyTargetError(e);
    }
    return file;
  }

  async #targetInfo(u: Updater, path: string): Promise<TargetFile | undefined> {
    let info: TargetFile | undefined;
    try {
      info = await u.getTargetInfo(path);
    } catch (e) {
      throw classifyTufError(e, `targets for ${path}`);
    }
    // A delegated role consulted for this path is as fresh as the device clock says, too.
    const cls = this.#o.device.deviceClass;
    if (path.startsWith(`images/${cls}/`)) await this.#checkExpiry(await this.#delegatedRoles(path));
    return info;
  }

  async #channel(u: Updater): Promise<Readonly<Record<string, ChannelRelease>>> {
    const path = channelPath(this.#o.device.deviceClass);
    const info = await this.#targetInfo(u, path);
    if (!info) return {};
    const file = await this.#download(u, info);
    try {
      return parseChannel(await readFile(file), this.#o.device.deviceClass).releases;
    } finally {
      await rm(file, { force: true });
    }
  }

  #decide(name: string, r: ChannelRelease | undefined, have: InstalledArtifact | undefined): Decision {
    if (!r) return { name, action: 'none' };
    const installed = have?.version ?? null;
    if (have && compareVersions(r.version, have.version) === 0) return { name, action: 'up-to-date', version: r.version, installed };
    if (r.rollout.state === 'halted') return { name, action: 'halted', version: r.version, installed };
    if (!inRollout(`${this.#o.device.deviceClass}/${name}/${r.version}`, this.#o.device.id, r.rollout.percent, r.rollout.sites, this.#o.device.site)) {
      return { name, action: 'not-in-rollout', version: r.version, installed };
    }
    return { name, action: 'install', version: r.version, from: installed };
  }

  /** Refreshes metadata and says, per released artifact, what the device would do. */
  async check(): Promise<Decision[]> {
    const u = await this.#refresh();
    const channel = await this.#channel(u);
    const st = await this.#state();
    return Object.keys(channel)
      .sort()
      .map((n) => this.#decide(n, channel[n], st.installed[n]));
  }

  /**
   * Updates one artifact (`firmware`, `config`, `trust-list`, …) to its released version when
   * the rollout includes this device. Throws with the reason on any refusal; nothing is
   * installed then.
   */
  async update(name = 'firmware'): Promise<Decision> {
    const u = await this.#refresh();
    const channel = await this.#channel(u);
    const st = await this.#state();
    const r = channel[name];
    const d = this.#decide(name, r, st.installed[name]);
    if (d.action !== 'install' || !r) return d;
    const have = st.installed[name];
    // Never back: a signed release older than what runs here is refused, whoever signed it.
    if (have && compareVersions(r.version, have.version) < 0) {
      throw new CityTrustError('UPDATE_VERSION_ROLLBACK', `the release ${r.version} of ${name} is older than the installed ${have.version}; devices never go back`);
    }
    await this.#installTarget(u, name, r.target, r.version);
    return d;
  }

  /**
   * Installs one target path as `name` (what `update` does after reading the channel; exposed
   * for data bundles pushed by path). The path must be in signed metadata.
   */
  async installTarget(name: string, path: string): Promise<InstalledArtifact> {
    const u = await this.#refresh();
    return this.#installTarget(u, name, path, undefined);
  }

  async #installTarget(u: Updater, name: string, path: string, expectVersion: string | undefined): Promise<InstalledArtifact> {
    const cls = this.#o.device.deviceClass;
    const isImage = path.startsWith(`images/${cls}/`);
    if (!isImage && !path.startsWith(`data/${cls}/`)) throw new CityTrustError('UPDATE_TARGET_WRONG_CLASS', `${path} is not an image or data bundle of device class ${cls}`);
    const info = await this.#targetInfo(u, path);
    if (!info) {
      // tuf-js consults only roles delegated for the path (§5.6.7.2), so an image signed by a
      // manufacturer for another class is invisible here: that is the refusal.
      if (isImage && expectVersion !== undefined) throw new CityTrustError('UPDATE_TARGET_NOT_DELEGATED', `the release names ${path}, but no role delegated for images/${cls}/* signed it`);
      throw new CityTrustError('UPDATE_TARGET_UNKNOWN', `${path} is not in signed metadata (arbitrary software); nothing was installed`);
    }
    const custom = (info.custom ?? {}) as Record<string, unknown>;
    if (custom.deviceClass !== cls) throw new CityTrustError('UPDATE_TARGET_WRONG_CLASS', `${path} is signed for device class ${String(custom.deviceClass)}, not ${cls}`);
    const version = custom.version;
    if (!isVersion(version) || (expectVersion !== undefined && compareVersions(version, expectVersion) !== 0)) {
      throw new CityTrustError('UPDATE_METADATA_MISMATCH', `${path} is signed as version ${String(version)}, the release says ${String(expectVersion)}`);
    }
    const st = await this.#state();
    const have = st.installed[name];
    if (have && compareVersions(version, have.version) <= 0) {
      if (compareVersions(version, have.version) < 0) throw new CityTrustError('UPDATE_VERSION_ROLLBACK', `${path} is version ${version}, older than the installed ${have.version}; devices never go back`);
      return have;
    }
    const minBoot = custom.minBootloader;
    if (minBoot !== undefined && (!isVersion(minBoot) || this.#o.device.bootloader === undefined || compareVersions(this.#o.device.bootloader, minBoot) < 0)) {
      throw new CityTrustError('UPDATE_BOOTLOADER_TOO_OLD', `${path} needs bootloader ${String(minBoot)}; this device has ${this.#o.device.bootloader ?? 'an unknown one'}`);
    }
    const limit = this.#o.maxTargetBytes ?? 64 * 1024 * 1024;
    if (info.length > limit) throw new CityTrustError('UPDATE_TARGET_TOO_LARGE', `${path} is ${info.length} bytes, above the device limit of ${limit}`);
    const file = await this.#download(u, info);
    const sha256 = createHash('sha256').update(await readFile(file)).digest('hex');
    const artifact: InstalledArtifact = { version, target: path, sha256, at: this.#clock.now() };
    try {
      if (this.#o.install) await this.#o.install(name, file, artifact);
      else {
        await mkdir(join(this.#o.dir, 'installed'), { recursive: true });
        await rename(file, join(this.#o.dir, 'installed', name));
      }
    } finally {
      await rm(file, { force: true });
    }
    const next = await this.#state();
    next.installed[name] = artifact;
    await atomicWrite(join(this.#o.dir, 'state.json'), Buffer.from(JSON.stringify(next)));
    return artifact;
  }

  /** The signed install report for the server (POST /updates/<repo>/reports). */
  async report(signer: ReportSigner): Promise<SignedReport> {
    const st = await this.#state();
    st.seq += 1;
    // Persist the sequence number first: a crash after signing must not reuse it.
    await atomicWrite(join(this.#o.dir, 'state.json'), Buffer.from(JSON.stringify(st)));
    const installed: Record<string, { version: string; target: string; sha256: string }> = {};
    for (const [n, a] of Object.entries(st.installed)) installed[n] = { version: a.version, target: a.target, sha256: a.sha256 };
    const report: InstallReport = { _type: 'citytrust.update-report.v1', tenant: this.#o.device.tenant, device: this.#o.device.id, repo: this.#o.repo, deviceClass: this.#o.device.deviceClass, seq: st.seq, at: this.#clock.now(), installed };
    const sig = await signer.sign(reportBytes(report));
    return { report, alg: signer.alg, signature: toBase64Url(sig) };
  }
}

/** The bytes a report signature covers: canonical JSON (src/core/canonical-json.ts), UTF-8. */
export function reportBytes(report: InstallReport): Uint8Array {
  return Buffer.from(canonicalJson(report), 'utf8');
}

async function atomicWrite(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}
