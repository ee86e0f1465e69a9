/**
 * `citytrust credential …`: issuer keys, templates, issuance and lifecycle. These act on a running
 * server (the issuer keys are in its unsealed vault) with an API token (CITYTRUST_TOKEN).
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { CityTrustError } from '../core/errors.ts';
import { action, out, table, withCommon } from './common.ts';
import { client, withServer, type ClientOptions } from './client.ts';

const remote = (name: string) => withServer(withCommon(new Command(name)));

interface CredentialRow {
  id: string;
  tenant: string;
  template: string | null;
  wallet: string;
  status: string;
  validUntil: number;
  size: number;
}

function grantsOf(o: { grants?: string; grantsFile?: string }): unknown {
  const text = o.grantsFile !== undefined ? readFileSync(o.grantsFile, 'utf8') : o.grants;
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CityTrustError('INPUT_INVALID', 'grants is JSON, e.g. {"zones":["A","B"],"class":1}', { cause: e });
  }
}

function seconds(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v);
  if (!Number.isFinite(t)) throw new CityTrustError('INPUT_INVALID', `${what} is an ISO date-time or seconds since the epoch`);
  return Math.floor(t / 1000);
}

const rows = (list: CredentialRow[]) => table(list.map((c) => ({ ...c, validUntil: new Date(c.validUntil * 1000).toISOString() })) as unknown as Record<string, unknown>[], ['id', 'tenant', 'template', 'wallet', 'status', 'validUntil', 'size']);

export function credentialCommand(): Command {
  const cmd = new Command('credential').description('issue and manage credentials for people (docs/credential-format.md)');

  const keys = new Command('issuer-key').description('per-tenant issuer keys certified by the city root');
  keys.addCommand(
    remote('rotate')
      .description('create the tenant issuer key, or rotate it (the old key stays trusted for what it signed)')
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .option('--alg <alg>', 'ES256 (default) or EdDSA', 'ES256')
      .addHelpText('after', '\nExample:\n  CITYTRUST_TOKEN=… citytrust credential issuer-key rotate --tenant metro')
      .action(
        action(async (o: ClientOptions & { tenant: string; alg: string }) => {
          const k = await client(o).call<{ kid: string; alg: string }>('POST', '/v1/credentials/issuer-keys', { tenant: o.tenant, alg: o.alg });
          out(o, k, () => `issuer key ${k.kid} (${k.alg}) is current for ${o.tenant}`);
        }),
      ),
  );
  keys.addCommand(
    remote('list')
      .description('list issuer keys')
      .option('-t, --tenant <tenant>', 'tenant id')
      .action(
        action(async (o: ClientOptions & { tenant?: string }) => {
          const list = await client(o).call<Record<string, unknown>[]>('GET', `/v1/credentials/issuer-keys${o.tenant ? `?tenant=${encodeURIComponent(o.tenant)}` : ''}`);
          out(o, list, () => table(list, ['kid', 'tenant', 'alg', 'state', 'lastCredentialExpiry']));
        }),
      ),
  );
  cmd.addCommand(keys);

  const templates = new Command('template').description('credential templates (products)');
  templates.addCommand(
    remote('create')
      .description('create a template')
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .requiredOption('--id <id>', 'template id, e.g. day-1st-ab')
      .requiredOption('-n, --name <name>', 'display name')
      .requiredOption('--validity <seconds>', 'validity in seconds')
      .option('--grants <json>', 'grants as JSON')
      .option('--grants-file <file>', 'grants from a JSON file')
      .addHelpText('after', '\nExample:\n  citytrust credential template create --tenant metro --id day-ab --name "Day ticket A–B" --validity 86400 \\\n    --grants \'{"zones":["A","B"],"class":2}\'')
      .action(
        action(async (o: ClientOptions & { tenant: string; id: string; name: string; validity: string; grants?: string; grantsFile?: string }) => {
          const t = await client(o).call<{ id: string }>('POST', '/v1/credentials/templates', { tenant: o.tenant, id: o.id, name: o.name, validitySeconds: Number(o.validity), grants: grantsOf(o) ?? {} });
          out(o, t, () => `created template ${t.id}`);
        }),
      ),
  );
  templates.addCommand(
    remote('list')
      .description('list templates')
      .option('-t, --tenant <tenant>', 'tenant id')
      .action(
        action(async (o: ClientOptions & { tenant?: string }) => {
          const list = await client(o).call<Record<string, unknown>[]>('GET', `/v1/credentials/templates${o.tenant ? `?tenant=${encodeURIComponent(o.tenant)}` : ''}`);
          out(o, list, () => table(list, ['tenant', 'id', 'name', 'validitySeconds']));
        }),
      ),
  );
  cmd.addCommand(templates);

  cmd.addCommand(
    remote('issue')
      .description('issue a credential to a registered wallet (sealed to its SE key, queued for sync)')
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .requiredOption('-w, --wallet <id>', 'wallet id (w_…)')
      .option('--template <id>', 'template id')
      .option('--grants <json>', 'grants as JSON (instead of, or on top of, the template)')
      .option('--grants-file <file>', 'grants from a JSON file')
      .option('--from <when>', 'valid from (ISO date-time or epoch seconds; default now)')
      .option('--until <when>', 'valid until (default: from + the template validity)')
      .option('--holder-name <name>', 'holder name (stored encrypted)')
      .option('--holder-email <email>', 'holder e-mail (stored encrypted, searchable by keyed hash)')
      .addHelpText('after', '\nExample:\n  citytrust credential issue --tenant metro --wallet w_… --template day-ab --holder-email ada@example.org')
      .action(
        action(async (o: ClientOptions & { tenant: string; wallet: string; template?: string; grants?: string; grantsFile?: string; from?: string; until?: string; holderName?: string; holderEmail?: string }) => {
          const holder = o.holderName || o.holderEmail ? { ...(o.holderName && { name: o.holderName }), ...(o.holderEmail && { email: o.holderEmail }) } : undefined;
          const grants = grantsOf(o);
          const body = {
            tenant: o.tenant,
            walletId: o.wallet,
            ...(o.template && { template: o.template }),
            ...(grants !== undefined && { grants }),
            ...(o.from && { validFrom: seconds(o.from, '--from') }),
            ...(o.until && { validUntil: seconds(o.until, '--until') }),
            ...(holder && { holder }),
          };
          const c = await client(o).call<CredentialRow>('POST', '/v1/credentials', body);
          out(o, c, () => `issued ${c.id} (${c.size} bytes) to ${c.wallet}, valid until ${new Date(c.validUntil * 1000).toISOString()}`);
        }),
      ),
  );

  cmd.addCommand(
    remote('list')
      .description('list and filter credentials')
      .option('-t, --tenant <tenant>', 'tenant id')
      .option('--status <status>', 'active, suspended or revoked')
      .option('-w, --wallet <id>', 'wallet id')
      .option('--template <id>', 'template id')
      .option('--holder-email <email>', 'holder e-mail (matched by keyed hash)')
      .option('--limit <n>', 'at most n (default 100)')
      .action(
        action(async (o: ClientOptions & { tenant?: string; status?: string; wallet?: string; template?: string; holderEmail?: string; limit?: string }) => {
          const q = new URLSearchParams();
          for (const [k, v] of [['tenant', o.tenant], ['status', o.status], ['wallet', o.wallet], ['template', o.template], ['holderEmail', o.holderEmail], ['limit', o.limit]] as const) if (v !== undefined) q.set(k, v);
          const list = await client(o).call<CredentialRow[]>('GET', `/v1/credentials?${q.toString()}`);
          out(o, list, () => rows(list));
        }),
      ),
  );

  for (const verb of ['suspend', 'resume', 'revoke'] as const) {
    cmd.addCommand(
      remote(verb)
        .description(`${verb} a credential (published in the next status list version; the wallet is told)`)
        .argument('<id>', 'credential id (16 hex)')
        .option('--reason <text>', 'reason, kept with the credential and in the audit log')
        .action(
          action(async (id: string, o: ClientOptions & { reason?: string }) => {
            const c = await client(o).call<CredentialRow>('POST', `/v1/credentials/${encodeURIComponent(id)}/${verb}`, o.reason ? { reason: o.reason } : {});
            out(o, c, () => `${c.id} is ${c.status}`);
          }),
        ),
    );
  }

  cmd.addCommand(
    remote('update')
      .description('re-issue a credential with new grants or validity and revoke the old one')
      .argument('<id>', 'credential id')
      .option('--grants <json>', 'new grants as JSON')
      .option('--until <when>', 'new end of validity')
      .action(
        action(async (id: string, o: ClientOptions & { grants?: string; until?: string }) => {
          const grants = grantsOf(o);
          const c = await client(o).call<CredentialRow>('POST', `/v1/credentials/${encodeURIComponent(id)}/update`, { ...(grants !== undefined && { grants }), ...(o.until && { validUntil: seconds(o.until, '--until') }) });
          out(o, c, () => `${id} replaced by ${c.id}`);
        }),
      ),
  );
  return cmd;
}
