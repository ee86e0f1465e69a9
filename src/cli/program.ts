/** The `citytrust` command tree. One file per command group; every command has --help. */
import { Command } from 'commander';
import { initCommand } from './init.ts';
import { serveCommand } from './serve.ts';
import { tenantCommand } from './tenant.ts';
import { tokenCommand } from './token.ts';
import { auditCommand } from './audit.ts';
import { vaultCommand } from './vault.ts';
import { updatesCommand } from './updates.ts';
import { demoCommand } from './demo.ts';
import { caCommand } from './ca.ts';
import { certCommand } from './cert.ts';
import { deviceCommand } from './device.ts';
import { credentialCommand } from './credential.ts';
import { walletCommand } from './wallet.ts';
import { offersCommand } from './offers.ts';
import { meterCommand } from './meter.ts';
import { readerCommand } from './reader.ts';

export function buildProgram(): Command {
  const program = new Command('citytrust')
    .description('citytrust: trust platform for smart cities (key vault, PKI, credentials, meters, updates, audit)')
    .version('0.1.0')
    // `citytrust --version` is the program's; after a subcommand, `--version` is that command's
    // own option (e.g. `updates publish --version 2.1.0`), not the program version.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nQuick start:\n  citytrust demo            run the demo city on embedded defaults\n  citytrust init && citytrust serve\n\nEvery command takes --help; reporting commands take --json.');

  program.addCommand(initCommand());
  program.addCommand(serveCommand());
  program.addCommand(demoCommand());
  program.addCommand(tenantCommand());
  program.addCommand(tokenCommand());
  program.addCommand(auditCommand());
  program.addCommand(vaultCommand());
  program.addCommand(updatesCommand());
  program.addCommand(caCommand());
  program.addCommand(certCommand());
  program.addCommand(deviceCommand());
  program.addCommand(credentialCommand());
  program.addCommand(walletCommand());
  program.addCommand(offersCommand());
  program.addCommand(meterCommand());
  program.addCommand(readerCommand());
  return program;
}

