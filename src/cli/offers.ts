/**
 * `citytrust offers …`: a tenant's offer rules, its holders' attributes and consents, and the
 * offers a holder is eligible for. Acts on a running server with an API token (CITYTRUST_TOKEN).
 * Consent itself is signed by the holder's wallet; the CLI only relays what the phone signed.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { CityTrustError } from '../core/errors.ts';
import { action, out, table, withCommon } from './common.ts';
import { client, withServer, type ClientOptions } from './client.ts';

const remote = (name: string) => withServer(withCommon(new Command(name)));
const q = (tenant: string | undefined) => (tenant ? `?tenant=${encodeURIComponent(tenant)}` : '');
const seg = (s: string) => encodeURIComponent(s);

interface Consent {
  id: string;
  walletId: string;
  attributes: string[];
  grantedAt: number;
  revokedAt: number | null;
}

function json(text: string | undefined, what: string, example: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CityTrustError('INPUT_INVALID', `${what} is JSON, e.g. ${example}`, { cause: e });
  }
}

function degrees(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CityTrustError('INPUT_INVALID', `${what} is a number of degrees`);
  return n;
}

const consentRows = (list: Consent[]) =>
  table(
    list.map((c) => ({ ...c, attributes: c.attributes.join(','), grantedAt: new Date(c.grantedAt).toISOString(), revokedAt: c.revokedAt === null ? '' : new Date(c.revokedAt).toISOString() })),
    ['id', 'walletId', 'attributes', 'grantedAt', 'revokedAt'],
  );

export function offersCommand(): Command {
  const cmd = new Command('offers').description('context-aware offers over consented holder attributes (docs/wallet.md, offers)');

  const rule = new Command('rule').description("a tenant's offer rules: all conditions of a rule must hold");
  rule.addCommand(
    remote('put')
      .description('create or replace a rule')
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .option('--rule <json>', 'the rule as JSON: {id, offer: {title, code}, when: [conditions]}')
      .option('--rule-file <file>', 'the rule from a JSON file')
      .addHelpText(
        'after',
        '\nExample:\n  citytrust offers rule put --tenant cafe --rule \'{"id":"rainy-students","offer":{"title":"Hot chocolate -50 %","code":"CHOC50"},\n    "when":[{"attribute":"student","eq":true},{"context":"weather","eq":"rain"}]}\'',
      )
      .action(
        action(async (o: ClientOptions & { tenant: string; rule?: string; ruleFile?: string }) => {
          const r = json(o.ruleFile !== undefined ? readFileSync(o.ruleFile, 'utf8') : o.rule, 'the rule', '{"id":"r1","offer":{"title":"…","code":"C1"},"when":[…]}');
          if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new CityTrustError('OFFER_RULE_INVALID', 'give the rule with --rule or --rule-file');
          const saved = await client(o).call<{ id: string }>('POST', '/v1/offers/rules', { tenant: o.tenant, ...r });
          out(o, saved, () => `rule ${saved.id} saved for ${o.tenant}`);
        }),
      ),
  );
  rule.addCommand(
    remote('list')
      .description('list the rules of a tenant')
      .option('-t, --tenant <tenant>', 'tenant id (required with a city-wide token)')
      .action(
        action(async (o: ClientOptions & { tenant?: string }) => {
          const list = await client(o).call<{ id: string; offer: { title: string; code: string }; when: unknown[] }[]>('GET', `/v1/offers/rules${q(o.tenant)}`);
          out(o, list, () => table(list.map((r) => ({ id: r.id, code: r.offer.code, title: r.offer.title, conditions: r.when.length })), ['id', 'code', 'title', 'conditions']));
        }),
      ),
  );
  rule.addCommand(
    remote('show')
      .description('show one rule')
      .argument('<id>', 'rule id')
      .option('-t, --tenant <tenant>', 'tenant id (required with a city-wide token)')
      .action(
        action(async (id: string, o: ClientOptions & { tenant?: string }) => {
          const r = await client(o).call<unknown>('GET', `/v1/offers/rules/${seg(id)}${q(o.tenant)}`);
          out(o, r, () => JSON.stringify(r, null, 2));
        }),
      ),
  );
  rule.addCommand(
    remote('delete')
      .description('delete a rule')
      .argument('<id>', 'rule id')
      .option('-t, --tenant <tenant>', 'tenant id (required with a city-wide token)')
      .action(
        action(async (id: string, o: ClientOptions & { tenant?: string }) => {
          await client(o).call<unknown>('DELETE', `/v1/offers/rules/${seg(id)}${q(o.tenant)}`);
          out(o, { deleted: id }, () => `rule ${id} deleted`);
        }),
      ),
  );
  cmd.addCommand(rule);

  cmd.addCommand(
    remote('attributes')
      .description("set a holder's attributes (sealed at rest; rules see only what the holder consented to)")
      .argument('<wallet>', 'wallet id (w_…)')
      .requiredOption('--set <json>', 'attributes as JSON, e.g. {"student":true,"district":"north"}')
      .option('-t, --tenant <tenant>', 'tenant id (required with a city-wide token)')
      .addHelpText('after', '\nExample:\n  citytrust offers attributes w_… --set \'{"student":true}\'')
      .action(
        action(async (wallet: string, o: ClientOptions & { set: string; tenant?: string }) => {
          const attributes = json(o.set, 'attributes', '{"student":true}');
          await client(o).call<unknown>('POST', `/v1/offers/wallets/${seg(wallet)}/attributes`, { ...(o.tenant && { tenant: o.tenant }), attributes });
          out(o, { wallet, attributes }, () => `attributes of ${wallet} stored (sealed)`);
        }),
      ),
  );

  const consent = new Command('consent').description('consents of holders (granted by a signature of their wallet key)');
  consent.addCommand(
    remote('grant')
      .description('relay a consent the wallet signed over ["citytrust/offer-consent/v1", tenant, wallet, attributes, nonce]')
      .argument('<wallet>', 'wallet id (w_…)')
      .requiredOption('--attributes <names>', 'comma-separated attribute names')
      .requiredOption('--nonce <b64url>', 'the nonce the wallet fetched (POST /v1/wallets/{id}/nonce)')
      .requiredOption('--signature <b64url>', 'the wallet ES256 signature (r‖s, base64url)')
      .option('-t, --tenant <tenant>', 'tenant id (required with a city-wide token)')
      .action(
        action(async (wallet: string, o: ClientOptions & { attributes: string; nonce: string; signature: string; tenant?: string }) => {
          const attributes = o.attributes.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
          const c = await client(o).call<Consent>('POST', `/v1/offers/wallets/${seg(wallet)}/consents`, { ...(o.tenant && { tenant: o.tenant }), attributes, nonce: o.nonce, signature: o.signature });
          out(o, c, () => `consent ${c.id}: ${c.attributes.join(', ')}`);
        }),
      ),
  );
  consent.addCommand(
    remote('list')
      .description("list a wallet's consents, active and revoked")
      .argument('<wallet>', 'wallet id (w_…)')
      .option('-t, --tenant <tenant>', 'tenant id (required with a city-wide token)')
      .action(
        action(async (wallet: string, o: ClientOptions & { tenant?: string }) => {
          const list = await client(o).call<Consent[]>('GET', `/v1/offers/wallets/${seg(wallet)}/consents${q(o.tenant)}`);
          out(o, list, () => consentRows(list));
        }),
      ),
  );
  consent.addCommand(
    remote('revoke')
      .description('revoke a consent: its attributes stop reaching the rules at once')
      .argument('<id>', 'consent id (oc_…)')
      .option('-t, --tenant <tenant>', 'tenant id (required with a city-wide token)')
      .action(
        action(async (id: string, o: ClientOptions & { tenant?: string }) => {
          const c = await client(o).call<Consent>('POST', `/v1/offers/consents/${seg(id)}/revoke`, o.tenant ? { tenant: o.tenant } : {});
          out(o, c, () => `consent ${c.id} revoked`);
        }),
      ),
  );
  cmd.addCommand(consent);

  cmd.addCommand(
    remote('eligible')
      .description('the offers a holder is eligible for now, in a place and a context feed')
      .argument('<wallet>', 'wallet id (w_…)')
      .option('--lat <degrees>', 'latitude of the holder')
      .option('--lon <degrees>', 'longitude of the holder')
      .option('--feed <json>', 'context feed as JSON, e.g. {"weather":"rain","temperatureC":11}')
      .option('-t, --tenant <tenant>', 'tenant id (required with a city-wide token)')
      .addHelpText('after', '\nExample:\n  citytrust offers eligible w_… --lat 52.52 --lon 13.405 --feed \'{"weather":"rain"}\' --json')
      .action(
        action(async (wallet: string, o: ClientOptions & { lat?: string; lon?: string; feed?: string; tenant?: string }) => {
          const lat = degrees(o.lat, '--lat');
          const lon = degrees(o.lon, '--lon');
          if ((lat === undefined) !== (lon === undefined)) throw new CityTrustError('INPUT_INVALID', 'give --lat and --lon together');
          const feed = json(o.feed, 'the feed', '{"weather":"rain"}');
          const body = { ...(o.tenant && { tenant: o.tenant }), ...(lat !== undefined && { place: { lat, lon } }), ...(feed !== undefined && { feed }) };
          const list = await client(o).call<{ title: string; code: string }[]>('POST', `/v1/offers/wallets/${seg(wallet)}/eligible`, body);
          out(o, list, () => (list.length === 0 ? 'no offer applies' : table(list as unknown as Record<string, unknown>[], ['code', 'title'])));
        }),
      ),
  );
  return cmd;
}
