/**
 * `citytrust meter …`: metering against a running server (the head-end keys are in its vault,
 * the broker in its process) with an API token (CITYTRUST_TOKEN) — setup, meters, readings,
 * alerts, commands and approvals — plus `meter simulate`, a simulated meter that enrols over
 * EST and talks MQTT, and `meter mosquitto-acl` for a production broker.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { CityTrustError } from '../core/errors.ts';
import { systemClock } from '../core/clock.ts';
import { COMMAND_ACTIONS, FileMeterStorage, MeterMqttClient, SimulatedMeter, estEnroll, type HeadEndInfo } from '../metering/meter.ts';
import { mosquittoAcl } from '../metering/mosquitto.ts';
import { action, out, table, withCommon } from './common.ts';
import { client, withServer, type ClientOptions } from './client.ts';

const remote = (name: string) => withServer(withCommon(new Command(name)));
const base = (t: string) => `/v1/metering/tenants/${encodeURIComponent(t)}`;

interface TenantOpt extends ClientOptions {
  tenant: string;
}

const when = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : new Date(ms).toISOString());

function commandText(c: Record<string, unknown>): string {
  const head = `${String(c.id)}  ${String(c.action)} × ${String(c.meterCount)}  ${String(c.state)}${c.refusal ? ` (${String(c.refusal)})` : ''}  approvals ${(c.approvals as string[] | undefined)?.length ?? 0}/${String(c.approvalsRequired)}`;
  const targets = (c.targets as Record<string, unknown>[] | undefined) ?? [];
  return targets.length ? `${head}\n${table(targets, ['meterId', 'district', 'state', 'counter', 'result'])}` : head;
}

export function meterCommand(): Command {
  const cmd = new Command('meter').description('smart meters: setup, registry, readings, alerts, commands with approvals and the blackout guard (docs/metering.md)');

  cmd.addCommand(
    remote('setup')
      .description("create the tenant's head-end keys in the vault (idempotent); tenant-admin")
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .addHelpText('after', '\nExample:\n  CITYTRUST_TOKEN=… citytrust meter setup --tenant utility')
      .action(
        action(async (o: TenantOpt) => {
          const info = await client(o).call<HeadEndInfo>('POST', `${base(o.tenant)}/setup`);
          out(o, info, () => `metering keys of ${o.tenant}: key agreement ${info.keyAgreement.keyId}, command key ${info.commandKeys[0]?.keyId ?? '-'}`);
        }),
      ),
  );

  cmd.addCommand(
    remote('register')
      .description('register a meter with its district, class and customer (sealed at rest)')
      .argument('<id>', 'meter id')
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .requiredOption('--district <district>', 'grid district (the blackout guard budgets per district)')
      .option('--class <class>', 'residential, commercial or industrial', 'residential')
      .requiredOption('--name <name>', 'customer name')
      .requiredOption('--address <address>', 'supply address')
      .option('--protected', 'medical equipment or critical infrastructure: disconnects need a second approver')
      .addHelpText('after', '\nExample:\n  citytrust meter register m-0042 -t utility --district north-3 --name "A. Customer" --address "1 Main St"')
      .action(
        action(async (id: string, o: TenantOpt & { district: string; class: string; name: string; address: string; protected?: boolean }) => {
          const m = await client(o).call<Record<string, unknown>>('POST', `${base(o.tenant)}/meters`, { id, district: o.district, class: o.class, customer: { name: o.name, address: o.address, protected: Boolean(o.protected) } });
          out(o, m, () => `meter ${id} registered in ${o.district}; enrol it with a bootstrap token (\`citytrust device bootstrap\`)`);
        }),
      ),
  );

  cmd.addCommand(
    remote('list')
      .description('list meters (no customer data)')
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .option('--district <district>', 'only this district')
      .option('--limit <n>', 'at most n', '100')
      .action(
        action(async (o: TenantOpt & { district?: string; limit: string }) => {
          const q = new URLSearchParams({ limit: o.limit, ...(o.district ? { district: o.district } : {}) });
          const list = await client(o).call<Record<string, unknown>[]>('GET', `${base(o.tenant)}/meters?${q}`);
          out(o, list, () => table(list, ['id', 'district', 'class', 'relay', 'lastCounter', 'lastImportWh']));
        }),
      ),
  );

  cmd.addCommand(
    remote('show')
      .description('show a meter; with --customer also its decrypted customer record (audited)')
      .argument('<id>', 'meter id')
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .option('--customer', 'include the customer record')
      .action(
        action(async (id: string, o: TenantOpt & { customer?: boolean }) => {
          const c = client(o);
          const m = await c.call<Record<string, unknown>>('GET', `${base(o.tenant)}/meters/${encodeURIComponent(id)}`);
          const customer = o.customer ? await c.call<Record<string, unknown>>('GET', `${base(o.tenant)}/meters/${encodeURIComponent(id)}/customer`) : undefined;
          const value = customer ? { ...m, customer } : m;
          out(o, value, () => Object.entries(value).map(([k, v]) => `${k.padEnd(14)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`).join('\n'));
        }),
      ),
  );

  cmd.addCommand(
    remote('readings')
      .description('stored readings of a meter, with plausibility flags')
      .argument('<id>', 'meter id')
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .option('--after <counter>', 'only counters above this')
      .option('--limit <n>', 'at most n', '100')
      .action(
        action(async (id: string, o: TenantOpt & { after?: string; limit: string }) => {
          const q = new URLSearchParams({ limit: o.limit, ...(o.after ? { after: o.after } : {}) });
          const list = await client(o).call<Record<string, unknown>[]>('GET', `${base(o.tenant)}/meters/${encodeURIComponent(id)}/readings?${q}`);
          out(o, list, () => table(list.map((r) => ({ ...r, meterTime: when(r.meterTime as number) })), ['counter', 'meterTime', 'importWh', 'exportWh', 'powerW', 'flags']));
        }),
      ),
  );

  cmd.addCommand(
    remote('alerts')
      .description('alerts: refused frames, implausible readings, tamper events, refused commands')
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .option('--meter <id>', 'only this meter')
      .option('--kind <kind>', 'only this kind, e.g. METER_COUNTER_REPLAY')
      .option('--severity <s>', 'info, warning or critical')
      .option('--limit <n>', 'at most n', '100')
      .action(
        action(async (o: TenantOpt & { meter?: string; kind?: string; severity?: string; limit: string }) => {
          const q = new URLSearchParams({ limit: o.limit, ...(o.meter ? { meter: o.meter } : {}), ...(o.kind ? { kind: o.kind } : {}), ...(o.severity ? { severity: o.severity } : {}) });
          const list = await client(o).call<Record<string, unknown>[]>('GET', `${base(o.tenant)}/alerts?${q}`);
          out(o, list, () => table(list.map((a) => ({ ...a, lastAt: when(a.lastAt as number) })), ['lastAt', 'severity', 'kind', 'meterId', 'count', 'counter']));
        }),
      ),
  );

  for (const a of COMMAND_ACTIONS) {
    const c = remote(a)
      .description(`request a ${a} command for meters (operator); dispatched at once or after the approvals it needs`)
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .requiredOption('--meters <ids>', 'comma-separated meter ids')
      .requiredOption('--reason <text>', 'why (kept in the audit log; no personal data)')
      .addHelpText('after', `\nExample:\n  citytrust meter ${a} -t utility --meters m-0042 --reason "…"${a === 'tariff' ? ' --tariff-id 7 --activate-at 2026-12-01T00:00:00Z' : ''}`);
    if (a === 'tariff') c.requiredOption('--tariff-id <n>', 'tariff id (u32)').requiredOption('--activate-at <time>', 'ISO date-time the meter switches');
    c.action(
      action(async (o: TenantOpt & { meters: string; reason: string; tariffId?: string; activateAt?: string }) => {
        let args: Record<string, number> | undefined;
        if (a === 'tariff') {
          const activateAt = Date.parse(o.activateAt ?? '');
          if (!/^\d+$/.test(o.tariffId ?? '') || !Number.isFinite(activateAt)) throw new CityTrustError('METER_COMMAND_INVALID', '--tariff-id is a number and --activate-at an ISO date-time');
          args = { tariffId: Number(o.tariffId), activateAt };
        }
        const r = await client(o).call<Record<string, unknown>>('POST', `${base(o.tenant)}/commands`, { action: a, meters: o.meters.split(',').map((s) => s.trim()).filter(Boolean), reason: o.reason, ...(args ? { args } : {}) });
        out(o, r, () => commandText(r));
      }),
    );
    cmd.addCommand(c);
  }

  for (const verb of ['approve', 'cancel', 'dispatch'] as const) {
    cmd.addCommand(
      remote(verb)
        .description(verb === 'approve' ? 'approve a command (an operator other than the requester)' : verb === 'cancel' ? 'cancel a command awaiting approval' : 'dispatch an approved command again after the broker was unavailable')
        .argument('<command-id>', 'mc_…')
        .requiredOption('-t, --tenant <tenant>', 'tenant id')
        .action(
          action(async (id: string, o: TenantOpt) => {
            const r = await client(o).call<Record<string, unknown>>('POST', `${base(o.tenant)}/commands/${encodeURIComponent(id)}/${verb}`);
            out(o, r, () => commandText(r));
          }),
        ),
    );
  }

  cmd.addCommand(
    remote('commands')
      .description('list commands, or show one with its targets')
      .argument('[command-id]', 'show this command')
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .option('--state <state>', 'awaiting-approval, dispatched, refused, cancelled or expired')
      .action(
        action(async (id: string | undefined, o: TenantOpt & { state?: string }) => {
          if (id) {
            const r = await client(o).call<Record<string, unknown>>('GET', `${base(o.tenant)}/commands/${encodeURIComponent(id)}`);
            out(o, r, () => commandText(r));
            return;
          }
          const list = await client(o).call<Record<string, unknown>[]>('GET', `${base(o.tenant)}/commands${o.state ? `?state=${encodeURIComponent(o.state)}` : ''}`);
          out(o, list, () => table(list.map((c) => ({ ...c, requestedAt: when(c.requestedAt as number) })), ['id', 'action', 'meterCount', 'state', 'approvalsRequired', 'requestedBy', 'requestedAt']));
        }),
      ),
  );

  cmd.addCommand(
    remote('mosquitto-acl')
      .description("print a Mosquitto acl_file for the tenant's meters (use_subject_as_username)")
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .action(
        action(async (o: TenantOpt) => {
          const meters: { tenant: string; id: string }[] = [];
          let after: string | undefined;
          for (;;) {
            const page = await client(o).call<{ tenant: string; id: string }[]>('GET', `${base(o.tenant)}/meters?limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`);
            meters.push(...page);
            if (page.length < 1000) break;
            after = page[page.length - 1]!.id;
          }
          // The tenant's head-end is the `head-end` service device (CN=head-end,OU=tls-client,O=<tenant>).
          const acl = mosquittoAcl({ tenants: [o.tenant], meters });
          out(o, { acl, meters: meters.length }, () => acl);
        }),
      ),
  );

  cmd.addCommand(
    withCommon(new Command('simulate'))
      .description('run a simulated meter: enrol over EST (first run), pin the head-end keys, connect over MQTT, send readings and answer commands')
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .requiredOption('--id <id>', 'meter id (registered with `meter register`)')
      .requiredOption('--server <url>', 'citytrust server URL (EST and the head-end keys)')
      .requiredOption('--mqtt <url>', 'broker URL, e.g. mqtt://127.0.0.1:1883')
      .requiredOption('--state <dir>', 'directory of the meter state (keys, counters)')
      .option('--bootstrap-token <token>', 'one-time bootstrap token for the first enrolment (or CITYTRUST_BOOTSTRAP_TOKEN)')
      .option('--root <pem-file>', 'city root certificate the meter pins (needed for EST over https)')
      .option('--readings <n>', 'readings to send, then exit', '1')
      .option('--load <watts>', 'load the meter sees', '1200')
      .option('--interval <ms>', 'real time between readings (energy accrues at --load over it)', '1000')
      .option('--listen <ms>', 'stay connected this long afterwards to answer commands', '0')
      .addHelpText('after', '\nExample:\n  citytrust meter simulate -t utility --id m-0042 --server https://127.0.0.1:8080 --root root.pem \\\n    --mqtt mqtt://127.0.0.1:1883 --state ./m-0042 --bootstrap-token ctb_… --readings 4')
      .action(
        action(async (o: { tenant: string; id: string; server: string; mqtt: string; state: string; bootstrapToken?: string; root?: string; readings: string; load: string; interval: string; listen: string; json?: boolean }) => {
          const meter = SimulatedMeter.open({ tenant: o.tenant, meterId: o.id, storage: new FileMeterStorage(join(o.state, 'meter.json')), clock: systemClock });
          if (meter.phase === 'wiped') throw new CityTrustError('METER_WIPED', 'this meter wiped its keys after a tamper event');
          meter.generateIdentity();
          if (!meter.certificate) {
            const token = o.bootstrapToken ?? process.env.CITYTRUST_BOOTSTRAP_TOKEN;
            if (!token) throw new CityTrustError('INPUT_INVALID', 'the first run needs --bootstrap-token');
            const rootPem = o.root ? readFileSync(o.root, 'utf8') : await fetchRoot(o.server);
            await estEnroll(meter, { url: o.server, bootstrapToken: token, rootPem, now: systemClock.now() });
          }
          const res = await fetch(new URL(`${base(o.tenant)}/head-end`, o.server));
          if (!res.ok) throw new CityTrustError('METER_NOT_PROVISIONED', `the head-end keys are not available (HTTP ${res.status})`);
          meter.trustHeadEnd((await res.json()) as HeadEndInfo);
          const results: string[] = [];
          const link = await MeterMqttClient.connect(meter, { url: o.mqtt, onCommand: (r) => results.push(r) });
          try {
            await link.establishKey();
            const n = Number(o.readings);
            meter.setLoad(Number(o.load));
            let last = systemClock.now();
            for (let i = 0; i < n; i++) {
              if (i > 0) await new Promise((r) => setTimeout(r, Number(o.interval)));
              const now = systemClock.now();
              meter.advance(now - last);
              last = now;
              await link.sendReading();
            }
            if (Number(o.listen) > 0) await new Promise((r) => setTimeout(r, Number(o.listen)));
            await link.idle();
          } finally {
            await link.close();
          }
          const summary = { meter: o.id, counter: meter.counter, importWh: meter.registers.importWh, relayConnected: meter.relayConnected, commands: results };
          out(o, summary, () => `meter ${o.id}: sent up to counter ${summary.counter}, import ${summary.importWh} Wh, relay ${summary.relayConnected ? 'connected' : 'disconnected'}`);
        }),
      ),
  );

  return cmd;
}

/** Development convenience over plain HTTP only: the root certificate from the server's CA endpoint. */
async function fetchRoot(server: string): Promise<string> {
  if (!server.startsWith('http:')) throw new CityTrustError('INPUT_INVALID', 'over https the meter must pin the root: give --root <pem-file>');
  const res = await fetch(new URL('/.well-known/est/cacerts', server));
  if (!res.ok) throw new CityTrustError('METER_ENROLMENT_FAILED', `EST cacerts answered ${res.status}`);
  const { parseCertsOnly } = await import('../metering/est.ts');
  const certs = parseCertsOnly(await res.text());
  return certs.map((d) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(d).toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`).join('');
}
