import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { CONFIG_FILE } from '../core/config.ts';
import { CityTrustError } from '../core/errors.ts';
import { PLATFORM_CALLER } from '../server/vault-wiring.ts';
import { SoftwareVault } from '../vault/software/vault.ts';
import { action, configFrom, out, withCommon, withContext, type GlobalOptions } from './common.ts';

interface InitOptions extends GlobalOptions {
  vaultShares: string;
  vaultThreshold: string;
  devUnseal?: boolean;
}

export function initCommand(): Command {
  return withCommon(new Command('init'))
    .description('create the data directory, its config file and database, the key vault (printing its unseal shares once) and the first city-admin token (printed once)')
    .option('--vault-shares <n>', 'unseal shares to split the vault master key into', '5')
    .option('--vault-threshold <t>', 'shares needed to unseal', '3')
    .option('--dev-unseal', 'DEVELOPMENT ONLY: keep the master key in a file so the vault unseals itself at start')
    .addHelpText(
      'after',
      '\nExamples:\n  citytrust init --data-dir /var/lib/citytrust            # prints 5 shares; any 3 unseal\n  citytrust init --dev-unseal                               # a laptop or a test\n  DATABASE_URL=postgres://citytrust@db/citytrust citytrust init',
    )
    .action(
      action(async (o: InitOptions) => {
        const config = configFrom(o);
        const shares = Number(o.vaultShares);
        const threshold = Number(o.vaultThreshold);
        if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 1 || shares < threshold || shares > 255) {
          throw new CityTrustError('INPUT_INVALID', 'need 1 <= --vault-threshold <= --vault-shares <= 255');
        }
        mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
        const file = join(config.dataDir, CONFIG_FILE);
        if (!existsSync(file)) {
          const initial: Record<string, unknown> = {
            server: { host: config.server.host, port: config.server.port },
            audit: { logName: config.audit.logName },
            vault: { backend: config.vault.backend, ...(o.devUnseal ? { devUnseal: true } : {}) },
          };
          // A URL with a password stays in the environment, not in a file on disk.
          if (o.databaseUrl && !new URL(o.databaseUrl).password) initial.databaseUrl = o.databaseUrl;
          writeFileSync(file, `${JSON.stringify(initial, null, 2)}\n`, { mode: 0o600 });
        }
        const result = await withContext(o, async (ctx) => {
          const admins = (await ctx.tokens.list(undefined)).filter((t) => t.roles.includes('city-admin') && t.revokedAt === null);
          if (admins.length > 0) {
            throw new CityTrustError('CONFLICT', `${config.dataDir} is already initialised; create further admin tokens with \`citytrust token create --roles city-admin\``);
          }
          let unsealShares: string[] = [];
          if (ctx.vault instanceof SoftwareVault && ctx.vault.status().state === 'uninitialised') {
            unsealShares = (await ctx.vault.init(PLATFORM_CALLER, { shares, threshold })).shares;
          }
          await ctx.onVaultUnsealed();
          const created = await ctx.tokens.create({ tenant: null, roles: ['city-admin'], label: 'first city-admin (citytrust init)' }, undefined);
          return {
            dataDir: config.dataDir,
            store: ctx.store.location,
            configFile: file,
            vault: { backend: ctx.vault.status().backend, state: ctx.vault.status().state, devUnseal: config.vault.devUnseal || Boolean(o.devUnseal), threshold: unsealShares.length ? threshold : undefined },
            unsealShares,
            token: created.token,
            tokenId: created.info.id,
          };
        });
        out(o, result, () =>
          [
            `initialised ${result.dataDir}`,
            `  store:  ${result.store}`,
            `  config: ${result.configFile}`,
            `  vault:  ${result.vault.backend}, ${result.vault.state}${result.vault.devUnseal ? ' (DEVELOPMENT auto-unseal: the master key is in a file)' : ''}`,
            ...(result.unsealShares.length
              ? ['', `vault unseal shares (shown once; give one to each custodian; any ${threshold} of ${shares} unseal):`, ...result.unsealShares.map((s, i) => `  ${i + 1}: ${s}`)]
              : []),
            '',
            'first city-admin token (shown once; keep it in a password manager):',
            `  ${result.token}`,
          ].join('\n'),
        );
      }),
    );
}
