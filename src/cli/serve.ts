import { Command } from 'commander';
import { createLogger } from '../core/log.ts';
import { buildServer } from '../server/app.ts';
import { closeContext, openContext } from '../server/context.ts';
import { action, configFrom, withCommon, type GlobalOptions } from './common.ts';

interface ServeOptions extends GlobalOptions {
  port?: string;
  host?: string;
}

export function serveCommand(): Command {
  return withCommon(new Command('serve'))
    .description('run the citytrust HTTP server (API, OpenAPI at /openapi.json, docs at /docs)')
    .option('-p, --port <port>', 'TCP port (default 8080, or CITYTRUST_PORT)')
    .option('-H, --host <host>', 'bind address (default 127.0.0.1, or CITYTRUST_HOST)')
    .action(
      action(async (o: ServeOptions) => {
        const config = configFrom(o, { 'server.port': o.port, 'server.host': o.host });
        const logger = createLogger({ level: config.log.level });
        const ctx = await openContext(config, { logger, checkpointing: true });
        const app = await buildServer(ctx);
        let stopping = false;
        const stop = async (signal: string) => {
          if (stopping) return;
          stopping = true;
          logger.info({ signal }, 'shutting down');
          await app.close();
          await closeContext(ctx);
          process.exit(0);
        };
        process.on('SIGINT', () => void stop('SIGINT'));
        process.on('SIGTERM', () => void stop('SIGTERM'));
        const address = await app.listen({ port: config.server.port, host: config.server.host });
        logger.info({ address, store: ctx.store.location }, 'citytrust listening');
        if (o.json) process.stdout.write(`${JSON.stringify({ listening: address, store: ctx.store.location })}\n`);
        else process.stdout.write(`citytrust listening on ${address}  (docs: ${address}/docs)\n`);
      }),
    );
}
