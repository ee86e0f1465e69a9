/**
 * The update routine the reader, gate and meter SDKs share (docs/updates.md, "Device SDKs"):
 * one `run()` refreshes the TUF metadata with tuf-js from the root shipped at enrolment,
 * installs every released artifact of the device's class whose rollout includes it (each
 * through the SDK's own `apply` hook: flash an image, load a trust list, swap a
 * configuration), and sends the server a report of what runs, signed with the device key.
 *
 * What survives a restart lives in `dir`: the trusted metadata (so rollback and freeze
 * protection hold across reboots), the installed versions (never back) and the report
 * sequence number. Device-side: imports no server code.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { Fetcher } from 'tuf-js';
import type { Clock } from '../core/clock.ts';
import { systemClock } from '../core/clock.ts';
import { CityTrustError, allErrorCodes, type ErrorCode } from '../core/errors.ts';
import { DeviceUpdater, type Decision, type DeviceIdentity, type InstalledArtifact, type ReportSigner, type SignedReport } from './client.ts';

/** Applies a verified artifact (the file holds exactly the signed bytes). Throwing refuses it: nothing is recorded. */
export type ApplyArtifact = (file: string, artifact: InstalledArtifact) => Promise<void>;

export interface UpdateAgentOptions {
  /** Server base URL (metadata, targets and reports are under /updates/<repo>/). */
  readonly server: string;
  readonly repo: string;
  /** Persistent directory (trusted metadata, installed state, artifacts). */
  readonly dir: string;
  readonly device: DeviceIdentity;
  /** The device key that signs install reports (the key of its PKI certificate). */
  readonly signer: ReportSigner;
  /** Per artifact name (`firmware`, `trust-list`, `config`, …); an artifact without a hook is kept under dir/installed/<name>. */
  readonly apply?: Readonly<Record<string, ApplyArtifact>>;
  /** Device time; metadata must be fresh by this clock as well as by the system clock. */
  readonly clock?: Clock;
  /** tuf-js transport (tests serve in process). */
  readonly fetcher?: Fetcher;
  /** HTTP for the report (default global fetch). */
  readonly fetch?: typeof fetch;
  readonly maxTargetBytes?: number;
}

export interface AgentRun {
  /** What the device decided per released artifact. */
  readonly decisions: readonly Decision[];
  /** Artifacts installed in this run, with their new version. */
  readonly installed: readonly { readonly name: string; readonly version: string }[];
  /** Artifacts the device refused, and why (the error code says which attack or fault). */
  readonly refused: readonly { readonly name: string; readonly code: ErrorCode; readonly message: string }[];
  /** The sequence number of the report the server accepted, if one was sent. */
  readonly reported?: number;
  /** Why the report was not accepted (it is sent again at the next run). */
  readonly reportError?: { readonly code: ErrorCode; readonly message: string };
}

const REPORTED_FILE = 'reported.json';

function digest(installed: Record<string, InstalledArtifact>): string {
  const parts = Object.keys(installed)
    .sort()
    .map((n) => `${n}\u0000${installed[n]!.version}\u0000${installed[n]!.sha256}`);
  return createHash('sha256').update(parts.join('\u0001')).digest('hex');
}

export class DeviceUpdateAgent {
  readonly #o: UpdateAgentOptions;
  readonly #u: DeviceUpdater;

  /** Enrolment: stores the repository's root.json shipped with the device (checked: signed by its own threshold, allowed keys). */
  static enrol(dir: string, trustedRoot: Uint8Array): Promise<void> {
    return DeviceUpdater.enrol(dir, trustedRoot);
  }

  constructor(o: UpdateAgentOptions) {
    this.#o = o;
    const apply = o.apply ?? {};
    this.#u = new DeviceUpdater({
      server: o.server,
      repo: o.repo,
      dir: o.dir,
      device: o.device,
      clock: o.clock ?? systemClock,
      ...(o.fetcher !== undefined && { fetcher: o.fetcher }),
      ...(o.maxTargetBytes !== undefined && { maxTargetBytes: o.maxTargetBytes }),
      install: async (name, file, artifact) => {
        const hook = apply[name];
        if (hook) await hook(file, artifact);
        else await keep(o.dir, name, file);
      },
    });
  }

  get updater(): DeviceUpdater {
    return this.#u;
  }

  /** Installed artifacts and their versions (persisted). */
  installed(): Promise<Record<string, InstalledArtifact>> {
    return this.#u.installed();
  }

  /**
   * One update cycle: refresh, install what is released for this device, report when what
   * runs changed since the last accepted report. A refused artifact does not stop the others;
   * a refused refresh (expired, rolled back, forged metadata) throws with its reason and
   * installs nothing.
   */
  async run(): Promise<AgentRun> {
    const decisions = await this.#u.check();
    const installed: { name: string; version: string }[] = [];
    const refused: { name: string; code: ErrorCode; message: string }[] = [];
    for (const d of decisions) {
      if (d.action !== 'install') continue;
      try {
        const r = await this.#u.update(d.name);
        if (r.action === 'install') installed.push({ name: d.name, version: r.version });
      } catch (e) {
        if (!(e instanceof CityTrustError)) throw e;
        refused.push({ name: d.name, code: e.code, message: e.message });
      }
    }
    const now = await this.#u.installed();
    let reported: number | undefined;
    let reportError: AgentRun['reportError'];
    if (Object.keys(now).length > 0 && (await this.#lastReported()) !== digest(now)) {
      try {
        reported = (await this.report()).seq;
      } catch (e) {
        // What was installed stays installed; the report is sent again at the next run.
        if (!(e instanceof CityTrustError)) throw e;
        reportError = { code: e.code, message: e.message };
      }
    }
    return { decisions, installed, refused, ...(reported !== undefined && { reported }), ...(reportError !== undefined && { reportError }) };
  }

  /** Signs the install report and sends it (POST /updates/<repo>/reports); remembers what was accepted. */
  async report(): Promise<{ seq: number }> {
    const signed: SignedReport = await this.#u.report(this.#o.signer);
    const url = `${this.#o.server.replace(/\/+$/, '')}/updates/${encodeURIComponent(this.#o.repo)}/reports`;
    let res: Response;
    try {
      res = await (this.#o.fetch ?? fetch)(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(signed) });
    } catch (e) {
      throw new CityTrustError('UPDATE_FETCH_FAILED', 'the install report could not be sent; it is sent again at the next run', { cause: e });
    }
    const body = (await res.json().catch(() => ({}))) as { code?: unknown; message?: unknown; seq?: unknown };
    if (!res.ok) {
      const code = typeof body.code === 'string' && (allErrorCodes() as string[]).includes(body.code) ? (body.code as ErrorCode) : 'UPDATE_FETCH_FAILED';
      throw new CityTrustError(code, `the server refused the install report: ${typeof body.message === 'string' ? body.message.slice(0, 200) : res.status}`);
    }
    await atomicWrite(join(this.#o.dir, REPORTED_FILE), Buffer.from(JSON.stringify({ seq: signed.report.seq, digest: digest(await this.#u.installed()) })));
    return { seq: signed.report.seq };
  }

  async #lastReported(): Promise<string | undefined> {
    try {
      const r = JSON.parse(await readFile(join(this.#o.dir, REPORTED_FILE), 'utf8')) as { digest?: unknown };
      return typeof r.digest === 'string' ? r.digest : undefined;
    } catch {
      return undefined;
    }
  }
}

async function atomicWrite(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

async function keep(dir: string, name: string, file: string): Promise<void> {
  await mkdir(join(dir, 'installed'), { recursive: true });
  await rename(file, join(dir, 'installed', name));
}

/** Reads a verified JSON data bundle (configuration, trust list) an apply hook received. */
export async function readJsonBundle(file: string, what: string): Promise<Record<string, unknown>> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new CityTrustError('UPDATE_METADATA_MALFORMED', `the ${what} bundle is not a JSON object`, { cause: e });
  }
}
