import { Command } from 'commander';
import { CityTrustError } from '../core/errors.ts';
import { DEVICE_STATES, DEVICE_TYPES } from '../devices/index.ts';
import { action, out, table, withCommon, withContext, type GlobalOptions } from './common.ts';

const ACTOR = 'system:cli';

interface TenantOpt extends GlobalOptions {
  tenant: string;
}

export function deviceCommand(): Command {
  const cmd = new Command('device').description('the device registry: register devices, change their state, issue bootstrap tokens');
  cmd.addCommand(
    withCommon(new Command('register'))
      .description('register a device (state pending until it enrols)')
      .argument('<id>', 'device id: a–z, 0–9, ".", "_", "-" (1–63)')
      .requiredOption('-t, --tenant <tenant>', 'owning tenant')
      .requiredOption('--type <type>', DEVICE_TYPES.join(' | '))
      .requiredOption('--site <site>', 'where it is, e.g. "Central Station, gate 3"')
      .option('--label <label>', 'free text')
      .addHelpText('after', '\nExample:\n  citytrust device register gate-17 --tenant transit --type gate --site "Central Station"')
      .action(
        action(async (id: string, o: TenantOpt & { type: string; site: string; label?: string }) => {
          const d = await withContext(o, (ctx) => ctx.devices.register({ tenant: o.tenant, id, type: o.type, site: o.site, ...(o.label ? { label: o.label } : {}) }, ACTOR));
          out(o, d, () => `registered ${d.type} ${d.tenant}/${d.id} (${d.state})`);
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('list'))
      .description('list devices')
      .option('-t, --tenant <tenant>', 'only this tenant')
      .option('--state <state>', DEVICE_STATES.join(' | '))
      .option('--type <type>', DEVICE_TYPES.join(' | '))
      .addHelpText('after', '\nExample:\n  citytrust device list --tenant transit --state active --json')
      .action(
        action(async (o: GlobalOptions & { tenant?: string; state?: string; type?: string }) => {
          if (o.state && !(DEVICE_STATES as readonly string[]).includes(o.state)) throw new CityTrustError('INPUT_INVALID', `--state is one of ${DEVICE_STATES.join(', ')}`);
          const rows = await withContext(o, (ctx) => ctx.devices.list(null, { ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.state ? { state: o.state as 'active' } : {}), ...(o.type ? { type: o.type as 'gate' } : {}) }));
          out(o, rows, () => table(rows as unknown as Record<string, unknown>[], ['tenant', 'id', 'type', 'state', 'site']));
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('show'))
      .description('show a device and its certificates')
      .argument('<id>', 'device id')
      .requiredOption('-t, --tenant <tenant>', 'owning tenant')
      .addHelpText('after', '\nExample:\n  citytrust device show gate-17 --tenant transit')
      .action(
        action(async (id: string, o: TenantOpt) => {
          const r = await withContext(o, async (ctx) => {
            const device = await ctx.devices.get(null, o.tenant, id);
            const certificates = (await ctx.pki.listCertificates(null, { tenant: o.tenant, deviceId: id })).map(({ certificatePem: _p, ...c }) => c);
            return { ...device, certificates };
          });
          out(o, r, () => `${r.tenant}/${r.id}  ${r.type}  ${r.state}  site: ${r.site}\n${table(r.certificates as unknown as Record<string, unknown>[], ['serial', 'profile', 'status', 'reason'])}`);
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('state'))
      .description('change a device state: compromised revokes all its certificates (keyCompromise), retired revokes them, suspended holds them, active releases the hold')
      .argument('<id>', 'device id')
      .argument('<state>', DEVICE_STATES.filter((s) => s !== 'pending').join(' | '))
      .requiredOption('-t, --tenant <tenant>', 'owning tenant')
      .addHelpText('after', '\nExample:\n  citytrust device state gate-17 compromised --tenant transit')
      .action(
        action(async (id: string, state: string, o: TenantOpt) => {
          const d = await withContext(o, (ctx) => ctx.devices.setState(null, o.tenant, id, state, ACTOR));
          out(o, d, () => `${d.tenant}/${d.id} is now ${d.state}`);
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('bootstrap'))
      .description('create a one-time bootstrap token for the device\'s enrolment (printed once, stored only as a hash)')
      .argument('<id>', 'device id')
      .requiredOption('-t, --tenant <tenant>', 'owning tenant')
      .option('--ttl <seconds>', 'lifetime in seconds (default pki.bootstrapTtlSeconds)')
      .addHelpText('after', '\nExample:\n  citytrust device bootstrap gate-17 --tenant transit --ttl 3600')
      .action(
        action(async (id: string, o: TenantOpt & { ttl?: string }) => {
          const ttl = o.ttl === undefined ? undefined : Number(o.ttl);
          if (ttl !== undefined && !Number.isSafeInteger(ttl)) throw new CityTrustError('INPUT_INVALID', '--ttl is a whole number of seconds');
          const t = await withContext(o, (ctx) => ctx.bootstrap.create(null, o.tenant, id, ACTOR, ttl));
          out(o, t, () => `${t.token}\n(one use, expires ${new Date(t.expiresAt).toISOString()}; shown once)`);
        }),
      ),
  );
  return cmd;
}
