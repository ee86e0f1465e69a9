import { Command } from 'commander';
import { action, out, table, withCommon, withContext, type GlobalOptions } from './common.ts';

interface CreateOpts extends GlobalOptions {
  roles: string;
  tenant?: string;
  label?: string;
  ttl?: string;
}

export function tokenCommand(): Command {
  const cmd = new Command('token').description('manage API tokens (256-bit, stored only as a hash)');
  cmd.addCommand(
    withCommon(new Command('create'))
      .description('create a token; its secret is printed once')
      .requiredOption('-r, --roles <roles>', 'comma-separated: city-admin, tenant-admin, issuer, operator, auditor')
      .option('-t, --tenant <id>', 'tenant the token acts for (omit for city-wide city-admin/auditor)')
      .option('-l, --label <text>', 'what the token is for')
      .option('--ttl <seconds>', 'lifetime in seconds (default: no expiry)')
      .addHelpText('after', '\nExample:\n  citytrust token create --tenant metro --roles issuer --label "ticket shop"')
      .action(
        action(async (o: CreateOpts) => {
          const ttl = o.ttl === undefined ? undefined : /^\d+$/.test(o.ttl) ? Number(o.ttl) : o.ttl;
          const created = await withContext(o, (ctx) =>
            ctx.tokens.create({ tenant: o.tenant ?? null, roles: o.roles.split(',').map((s) => s.trim()), label: o.label, ...(ttl !== undefined ? { ttlSeconds: ttl } : {}) }, undefined),
          );
          out(o, created, () => `created token ${created.info.id} (${created.info.roles.join(',')}${created.info.tenant ? ` for ${created.info.tenant}` : ', city-wide'})\n  ${created.token}\n(shown once)`);
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('list'))
      .description('list tokens (never their secrets)')
      .option('-t, --tenant <id>', 'only this tenant')
      .action(
        action(async (o: GlobalOptions & { tenant?: string }) => {
          const list = await withContext(o, (ctx) => ctx.tokens.list(o.tenant));
          out(o, list, () => table(list as unknown as Record<string, unknown>[], ['id', 'tenant', 'roles', 'label', 'revokedAt']));
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('revoke'))
      .description('revoke a token')
      .argument('<id>', 'token id (the 16 hex characters after ct_)')
      .action(
        action(async (id: string, o: GlobalOptions) => {
          const info = await withContext(o, (ctx) => ctx.tokens.revoke(id, undefined));
          out(o, info, () => `revoked token ${info.id}`);
        }),
      ),
  );
  return cmd;
}
