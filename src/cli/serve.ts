import { Command } from 'commander';
import { createLogger } from '../core/log.ts';
import { CityTrustError } from '../core/errors.ts';
import { buildServer } from '../server/app.ts';
import { closeContext, openContext } from '../server/context.ts';
import { action, configFrom, withCommon, type GlobalOptions } from './common.ts';

interface ServeOptions extends GlobalOptions {
  port?: string;
  host?: string;
  tls?: boolean;
}

const HOUR = 3_600_000;

export function serveCommand(): Command {
  return withCommon(new Command('serve'))
    .description('run the citytrust HTTP server (API, OpenAPI at /openapi.json, docs at /docs)')
    .option('-p, --port <port>', 'TCP port (default 8080, or CITYTRUST_PORT)')
    .option('-H, --host <host>', 'bind address (default 127.0.0.1, or CITYTRUST_HOST)')
    .option('--tls', 'serve HTTPS with a certificate from the services CA, issued at start and renewed automatically (needs `citytrust ca init`); plain HTTP otherwise')
    .action(
      action(async (o: ServeOptions) => {
        const config = configFrom(o, { 'server.port': o.port, 'server.host': o.host });
        const logger = createLogger({ level: config.log.level });
        const ctx = await openContext(config, { logger, checkpointing: true });
        const tls = Boolean(o.tls) || config.server.tls;
        let creds = tls ? await ctx.pki.serverTls(config.server.tlsNames) : undefined;
        const app = await buildServer(ctx, creds ? { https: { key: creds.keyPem, cert: creds.certPem, ca: creds.caPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' } } : {});
        // Hourly: re-sign stale CRLs; with TLS, renew the server certificate at two thirds of its life.
        const timer = setInterval(() => {
          void (async () => {
            await ctx.pki.refresh();
            if (creds) {
              if (ctx.clock.now() >= creds.notBefore + ((creds.notAfter - creds.notBefore) * 2) / 3) {
                creds = await ctx.pki.serverTls(config.server.tlsNames);
                (app.server as unknown as { setSecureContext(o: object): void }).setSecureContext({ key: creds.keyPem, cert: creds.certPem, ca: creds.caPem });
                logger.info({ serial: creds.serial, notAfter: creds.notAfter }, 'server TLS certificate renewed');
              }
            }
          })().catch((e: unknown) => logger.warn({ err: e }, 'PKI refresh failed; retrying in an hour'));
        }, HOUR);
        timer.unref();
        let stopping = false;
        const stop = async (signal: string) => {
          if (stopping) return;
          stopping = true;
          clearInterval(timer);
          logger.info({ signal }, 'shutting down');
          await app.close();
          await closeContext(ctx);
          process.exit(0);
        };
        process.on('SIGINT', () => void stop('SIGINT'));
        process.on('SIGTERM', () => void stop('SIGTERM'));
        // Meter traffic: the embedded broker, or the external one of mqtt.url. A taken port does not stop the API.
        const mqtt = await ctx.metering.startTransport(config.mqtt).catch((e: unknown) => {
          logger.warn({ err: e }, 'meter MQTT transport not started; meter commands answer METER_TRANSPORT_UNAVAILABLE');
          return { kind: 'none' as const, error: e instanceof CityTrustError ? e.code : 'INTERNAL' };
        });
        const address = await app.listen({ port: config.server.port, host: config.server.host });
        logger.info({ address, store: ctx.store.location }, 'citytrust listening');
        if (o.json) process.stdout.write(`${JSON.stringify({ listening: address, store: ctx.store.location, mqtt })}\n`);
        else process.stdout.write(`citytrust listening on ${address}  (docs: ${address}/docs)${'url' in mqtt && mqtt.url ? `\nmeters: ${mqtt.url}` : ''}\n`);
      }),
    );
}
