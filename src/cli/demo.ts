/**
 * `citytrust demo` (what `npm start` runs): the demo city on embedded defaults.
 * It grows with every capability; today it sets up the city's tenants and the key vault (in
 * development auto-unseal mode), runs the server with the audit log checkpointing every
 * second under a vault key, and prints the URL and an admin token.
 */
import { Command } from 'commander';
import { createLogger } from '../core/log.ts';
import { buildServer } from '../server/app.ts';
import { closeContext, openContext } from '../server/context.ts';
import { action, configFrom, withCommon, type GlobalOptions } from './common.ts';

interface DemoOptions extends GlobalOptions {
  port?: string;
  duration?: string;
}

export const DEMO_TENANTS = [
  { id: 'metro', name: 'Metro Transit' },
  { id: 'campus', name: 'City University Campus' },
  { id: 'carshare', name: 'Car Sharing Co-op' },
  { id: 'utility', name: 'City Power & Water' },
  { id: 'buildings', name: 'Civic Buildings' },
];

export function demoCommand(): Command {
  return withCommon(new Command('demo'))
    .description('run the demo city on the embedded defaults (SQLite, local keys) until Ctrl-C or --duration')
    .option('-p, --port <port>', 'HTTP port (default 8080)')
    .option('--duration <seconds>', 'stop after this many seconds and print a final report')
    .action(
      action(async (o: DemoOptions) => {
        const config = configFrom({ ...o, dataDir: o.dataDir ?? process.env.CITYTRUST_DATA_DIR ?? '.citytrust-demo' }, { 'server.port': o.port, 'vault.devUnseal': true });
        const logger = createLogger({ level: process.env.CITYTRUST_LOG_LEVEL ?? 'warn', destination: process.stderr });
        const started = Date.now();
        const ctx = await openContext(config, { logger, checkpointing: true });
        const existing = new Set((await ctx.tenants.list()).map((t) => t.id));
        for (const t of DEMO_TENANTS) if (!existing.has(t.id)) await ctx.tenants.create(t, 'system:demo');
        const admin = await ctx.tokens.create({ tenant: null, roles: ['city-admin'], label: 'demo admin' }, undefined);
        const app = await buildServer(ctx);
        const address = await app.listen({ port: config.server.port, host: config.server.host });
        const say = (s: string) => process.stdout.write(`${s}\n`);
        say(`citytrust demo city is up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        say(`  data directory: ${config.dataDir}`);
        say(`  key vault:      ${ctx.vault.status().backend}, ${ctx.vault.status().state} — DEVELOPMENT auto-unseal: the master key is in a file in the data directory. Never run a city like this.`);
        say(`  API:            ${address}   docs: ${address}/docs`);
        say(`  admin token:    ${admin.token}`);
        say(`  tenants:        ${DEMO_TENANTS.map((t) => t.id).join(', ')}`);
        const summary = setInterval(() => {
          void ctx.audit.latestCheckpoint().then((c) => say(`  audit log: ${c?.size ?? 0} events checkpointed`));
        }, 5000);
        summary.unref();
        const stop = async () => {
          clearInterval(summary);
          await app.close();
          const size = await ctx.audit.size();
          await closeContext(ctx);
          if (o.json) say(JSON.stringify({ auditEvents: size, seconds: (Date.now() - started) / 1000 }));
          else say(`demo stopped: ${size} audit events, log checkpointed`);
          process.exit(0);
        };
        process.on('SIGINT', () => void stop());
        process.on('SIGTERM', () => void stop());
        if (o.duration !== undefined) setTimeout(() => void stop(), Number(o.duration) * 1000);
      }),
    );
}
