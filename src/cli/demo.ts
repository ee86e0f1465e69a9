/**
 * `citytrust demo` (what `npm start` runs): the demo city on embedded defaults. It sets the
 * city up (tenants, the key vault in development auto-unseal mode, …), runs the server, then
 * animates the city with the scenarios in src/sim until Ctrl-C or --duration.
 */
import { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { CityTrustError } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import { buildServer } from '../server/app.ts';
import { closeContext, openContext } from '../server/context.ts';
import { Stats, cityPkiScenario, firmwareScenario, metersScenario, residentsScenario, runCity, tapsScenario, setUpCity, tenantsScenario, vaultDrillScenario, witnessScenario, type Scenario, type SimOptions, type World } from '../sim/index.ts';
import { action, configFrom, withCommon, type GlobalOptions } from './common.ts';

interface DemoOptions extends GlobalOptions {
  port?: string;
  duration?: string;
  residents: string;
  meters: string;
  rate: string;
}

function positive(name: string, v: string | undefined, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new CityTrustError('INPUT_INVALID', `--${name} must be a number from 1 to ${max}`);
  return n;
}

/** The scenarios of the demo city, in the order they are set up and started. */
export function demoScenarios(): Scenario[] {
  const residents = residentsScenario();
  const taps = tapsScenario(residents);
  return [tenantsScenario, cityPkiScenario, residents, taps, metersScenario(), firmwareScenario(taps), witnessScenario(), vaultDrillScenario()];
}

export function demoCommand(): Command {
  return withCommon(new Command('demo'))
    .description('run the demo city on the embedded defaults (SQLite, local keys) until Ctrl-C or --duration')
    .option('-p, --port <port>', 'HTTP port (default 8080)')
    .option('--duration <seconds>', 'stop after this many seconds and print a final report')
    .option('--residents <n>', 'residents with wallets (visitors are added, one per 50)', '50')
    .option('--meters <n>', 'smart meters', '100')
    .option('--rate <taps/s>', 'taps per second across the city', '20')
    .addHelpText('after', '\nExamples:\n  npm start\n  npm start -- --duration 60 --rate 500\n  citytrust demo --data-dir /tmp/city --port 9090 --json')
    .action(
      action(async (o: DemoOptions) => {
        const options: SimOptions = {
          residents: positive('residents', o.residents, 10_000_000)!,
          meters: positive('meters', o.meters, 2_000_000)!,
          rate: positive('rate', o.rate, 100_000)!,
          duration: positive('duration', o.duration, 31 * 86400),
        };
        const config = configFrom({ ...o, dataDir: o.dataDir ?? process.env.CITYTRUST_DATA_DIR ?? '.citytrust-demo' }, { 'server.port': o.port, 'vault.devUnseal': true });
        const logger = createLogger({ level: process.env.CITYTRUST_LOG_LEVEL ?? 'warn', destination: process.stderr });
        const say = (s: string) => {
          if (!o.json) process.stdout.write(`${s}\n`);
        };
        const t0 = performance.now();
        const ctx = await openContext(config, { logger, checkpointing: true });
        const admin = await ctx.tokens.create({ tenant: null, roles: ['city-admin'], label: 'demo admin' }, undefined);
        const app = await buildServer(ctx);
        const address = await app.listen({ port: config.server.port, host: config.server.host });
        const abort = new AbortController();
        const world: World = { ctx, options, stats: new Stats(), baseUrl: address, adminToken: admin.token, say, signal: abort.signal };
        const scenarios = demoScenarios();
        say(`citytrust demo city on ${config.dataDir}`);
        say(`  key vault:      ${ctx.vault.status().backend}, ${ctx.vault.status().state} — DEVELOPMENT auto-unseal: the master key is in a file in the data directory. Never run a city like this.`);
        try {
          await setUpCity(world, scenarios);
        } catch (e) {
          // A failed set-up must end the process, not leave the server listening.
          abort.abort();
          for (const s of [...scenarios].reverse()) await Promise.resolve(s.stop?.(world)).catch(() => undefined);
          await app.close();
          await closeContext(ctx);
          throw e;
        }
        const startupSeconds = (performance.now() - t0) / 1000;
        say(`  API:            ${address}   docs: ${address}/docs   console: ${address}/console`);
        say(`  admin token:    ${admin.token}`);
        say(`the city is up in ${startupSeconds.toFixed(1)} s; running${options.duration ? ` for ${options.duration} s` : ' until Ctrl-C'}`);
        const run = await runCity(world, scenarios, abort);
        let stopping = false;
        const stop = async () => {
          if (stopping) return;
          stopping = true;
          const lines = await run.stop();
          // Open consoles keep the status event stream open; after a second they are cut off so
          // the city can stop.
          const closing = app.close();
          const force = setTimeout(() => app.server.closeAllConnections(), 1000);
          await closing;
          clearTimeout(force);
          const auditEvents = await ctx.audit.size();
          await closeContext(ctx);
          const seconds = (performance.now() - t0) / 1000;
          if (o.json) {
            process.stdout.write(`${JSON.stringify({ url: address, adminToken: admin.token, startupSeconds, seconds, auditEvents, stats: world.stats.snapshot(), report: lines })}\n`);
          } else {
            say('\nfinal report');
            for (const l of lines) say(`  ${l}`);
            say(`  ${auditEvents} audit events, log checkpointed; ran ${seconds.toFixed(1)} s`);
          }
          process.exit(0);
        };
        process.on('SIGINT', () => void stop());
        process.on('SIGTERM', () => void stop());
        if (options.duration !== undefined) setTimeout(() => void stop(), options.duration * 1000);
      }),
    );
}
