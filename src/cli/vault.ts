/**
 * `citytrust vault …`. `init` works on the data directory; every other command talks to the
 * running server, because the unsealed master key lives only in the server's memory.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { CityTrustError } from '../core/errors.ts';
import { fromBase64, toBase64 } from '../core/bytes.ts';
import { PLATFORM_CALLER } from '../server/vault-wiring.ts';
import { SoftwareVault } from '../vault/software/vault.ts';
import { action, out, table, withCommon, withContext } from './common.ts';
import { client, readLines, withServer, type ClientOptions } from './client.ts';

interface KeyView {
  id: string;
  type: string;
  label: string;
  tenant: string | null;
  usages: string[];
  currentVersion: number;
}

const remote = (name: string) => withServer(withCommon(new Command(name)));
const tenantQ = (t?: string) => (t ? `?tenant=${encodeURIComponent(t)}` : '');

function readInput(o: { in?: string; data?: string }): string {
  if (o.data !== undefined) return o.data;
  if (o.in !== undefined) {
    try {
      return toBase64(readFileSync(o.in));
    } catch (e) {
      throw new CityTrustError('INPUT_INVALID', `cannot read ${o.in}`, { cause: e });
    }
  }
  throw new CityTrustError('INPUT_INVALID', 'give the data with --in <file> or --data <base64>');
}

export function vaultCommand(): Command {
  const cmd = new Command('vault').description('the key vault: init, unseal, seal, status, keys, sign, verify, backup, restore, tamper');

  cmd.addCommand(
    withCommon(new Command('init'))
      .description('initialise the software vault of a data directory and print its unseal shares once')
      .option('--shares <n>', 'unseal shares', '5')
      .option('--threshold <t>', 'shares needed to unseal', '3')
      .action(
        action(async (o: ClientOptions & { shares: string; threshold: string }) => {
          const r = await withContext(o, async (ctx) => {
            if (!(ctx.vault instanceof SoftwareVault)) throw new CityTrustError('VAULT_UNSUPPORTED', 'a PKCS#11 token is initialised with the HSM vendor tools');
            const res = await ctx.vault.init(PLATFORM_CALLER, { shares: Number(o.shares), threshold: Number(o.threshold) });
            await ctx.onVaultUnsealed();
            return res;
          });
          out(o, r, () => [`vault ${r.vaultId} initialised; unseal shares (shown once, one per custodian):`, ...r.shares.map((s, i) => `  ${i + 1}: ${s}`)].join('\n'));
        }),
      ),
  );

  cmd.addCommand(
    remote('status')
      .description('show the vault state (uninitialised, sealed with progress, unsealed, tampered)')
      .action(
        action(async (o: ClientOptions) => {
          const s = await client(o).call<{ backend: string; state: string; unseal?: { threshold: number; received: number }; tamper?: { reason: string } }>('GET', '/v1/vault/status');
          out(o, s, () => `${s.backend} vault: ${s.state}${s.unseal ? ` (${s.unseal.received}/${s.unseal.threshold} shares in)` : ''}${s.tamper ? ` — ${s.tamper.reason}` : ''}`);
        }),
      ),
  );

  cmd.addCommand(
    remote('unseal')
      .description('submit unseal shares, one per line on standard input (or typed at the prompt)')
      .addHelpText('after', '\nEach custodian runs it and types their share; shares never go on the command line.')
      .action(
        action(async (o: ClientOptions) => {
          const c = client(o);
          const shares = await readLines('unseal share: ', 255);
          if (shares.length === 0) throw new CityTrustError('INPUT_INVALID', 'no share given');
          let last = { threshold: 0, received: 0, unsealed: false };
          for (const share of shares) {
            last = await c.call('POST', '/v1/vault/unseal', { share });
            if (last.unsealed) break;
          }
          out(o, last, () => (last.unsealed ? 'vault unsealed' : `${last.received}/${last.threshold} shares in; the vault stays sealed until the threshold is reached`));
        }),
      ),
  );

  cmd.addCommand(
    remote('seal')
      .description('seal the vault: the master key and cached keys leave memory')
      .action(
        action(async (o: ClientOptions) => {
          const s = await client(o).call<{ state: string }>('POST', '/v1/vault/seal', {});
          out(o, s, () => `vault ${s.state}`);
        }),
      ),
  );

  cmd.addCommand(
    remote('tamper')
      .description('declare tampering: zeroize every key now (irreversible; recover with `vault restore`)')
      .requiredOption('-r, --reason <text>', 'why (recorded in the audit log)')
      .action(
        action(async (o: ClientOptions & { reason: string }) => {
          const s = await client(o).call<{ state: string }>('POST', '/v1/vault/tamper', { reason: o.reason });
          out(o, s, () => `vault ${s.state}: every key was zeroized`);
        }),
      ),
  );

  const keys = new Command('keys').description('list, create, rotate and destroy keys');
  keys.addCommand(
    remote('list')
      .description("list keys of a tenant (or the city's own)")
      .option('-t, --tenant <id>', 'tenant (city-admin only)')
      .action(
        action(async (o: ClientOptions & { tenant?: string }) => {
          const list = await client(o).call<KeyView[]>('GET', `/v1/vault/keys${tenantQ(o.tenant)}`);
          out(o, list, () => table(list as unknown as Record<string, unknown>[], ['id', 'type', 'label', 'tenant', 'usages', 'currentVersion']));
        }),
      ),
  );
  keys.addCommand(
    remote('create')
      .description('create a key (ec-p256, ec-p384, ed25519, aes-256-gcm, hmac-sha256)')
      .requiredOption('--type <type>', 'key type')
      .requiredOption('-l, --label <label>', 'what the key is for')
      .option('-u, --usages <list>', 'comma-separated usages (default: the type\'s defaults)')
      .option('-t, --tenant <id>', 'tenant (city-admin only)')
      .action(
        action(async (o: ClientOptions & { type: string; label: string; usages?: string; tenant?: string }) => {
          const k = await client(o).call<KeyView>('POST', `/v1/vault/keys${tenantQ(o.tenant)}`, { type: o.type, label: o.label, ...(o.usages ? { usages: o.usages.split(',') } : {}) });
          out(o, k, () => `created ${k.type} key ${k.id} (${k.usages.join(',')})`);
        }),
      ),
  );
  keys.addCommand(
    remote('rotate')
      .description('rotate a key: new version for new operations; old versions verify/decrypt only')
      .argument('<id>', 'key id')
      .option('-t, --tenant <id>', 'tenant (city-admin only)')
      .action(
        action(async (id: string, o: ClientOptions & { tenant?: string }) => {
          const k = await client(o).call<KeyView>('POST', `/v1/vault/keys/${encodeURIComponent(id)}/rotate${tenantQ(o.tenant)}`, {});
          out(o, k, () => `key ${k.id} is now at version ${k.currentVersion}`);
        }),
      ),
  );
  keys.addCommand(
    remote('destroy')
      .description('destroy every version of a key')
      .argument('<id>', 'key id')
      .option('-t, --tenant <id>', 'tenant (city-admin only)')
      .action(
        action(async (id: string, o: ClientOptions & { tenant?: string }) => {
          await client(o).call('DELETE', `/v1/vault/keys/${encodeURIComponent(id)}${tenantQ(o.tenant)}`);
          out(o, { destroyed: id }, () => `key ${id} destroyed`);
        }),
      ),
  );
  cmd.addCommand(keys);

  cmd.addCommand(
    remote('sign')
      .description('sign a file (or base64 data) with a vault key')
      .argument('<id>', 'key id')
      .option('--in <file>', 'file to sign')
      .option('--data <base64>', 'data to sign')
      .option('--format <f>', 'ECDSA encoding: der or p1363')
      .option('-t, --tenant <id>', 'tenant (city-admin only)')
      .action(
        action(async (id: string, o: ClientOptions & { in?: string; data?: string; format?: string; tenant?: string }) => {
          const s = await client(o).call<{ keyId: string; version: number; signature: string }>('POST', `/v1/vault/keys/${encodeURIComponent(id)}/sign${tenantQ(o.tenant)}`, {
            data: readInput(o),
            ...(o.format ? { format: o.format } : {}),
          });
          out(o, s, () => s.signature);
        }),
      ),
  );

  cmd.addCommand(
    remote('verify')
      .description('verify a signature with a vault key')
      .argument('<id>', 'key id')
      .requiredOption('--signature <base64>', 'the signature')
      .option('--in <file>', 'signed file')
      .option('--data <base64>', 'signed data')
      .option('--format <f>', 'ECDSA encoding: der or p1363')
      .option('-t, --tenant <id>', 'tenant (city-admin only)')
      .action(
        action(async (id: string, o: ClientOptions & { in?: string; data?: string; signature: string; format?: string; tenant?: string }) => {
          const r = await client(o).call<{ valid: boolean }>('POST', `/v1/vault/keys/${encodeURIComponent(id)}/verify${tenantQ(o.tenant)}`, {
            data: readInput(o),
            signature: o.signature,
            ...(o.format ? { format: o.format } : {}),
          });
          out(o, r, () => (r.valid ? 'signature valid' : 'signature INVALID'));
          if (!r.valid) process.exitCode = 3;
        }),
      ),
  );

  cmd.addCommand(
    remote('backup')
      .description('export every key wrapped under a backup key split into recovery shares (printed once)')
      .requiredOption('-o, --out <file>', 'where to write the backup archive')
      .option('--shares <n>', 'recovery shares', '5')
      .option('--threshold <t>', 'shares needed to restore', '3')
      .action(
        action(async (o: ClientOptions & { out: string; shares: string; threshold: string }) => {
          const r = await client(o).call<{ archive: string; shares: string[]; keyCount: number }>('POST', '/v1/vault/backup', { shares: Number(o.shares), threshold: Number(o.threshold) });
          writeFileSync(o.out, fromBase64(r.archive), { mode: 0o600 });
          out(o, { file: o.out, keyCount: r.keyCount, shares: r.shares }, () =>
            [`backup of ${r.keyCount} keys written to ${o.out}; recovery shares (shown once, one per custodian):`, ...r.shares.map((s, i) => `  ${i + 1}: ${s}`)].join('\n'),
          );
        }),
      ),
  );

  cmd.addCommand(
    remote('restore')
      .description('restore keys from a backup archive; recovery shares one per line on standard input')
      .requiredOption('-i, --in <file>', 'the backup archive')
      .action(
        action(async (o: ClientOptions & { in: string }) => {
          let archive: string;
          try {
            archive = toBase64(readFileSync(o.in));
          } catch (e) {
            throw new CityTrustError('INPUT_INVALID', `cannot read ${o.in}`, { cause: e });
          }
          const shares = await readLines('recovery share (empty line to finish): ', 255);
          const r = await client(o).call<{ restored: KeyView[] }>('POST', '/v1/vault/restore', { archive, shares });
          out(o, r, () => `restored ${r.restored.length} keys`);
        }),
      ),
  );
  return cmd;
}
