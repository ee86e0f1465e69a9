/**
 * Wiring: the one place (with the CLI and the simulator) where real collaborators are
 * created and handed to the domain modules.
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.ts';
import type { Config } from '../core/config.ts';
import { createLogger } from '../core/log.ts';
import { openStore, type Store } from '../store/db.ts';
import { AuditLog } from '../audit/log.ts';
import { HttpSensorFeed } from './sensors.ts';
import { bindCheckpointSigner, DeferredNoteSigner, loadPublishedCheckpointKey, openVault, type ConfiguredVault } from './vault-wiring.ts';
import { Tenants } from '../access/tenants.ts';
import { Tokens } from '../access/tokens.ts';
import { Devices } from '../devices/registry.ts';
import { BootstrapTokens } from '../devices/bootstrap.ts';
import { Pki } from '../pki/pki.ts';
import { cityRootFromPki, createCredentialServices, credentialSettingsFromConfig, type CredentialServices } from '../credentials/index.ts';
import { Updates, InstallReports, UpdateRefresher, pkiDeviceKeys } from '../updates/index.ts';
import { Metering } from '../metering/service.ts';

export interface AppContext {
  config: Config;
  clock: Clock;
  logger: Logger;
  store: Store;
  audit: AuditLog;
  tenants: Tenants;
  tokens: Tokens;
  devices: Devices;
  bootstrap: BootstrapTokens;
  pki: Pki;
  /** Issuer, wallets, status lists and trust list (docs/credential-format.md). */
  credentials: CredentialServices;
  /** TUF repositories, install reports and the metadata refresh timer (docs/updates.md). */
  updates: { repos: Updates; reports: InstallReports; refresher: UpdateRefresher };
  /** Meters, ingest, commands, the blackout guard and the MQTT transport (docs/metering.md). */
  metering: Metering;
  vault: ConfiguredVault;
  /** The audit checkpoint signer; bound to a vault key once the vault is unsealed. */
  checkpointSigner: DeferredNoteSigner;
  /** Call after the vault was unsealed at run time (binds the checkpoint signer). */
  onVaultUnsealed(): Promise<void>;
  /** Tamper-sensor input, when `vault.sensors` is on. */
  sensors: HttpSensorFeed | undefined;
}

export interface OpenContextOptions {
  logger?: Logger;
  clock?: Clock;
  /** Start the checkpoint timer (servers do; one-shot CLI commands do not). */
  checkpointing?: boolean;
}

export async function openContext(config: Config, opts: OpenContextOptions = {}): Promise<AppContext> {
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  const clock = opts.clock ?? systemClock;
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  let audit: AuditLog | undefined;
  try {
    const signer = new DeferredNoteSigner(config.audit.logName);
    await loadPublishedCheckpointKey(store, signer);
    audit = await AuditLog.open({
      store,
      signer,
      clock,
      logger,
      origin: config.audit.logName,
      checkpointIntervalMs: config.audit.checkpointIntervalMs,
      maxBatch: config.audit.maxBatch,
    });
    const vault = await openVault(config, { clock, logger, audit });
    await bindCheckpointSigner(store, vault, signer);
    if (opts.checkpointing) audit.startCheckpointing();
    const devices = new Devices({ store, clock, audit });
    const bootstrap = new BootstrapTokens({ store, clock, audit, devices, defaultTtlSeconds: config.pki.bootstrapTtlSeconds });
    const pki = new Pki({ store, vault, clock, audit, logger, devices, bootstrap, settings: { ...config.pki, codeSigningCertDays: config.pki.deviceCertDays } });
    const credentials = createCredentialServices({ store, vault, audit, clock, settings: credentialSettingsFromConfig(config.credentials), cityRoot: cityRootFromPki(pki.cas) });
    const updateRepos = new Updates({ store, vault, audit, clock, logger, settings: config.updates });
    const updates = { repos: updateRepos, reports: new InstallReports({ store, audit, clock, devices, keys: pkiDeviceKeys(pki) }), refresher: new UpdateRefresher(updateRepos, logger, config.updates.refreshIntervalMs) };
    if (opts.checkpointing) updates.refresher.start();
    const m = config.metering;
    const metering = new Metering({
      store,
      vault,
      audit,
      clock,
      logger,
      pki,
      devices,
      settings: {
        identityCacheMs: m.identityCacheMs,
        ingest: { batchSize: m.batchSize, maxClockSkewMs: m.maxClockSkewMs, readingIntervalMs: m.readingIntervalMs, redeliveryWindowMs: m.redeliveryWindowMs },
        commands: { commandTtlMs: m.commandTtlMs, approvalTtlMs: m.approvalTtlMs, bulkThreshold: m.bulkThreshold, bulkApprovals: m.bulkApprovals, guard: m.guard },
      },
    });
    const sensors = config.vault.sensors && vault.tamper ? new HttpSensorFeed(vault as Required<ConfiguredVault>, { clock, logger, heartbeatMs: config.vault.sensorHeartbeatMs }) : undefined;
    return {
      sensors,
      config,
      clock,
      logger,
      store,
      audit,
      tenants: new Tenants({ store, clock, audit }),
      tokens: new Tokens({ store, clock, audit }),
      devices,
      bootstrap,
      pki,
      credentials,
      vault,
      updates,
      metering,
      checkpointSigner: signer,
      onVaultUnsealed: () => bindCheckpointSigner(store, vault, signer),
    };
  } catch (e) {
    await audit?.close().catch(() => undefined);
    await store.close();
    throw e;
  }
}

export async function closeContext(ctx: AppContext): Promise<void> {
  // Sign a last checkpoint while the vault is still open, then let the vault flush its
  // usage counters into the log, then drain the log.
  ctx.sensors?.stop();
  ctx.credentials.close();
  await ctx.updates.refresher.stop();
  await ctx.metering.close();
  if (ctx.checkpointSigner.bound) await ctx.audit.checkpoint().catch((e: unknown) => ctx.logger.warn({ err: e }, 'final audit checkpoint failed'));
  await ctx.vault.close();
  await ctx.audit.close();
  await ctx.store.close();
}
