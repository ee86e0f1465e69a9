/**
 * Signed software and data for meters (docs/updates.md, "Device SDKs"): the meter's update
 * routine over TUF (src/updates/agent.ts, tuf-js). From the repository root shipped at
 * enrolment the meter installs only targets of its class (`meter` by default) that verified —
 * firmware signed by the manufacturer delegated for the class, data bundles signed by the
 * tenant — never goes back to a lower version, and reports what runs in a message signed with
 * the key of its PKI certificate. Device-side: imports no server code.
 */
import type { Fetcher } from 'tuf-js';
import type { Clock } from '../core/clock.ts';
import { DeviceUpdateAgent, type AgentRun, type ApplyArtifact } from '../updates/agent.ts';
import type { InstalledArtifact, ReportSigner } from '../updates/client.ts';

export interface MeterUpdatesOptions {
  readonly server: string;
  readonly repo: string;
  /** Persistent directory for updates (trusted TUF metadata, installed versions). */
  readonly dir: string;
  readonly tenant: string;
  readonly meterId: string;
  /** Device class in the repository (default `meter`). */
  readonly deviceClass?: string;
  readonly site?: string;
  readonly bootloader?: string;
  /** Signs install reports with the meter's certificate key (ES256 r‖s, or EdDSA), e.g. in its secure element. */
  readonly signer: ReportSigner;
  /** The meter's time; metadata must be fresh by it (and by the system clock). */
  readonly clock: Clock;
  /** Flashes a verified image into the inactive bank (default: kept under dir/installed/firmware). */
  readonly onFirmware?: ApplyArtifact;
  /** Hooks for data bundles by name (e.g. `tariffs`). */
  readonly onData?: Readonly<Record<string, ApplyArtifact>>;
  readonly fetcher?: Fetcher;
  readonly fetch?: typeof fetch;
}

export class MeterUpdates {
  readonly #agent: DeviceUpdateAgent;

  /** Enrolment: stores the update repository's root.json shipped with the meter. */
  static enrol(dir: string, trustedRoot: Uint8Array): Promise<void> {
    return DeviceUpdateAgent.enrol(dir, trustedRoot);
  }

  constructor(o: MeterUpdatesOptions) {
    this.#agent = new DeviceUpdateAgent({
      server: o.server,
      repo: o.repo,
      dir: o.dir,
      device: { tenant: o.tenant, id: o.meterId, deviceClass: o.deviceClass ?? 'meter', ...(o.site !== undefined && { site: o.site }), ...(o.bootloader !== undefined && { bootloader: o.bootloader }) },
      signer: o.signer,
      clock: o.clock,
      ...(o.fetcher !== undefined && { fetcher: o.fetcher }),
      ...(o.fetch !== undefined && { fetch: o.fetch }),
      apply: { ...(o.onData ?? {}), ...(o.onFirmware !== undefined && { firmware: o.onFirmware }) },
    });
  }

  installed(): Promise<Record<string, InstalledArtifact>> {
    return this.#agent.installed();
  }

  /**
   * Installs one signed target by path (a data bundle pushed outside a release). Refused unless
   * it is in signed metadata, for this class, and newer than what runs.
   */
  installTarget(name: string, path: string): Promise<InstalledArtifact> {
    return this.#agent.updater.installTarget(name, path);
  }

  /** One update cycle: refresh, install what is released for this meter, report. */
  run(): Promise<AgentRun> {
    return this.#agent.run();
  }
}
