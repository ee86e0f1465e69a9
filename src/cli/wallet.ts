/** `citytrust wallet …`: registered wallets (holder devices). Acts on a running server. */
import { Command } from 'commander';
import { action, out, table, withCommon } from './common.ts';
import { client, withServer, type ClientOptions } from './client.ts';

const remote = (name: string) => withServer(withCommon(new Command(name)));

export function walletCommand(): Command {
  const cmd = new Command('wallet').description('holder wallets: registration challenges, listing, deactivation (docs/wallet.md)');
  cmd.addCommand(
    remote('challenge')
      .description('a registration challenge for a new wallet (the phone signs it with its SE key)')
      .requiredOption('-t, --tenant <tenant>', 'tenant id')
      .addHelpText('after', '\nExample:\n  CITYTRUST_TOKEN=… citytrust wallet challenge --tenant metro --json')
      .action(
        action(async (o: ClientOptions & { tenant: string }) => {
          const c = await client(o).call<{ challengeId: string; challenge: string; expiresAt: number }>('POST', '/v1/wallets/challenges', { tenant: o.tenant });
          out(o, c, () => `challenge ${c.challengeId}: ${c.challenge} (until ${new Date(c.expiresAt).toISOString()})`);
        }),
      ),
  );
  cmd.addCommand(
    remote('list')
      .description('list wallets')
      .option('-t, --tenant <tenant>', 'tenant id')
      .action(
        action(async (o: ClientOptions & { tenant?: string }) => {
          const list = await client(o).call<Record<string, unknown>[]>('GET', `/v1/wallets${o.tenant ? `?tenant=${encodeURIComponent(o.tenant)}` : ''}`);
          out(o, list, () => table(list, ['id', 'tenant', 'label', 'state', 'attestationFormat', 'pendingDeliveries']));
        }),
      ),
  );
  cmd.addCommand(
    remote('deactivate')
      .description('deactivate a wallet (lost device): no more deliveries or syncs')
      .argument('<id>', 'wallet id (w_…)')
      .action(
        action(async (id: string, o: ClientOptions) => {
          const w = await client(o).call<{ id: string; state: string }>('POST', `/v1/wallets/${encodeURIComponent(id)}/deactivate`);
          out(o, w, () => `${w.id} is ${w.state}`);
        }),
      ),
  );
  return cmd;
}
