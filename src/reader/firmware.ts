/**
 * Signed software and data for readers and gates (docs/updates.md, "Device SDKs"): the reader's
 * update routine over TUF (src/updates/agent.ts, tuf-js). From the repository root shipped at
 * enrolment it installs, for its device class (`reader` or `gate`):
 *
 *   firmware     images/<class>/firmware-<v>.bin   signed by the manufacturer delegated for the class
 *   trust-list   data/<class>/trust-list-<v>.json  {"_type":"citytrust.reader-trust.v1","trustList":"<base64>","statusLists":["<base64>",…]}
 *   config       data/<class>/config-<v>.json      reader settings (docs/reader.md), without readerId/tenant/site
 *
 * A trust-list bundle is applied to the trust cache, which verifies it against the pinned city
 * root (all or nothing) — so it is checked twice: TUF proves where the bundle comes from, the
 * trust cache that its content is the city's. A configuration is merged over the current one
 * and validated before it replaces anything. A refused bundle leaves everything as it was.
 * Then the reader reports what runs in a message signed with its certificate key.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Fetcher } from 'tuf-js';
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import { fromBase64 } from '../core/bytes.ts';
import { DeviceUpdateAgent, readJsonBundle, type AgentRun, type ApplyArtifact } from '../updates/agent.ts';
import type { InstalledArtifact, ReportSigner } from '../updates/client.ts';
import type { ReaderKeyMaterial } from '../tap/index.ts';
import { validateReaderConfig, type ReaderConfig } from './config.ts';
import type { TrustCache, TrustUpdate } from './trust-cache.ts';

export const READER_TRUST_BUNDLE = 'trust-list';
export const READER_CONFIG_BUNDLE = 'config';
export const READER_TRUST_BUNDLE_TYPE = 'citytrust.reader-trust.v1';
const CONFIG_FILE = 'config.json';
/** Keys a class-wide configuration bundle may not set: they are the reader's identity. */
const IDENTITY_KEYS = ['readerId', 'tenant', 'site'] as const;

export interface ReaderUpdatesOptions {
  /** Server base URL (default: config.serverUrl). */
  readonly server?: string;
  readonly repo: string;
  /** Persistent directory for updates (trusted TUF metadata, installed versions, configuration). */
  readonly dir: string;
  readonly config: ReaderConfig;
  /** `reader` (default) or `gate`. */
  readonly deviceClass?: string;
  readonly bootloader?: string;
  /** The reader's certificate key signs its install reports (ES256 or EdDSA). */
  readonly identity: ReaderKeyMaterial;
  readonly trust: TrustCache;
  readonly clock: Clock;
  /** Flashes a verified firmware image (default: kept under dir/installed/firmware). */
  readonly onFirmware?: ApplyArtifact;
  /** Called with a new validated configuration (e.g. to rewrite the reader home and restart). */
  readonly onConfig?: (config: ReaderConfig) => void | Promise<void>;
  readonly fetcher?: Fetcher;
  readonly fetch?: typeof fetch;
}

/** A trust-list bundle's contents, as the trust cache takes them. */
export function parseTrustBundle(doc: Record<string, unknown>): { trustList: Uint8Array; statusLists: Uint8Array[] } {
  const b64 = /^[A-Za-z0-9+/]*={0,2}$/;
  if (doc._type !== READER_TRUST_BUNDLE_TYPE || typeof doc.trustList !== 'string' || !b64.test(doc.trustList) || !Array.isArray(doc.statusLists) || !doc.statusLists.every((s) => typeof s === 'string' && b64.test(s))) {
    throw new CityTrustError('READER_TRUST_CACHE_INVALID', `a trust-list bundle is {"_type":"${READER_TRUST_BUNDLE_TYPE}","trustList":"<base64>","statusLists":["<base64>",…]}`);
  }
  return { trustList: fromBase64(doc.trustList), statusLists: (doc.statusLists as string[]).map(fromBase64) };
}

function reportSigner(identity: ReaderKeyMaterial): ReportSigner {
  const alg = identity.signer.alg;
  if (alg !== 'ES256' && alg !== 'EdDSA') throw new CityTrustError('READER_CONFIG_INVALID', `install reports are signed with ES256 or EdDSA, not ${String(alg)}`);
  return { alg, sign: async (d) => identity.signer.sign(d) };
}

export class ReaderUpdates {
  readonly #o: ReaderUpdatesOptions;
  readonly #agent: DeviceUpdateAgent;
  #config: ReaderConfig;
  #lastTrust: TrustUpdate | undefined;

  /** Enrolment: stores the update repository's root.json shipped with the reader. */
  static enrol(dir: string, trustedRoot: Uint8Array): Promise<void> {
    return DeviceUpdateAgent.enrol(dir, trustedRoot);
  }

  constructor(o: ReaderUpdatesOptions) {
    this.#o = o;
    this.#config = ReaderUpdates.#persistedConfig(o.dir, o.config);
    const server = o.server ?? o.config.serverUrl;
    if (server === undefined) throw new CityTrustError('READER_CONFIG_INVALID', 'reader configuration "serverUrl" is needed to fetch updates');
    this.#agent = new DeviceUpdateAgent({
      server,
      repo: o.repo,
      dir: o.dir,
      device: { tenant: o.config.tenant, id: o.config.readerId, deviceClass: o.deviceClass ?? 'reader', site: o.config.site, ...(o.bootloader !== undefined && { bootloader: o.bootloader }) },
      signer: reportSigner(o.identity),
      clock: o.clock,
      ...(o.fetcher !== undefined && { fetcher: o.fetcher }),
      ...(o.fetch !== undefined && { fetch: o.fetch }),
      apply: {
        ...(o.onFirmware !== undefined && { firmware: o.onFirmware }),
        [READER_TRUST_BUNDLE]: (file) => this.#applyTrust(file),
        [READER_CONFIG_BUNDLE]: (file) => this.#applyConfig(file),
      },
    });
  }

  /** The configuration in force: the enrolment one, or the last configuration bundle applied. */
  get config(): ReaderConfig {
    return this.#config;
  }

  /** What the last trust-list bundle did to the trust cache. */
  get lastTrustUpdate(): TrustUpdate | undefined {
    return this.#lastTrust;
  }

  installed(): Promise<Record<string, InstalledArtifact>> {
    return this.#agent.installed();
  }

  /** One update cycle: refresh, install firmware/trust list/configuration as released, report. */
  run(): Promise<AgentRun> {
    return this.#agent.run();
  }

  async #applyTrust(file: string): Promise<void> {
    // Throws READER_TRUST_CACHE_INVALID when the content does not verify under the pinned root: nothing changes.
    this.#lastTrust = this.#o.trust.update(parseTrustBundle(await readJsonBundle(file, 'trust-list')), this.#o.clock.now());
  }

  async #applyConfig(file: string): Promise<void> {
    const doc = await readJsonBundle(file, 'configuration');
    for (const k of IDENTITY_KEYS) {
      if (k in doc) throw new CityTrustError('READER_CONFIG_INVALID', `a configuration bundle is for a whole device class and may not set "${k}"`, { details: { key: k } });
    }
    const next = validateReaderConfig({ ...this.#config, ...doc, readerId: this.#config.readerId, tenant: this.#config.tenant, site: this.#config.site });
    if (this.#o.onConfig) await this.#o.onConfig(next);
    const target = join(this.#o.dir, CONFIG_FILE);
    await mkdir(this.#o.dir, { recursive: true });
    const tmp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`);
    await rename(tmp, target);
    this.#config = next;
  }

  static #persistedConfig(dir: string, enrolled: ReaderConfig): ReaderConfig {
    const f = join(dir, CONFIG_FILE);
    if (!existsSync(f)) return enrolled;
    const c = validateReaderConfig(JSON.parse(readFileSync(f, 'utf8')));
    // The identity is the enrolment's, whatever a file says.
    return c.readerId === enrolled.readerId && c.tenant === enrolled.tenant ? c : enrolled;
  }

  /** The bytes of an installed artifact kept by default (firmware without an onFirmware hook). */
  static keptArtifact(dir: string, name: string): Promise<Buffer> {
    return readFile(join(dir, 'installed', name));
  }
}
