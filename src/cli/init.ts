import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { CONFIG_FILE } from '../core/config.ts';
import { CityTrustError } from '../core/errors.ts';
import { action, configFrom, out, withCommon, withContext, type GlobalOptions } from './common.ts';

export function initCommand(): Command {
  return withCommon(new Command('init'))
    .description('create the data directory, its config file and database, and the first city-admin token (printed once)')
    .addHelpText('after', '\nExample:\n  citytrust init --data-dir /var/lib/citytrust\n  DATABASE_URL=postgres://citytrust@db/citytrust citytrust init')
    .action(
      action(async (o: GlobalOptions) => {
        const config = configFrom(o);
        mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
        const file = join(config.dataDir, CONFIG_FILE);
        if (!existsSync(file)) {
          const initial: Record<string, unknown> = { server: { host: config.server.host, port: config.server.port }, audit: { logName: config.audit.logName } };
          // A URL with a password stays in the environment, not in a file on disk.
          if (o.databaseUrl && !new URL(o.databaseUrl).password) initial.databaseUrl = o.databaseUrl;
          writeFileSync(file, `${JSON.stringify(initial, null, 2)}\n`, { mode: 0o600 });
        }
        const result = await withContext(o, async (ctx) => {
          const admins = (await ctx.tokens.list(undefined)).filter((t) => t.roles.includes('city-admin') && t.revokedAt === null);
          if (admins.length > 0) {
            throw new CityTrustError('CONFLICT', `${config.dataDir} is already initialised; create further admin tokens with \`citytrust token create --roles city-admin\``);
          }
          const created = await ctx.tokens.create({ tenant: null, roles: ['city-admin'], label: 'first city-admin (citytrust init)' }, undefined);
          return { dataDir: config.dataDir, store: ctx.store.location, configFile: file, token: created.token, tokenId: created.info.id };
        });
        out(o, result, () =>
          [
            `initialised ${result.dataDir}`,
            `  store:  ${result.store}`,
            `  config: ${result.configFile}`,
            '',
            'first city-admin token (shown once; keep it in a password manager):',
            `  ${result.token}`,
          ].join('\n'),
        );
      }),
    );
}
