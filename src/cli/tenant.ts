import { Command } from 'commander';
import { action, out, table, withCommon, withContext, type GlobalOptions } from './common.ts';

export function tenantCommand(): Command {
  const cmd = new Command('tenant').description('manage tenants (service providers)');
  cmd.addCommand(
    withCommon(new Command('create'))
      .description('create a tenant')
      .argument('<id>', 'tenant id: 3–40 of a–z, 0–9, inner hyphens (e.g. metro)')
      .requiredOption('-n, --name <name>', 'display name (e.g. "Metro Transit")')
      .action(
        action(async (id: string, o: GlobalOptions & { name: string }) => {
          const t = await withContext(o, (ctx) => ctx.tenants.create({ id, name: o.name }, 'system:cli'));
          out(o, t, () => `created tenant ${t.id} (${t.name})`);
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('list'))
      .description('list tenants')
      .action(
        action(async (o: GlobalOptions) => {
          const list = await withContext(o, (ctx) => ctx.tenants.list());
          out(o, list, () => table(list as unknown as Record<string, unknown>[], ['id', 'name', 'status']));
        }),
      ),
  );
  return cmd;
}
