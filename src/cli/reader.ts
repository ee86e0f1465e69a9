/**
 * `citytrust reader`: readers as the server sees them (list, events, stats), and a software reader
 * on this machine (init, enroll, refresh, upload, online, tap, status) with its state in --dir.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { systemClock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import { fromBase64Url } from '../core/bytes.ts';
import { createCsr, enroll, initReaderHome, openReaderHome } from '../reader/index.ts';
import { TcpReaderLink, WebSocketReaderLink } from '../tap/index.ts';
import { ReaderIngest } from '../server/routes/reader-ingest.ts';
import type { AppContext } from '../server/context.ts';
import { action, out, table, withCommon, withContext, type GlobalOptions } from './common.ts';

/** --root: a file (PEM or DER) or base64url bytes. */
function rootArgument(v: string): Uint8Array | string {
  if (!existsSync(v)) return fromBase64Url(v);
  const bytes = new Uint8Array(readFileSync(v));
  const text = new TextDecoder().decode(bytes);
  return text.includes('-----BEGIN ') ? text : bytes;
}

function ingest(ctx: AppContext): ReaderIngest {
  return new ReaderIngest({ store: ctx.store, audit: ctx.audit, clock: ctx.clock, pki: ctx.pki, credentials: ctx.credentials });
}

function uint(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new CityTrustError('INPUT_INVALID', `${what} is a whole number`);
  return Number(v);
}

interface DirOptions extends GlobalOptions {
  dir: string;
}

const withDir = (c: Command): Command => c.requiredOption('--dir <dir>', "the reader's state directory");

export function readerCommand(): Command {
  const cmd = new Command('reader').description('readers: uploaded tap events and counters (server), and a software reader on this machine (device)');

  cmd.addCommand(
    withCommon(new Command('list'))
      .description('readers that uploaded events or fetched trust data, with their counters')
      .option('--tenant <id>', 'only this tenant')
      .addHelpText('after', '\nExample:\n  citytrust reader list --tenant metro --json')
      .action(
        action(async (o: GlobalOptions & { tenant?: string }) => {
          const list = await withContext(o, (ctx) => ingest(ctx).list(undefined, o.tenant));
          out(o, list, () => table(list as unknown as Record<string, unknown>[], ['tenant', 'id', 'site', 'profile', 'events', 'granted', 'denied', 'alerts', 'lastSeq']));
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('events'))
      .description("a reader's uploaded tap events, oldest first")
      .argument('<id>', 'reader (device) id')
      .requiredOption('--tenant <id>', 'tenant of the reader')
      .option('--after <seq>', 'only events after this sequence number')
      .option('--limit <n>', 'at most this many (default 100, at most 1000)')
      .addHelpText('after', '\nExample:\n  citytrust reader events gate-7 --tenant metro --after 120 --json')
      .action(
        action(async (id: string, o: GlobalOptions & { tenant: string; after?: string; limit?: string }) => {
          const after = uint(o.after, '--after');
          const limit = uint(o.limit, '--limit');
          const list = await withContext(o, (ctx) => ingest(ctx).events(undefined, o.tenant, id, { ...(after !== undefined && { after }), ...(limit !== undefined && { limit }) }));
          out(o, list, () => table(list as unknown as Record<string, unknown>[], ['seq', 'at', 'allow', 'reason', 'by', 'resource', 'credentialId', 'alert']));
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('stats'))
      .description('dashboard counters over readers, and refusals by reason')
      .option('--tenant <id>', 'only this tenant')
      .action(
        action(async (o: GlobalOptions & { tenant?: string }) => {
          const s = await withContext(o, (ctx) => ingest(ctx).stats(undefined, o.tenant));
          out(o, s, () => [`readers ${s.readers}  events ${s.events}  granted ${s.granted}  denied ${s.denied}  alerts ${s.alerts}`, ...Object.entries(s.byReason).map(([r, n]) => `  ${r.padEnd(32)} ${n}`)].join('\n'));
        }),
      ),
  );

  // ---- a software reader on this machine ----

  cmd.addCommand(
    withDir(withCommon(new Command('init')))
      .description('create a software reader: configuration, the pinned city root, a fresh key')
      .requiredOption('--config-file <file>', 'reader configuration JSON (docs/reader.md §2)')
      .requiredOption('--root <root>', 'the city root to pin: a PEM file of the PKI root CA certificate (or its PUBLIC KEY), or an SPKI / DER certificate in base64url; P-384, P-256 or Ed25519 (an ES256 credential root SPKI from GET /v1/credentials/root also works). Compare its fingerprint out of band')
      .addHelpText('after', '\nExample:\n  citytrust reader init --dir ./door-12 --config-file door-12.json --root city-root.pem')
      .action(
        action(async (o: DirOptions & { configFile: string; root: string }) => {
          let config: unknown;
          try {
            config = JSON.parse(readFileSync(o.configFile, 'utf8'));
          } catch (e) {
            throw new CityTrustError('READER_CONFIG_INVALID', `${o.configFile} is not readable JSON`, { cause: e });
          }
          const c = initReaderHome(o.dir, config, rootArgument(o.root));
          out(o, { dir: o.dir, readerId: c.readerId, tenant: c.tenant, site: c.site }, () => `reader ${c.tenant}/${c.readerId} at site ${c.site} initialised in ${o.dir}; next: citytrust reader enroll`);
        }),
      ),
  );
  cmd.addCommand(
    withDir(withCommon(new Command('enroll')))
      .description('enrol the reader with the PKI using a one-time bootstrap token (POST /v1/pki/enroll)')
      .requiredOption('--token <token>', 'bootstrap token the operator issued for this device (`citytrust device bootstrap`)')
      .option('--server <url>', 'server URL (default: serverUrl of the configuration)')
      .action(
        action(async (o: DirOptions & { token: string; server?: string }) => {
          const home = openReaderHome(o.dir, systemClock);
          const server = o.server ?? home.config.serverUrl;
          if (server === undefined) throw new CityTrustError('READER_CONFIG_INVALID', 'give --server or set serverUrl in the configuration');
          const e = await enroll({ serverUrl: server, csr: await createCsr(home.signer, home.publicKey, home.config.readerId), token: o.token });
          home.saveChain(e.chain);
          out(o, { serial: e.serial, notAfter: e.notAfter, chain: e.chain.length }, () => `enrolled: certificate ${e.serial}, valid until ${new Date(e.notAfter).toISOString()}`);
        }),
      ),
  );
  cmd.addCommand(
    withDir(withCommon(new Command('refresh')))
      .description('fetch and verify the trust list and status lists, and replace the offline trust cache')
      .action(
        action(async (o: DirOptions) => {
          const u = await openReaderHome(o.dir, systemClock).online().refresh();
          out(o, u, () => `trust list ${u.trustList}; status lists updated ${u.statusLists.updated}, older ignored ${u.statusLists.olderIgnored}`);
        }),
      ),
  );
  cmd.addCommand(
    withDir(withCommon(new Command('upload')))
      .description('upload every queued tap event, signed by the reader key')
      .action(
        action(async (o: DirOptions) => {
          const r = await openReaderHome(o.dir, systemClock).online().upload();
          out(o, r, () => `uploaded ${r.uploaded} events in ${r.batches} batches`);
        }),
      ),
  );
  cmd.addCommand(
    withDir(withCommon(new Command('online')))
      .description('stay online until interrupted: refresh the trust cache when due, upload queued events, listen to status pushes; back off while the server is unreachable')
      .option('--upload-every <seconds>', 'pause between rounds while things work', '10')
      .option('--refresh-every <seconds>', 'trust cache refresh interval', '300')
      .action(
        action(async (o: DirOptions & { uploadEvery: string; refreshEvery: string }) => {
          const uploadEveryMs = (uint(o.uploadEvery, '--upload-every') as number) * 1000;
          const refreshEveryMs = (uint(o.refreshEvery, '--refresh-every') as number) * 1000;
          if (uploadEveryMs < 1000 || refreshEveryMs < 1000) throw new CityTrustError('INPUT_INVALID', 'intervals are at least 1 second');
          const home = openReaderHome(o.dir, systemClock);
          const stop = new AbortController();
          const onSignal = (): void => stop.abort();
          process.once('SIGINT', onSignal);
          process.once('SIGTERM', onSignal);
          try {
            await home.online().run(stop.signal, {
              uploadEveryMs,
              refreshEveryMs,
              onError: (e) => process.stderr.write(`${e.code}: ${e.message}\n`),
              onUpdate: (u) => process.stderr.write(`${u instanceof CityTrustError ? `${u.code}: ${u.message}` : `status lists updated ${u.statusLists.updated}`}\n`),
            });
          } finally {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
          }
          out(o, { stopped: true, queuedEvents: home.queue.size }, () => `stopped; ${home.queue.size} events still queued`);
        }),
      ),
  );
  cmd.addCommand(
    withDir(withCommon(new Command('tap')))
      .description('run one tap against a wallet listening on TCP (host:port) or WebSocket (ws://…) (development and demos)')
      .requiredOption('--wallet <host:port|ws-url>', 'the wallet process address')
      .option('--resource <resource>', 'one of the configured resources (default: the first)')
      .action(
        action(async (o: DirOptions & { wallet: string; resource?: string }) => {
          const ws = /^wss?:\/\/\S+$/.test(o.wallet);
          const m = /^([^:]+):(\d{1,5})$/.exec(o.wallet);
          if (!m && !ws) throw new CityTrustError('INPUT_INVALID', '--wallet is host:port or a ws:// URL');
          const home = openReaderHome(o.dir, systemClock);
          const link = ws ? await WebSocketReaderLink.connect(o.wallet) : await TcpReaderLink.connect(Number(m![2]), m![1]);
          try {
            const t = await home.reader().tap(link, o.resource !== undefined ? { resource: o.resource } : {});
            out(o, { allow: t.allow, reason: t.reason, code: t.code ?? null, by: t.by, seq: t.event.seq }, () => `${t.allow ? 'GRANTED' : `DENIED ${t.reason}`} (by ${t.by}, event ${t.event.seq})`);
          } finally {
            link.close();
          }
        }),
      ),
  );
  cmd.addCommand(
    withDir(withCommon(new Command('status')))
      .description('what the reader holds: certificate, queued events, trust cache age')
      .action(
        action(async (o: DirOptions) => {
          const home = openReaderHome(o.dir, systemClock);
          const t = home.trust.summary();
          const s = {
            readerId: home.config.readerId,
            tenant: home.config.tenant,
            site: home.config.site,
            enrolled: home.chain.length > 0,
            queuedEvents: home.queue.size,
            corruptEvents: home.queue.corrupt,
            trustListIat: t.trustListIat ?? null,
            statusLists: t.statusLists,
            trustLoadError: home.trustLoadError?.code ?? null,
          };
          out(o, s, () => Object.entries(s).map(([k, v]) => `${k.padEnd(16)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`).join('\n'));
        }),
      ),
  );
  return cmd;
}
