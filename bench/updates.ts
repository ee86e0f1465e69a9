/**
 * Updates benchmark (npm run bench -- updates [--json] [--seconds N]):
 *
 *  1. Device update checks the server sustains: GET /updates/<repo>/metadata/timestamp.json
 *     over HTTP on loopback (autocannon, 64 connections), against a baseline in the same run:
 *     a bare Fastify route sending the same bytes from memory (raw static serving).
 *  2. Device-side metadata verification per second, measured apart: parsing and verifying the
 *     timestamp against the trusted root with @tufjs/models (what tuf-js does on every check),
 *     and a full check (tuf-js refresh of timestamp, snapshot, targets and the channel through
 *     an in-process transport); baseline: one raw Ed25519 verify with node:crypto.
 *  3. Publish latency of a 10 MiB image (hash, store, sign targets role, snapshot, timestamp)
 *     through the service and over HTTP, against SHA-256 of 10 MiB alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { Metadata, MetadataKind } from '@tufjs/models';
import { loadConfig } from '../src/core/config.ts';
import { silentLogger } from '../src/core/log.ts';
import { openContext, closeContext } from '../src/server/context.ts';
import { buildServer } from '../src/server/app.ts';
import { DeviceUpdater } from '../src/updates/client.ts';
import { canonicalBytes, parseMetadataFile } from '../src/updates/metadata.ts';
import { argValue, opsPerSecond, opsPerSecondSync, report } from './lib.ts';
import { MirrorFetcher } from '../test/updates/helpers.ts';

const seconds = argValue('seconds', 5);
const dir = mkdtempSync(join(tmpdir(), 'citytrust-bench-updates-'));
const config = loadConfig({ env: {}, overrides: { dataDir: join(dir, 'data'), 'vault.devUnseal': true, 'server.rateLimit': 10_000_000, 'log.level': 'silent', 'updates.refreshIntervalMs': 0 } });
const ctx = await openContext(config, { logger: silentLogger() });
const app = await buildServer(ctx);
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
const by = { actor: 'bench', tenant: null };
await ctx.tenants.create({ id: 'transit', name: 'transit' }, 'bench');
const u = ctx.updates.repos;
await u.createRepo(by, { id: 'bench-fw', tenant: 'transit', deviceClasses: ['reader'] });
await u.addDelegation(by, 'bench-fw', { name: 'mfr-readerco', deviceClasses: ['reader'] });
await u.publish(by, 'bench-fw', { deviceClass: 'reader', version: '1.0.0', content: new Uint8Array(64 * 1024).fill(7) });
await u.release(by, 'bench-fw', { deviceClass: 'reader', version: '1.0.0' });

// --- 1. update checks over HTTP vs raw static serving of the same bytes
const tsBytes = Buffer.from(await u.metadata('bench-fw', 'timestamp.json'));
const raw = Fastify();
raw.get('/static/timestamp.json', async (_req, reply) => reply.type('application/json').send(tsBytes));
await raw.listen({ host: '127.0.0.1', port: 0 });
const rawUrl = `http://127.0.0.1:${(raw.server.address() as { port: number }).port}/static/timestamp.json`;

async function load(url: string): Promise<number> {
  const r = await autocannon({ url, connections: 64, pipelining: 1, duration: seconds });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return r.requests.average;
}
const checksPerS = await load(`${base}/updates/bench-fw/metadata/timestamp.json`);
const staticPerS = await load(rawUrl);
await raw.close();

// --- 2. device-side verification
const rootBytes = await u.metadata('bench-fw', '1.root.json');
const root = Metadata.fromJSON(MetadataKind.Root, JSON.parse(Buffer.from(rootBytes).toString('utf8')));
const tsJson = JSON.parse(tsBytes.toString('utf8'));
const verifyPerS = opsPerSecondSync(() => {
  const ts = Metadata.fromJSON(MetadataKind.Timestamp, JSON.parse(tsBytes.toString('utf8')));
  root.verifyDelegate('timestamp', ts);
}, seconds * 300);
const parsed = parseMetadataFile(tsBytes, 'timestamp');
const data = canonicalBytes(parsed.signed);
const tsKey = (root.signed as unknown as { keys: Record<string, { keyVal: { public: string } }> }).keys[parsed.signatures[0]!.keyid]!;
const edKey = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(tsKey.keyVal.public, 'hex')]), format: 'der', type: 'spki' });
const sig = Buffer.from(parsed.signatures[0]!.sig, 'hex');
const rawVerifyPerS = opsPerSecondSync(() => cryptoVerify(null, data, edKey, sig), seconds * 300);
void tsJson;

const devDir = mkdtempSync(join(tmpdir(), 'citytrust-bench-device-'));
await DeviceUpdater.enrol(devDir, rootBytes);
const dev = new DeviceUpdater({ server: 'http://in-process', repo: 'bench-fw', dir: devDir, device: { tenant: 'transit', id: 'reader-1', deviceClass: 'reader' }, fetcher: new MirrorFetcher(u) });
const fullChecksPerS = await opsPerSecond(() => dev.check(), seconds * 300);

// --- 3. publish latency, 10 MiB
const tenMiB = new Uint8Array(10 * 1024 * 1024);
for (let i = 0; i < tenMiB.length; i += 4096) tenMiB[i] = i & 0xff;
const runs = 5;
const svc: number[] = [];
const http: number[] = [];
const hashOnly: number[] = [];
for (let i = 0; i < runs; i++) {
  tenMiB[0] = i;
  let t0 = performance.now();
  createHash('sha256').update(tenMiB).digest();
  hashOnly.push(performance.now() - t0);
  t0 = performance.now();
  await u.publish(by, 'bench-fw', { deviceClass: 'reader', version: `2.${i}.0`, content: tenMiB });
  svc.push(performance.now() - t0);
  tenMiB[1] = i + 1;
  const token = (await ctx.tokens.create({ tenant: 'transit', roles: ['operator'], label: 'bench' }, undefined)).token;
  t0 = performance.now();
  const res = await fetch(`${base}/v1/updates/repos/bench-fw/targets?deviceClass=reader&version=3.${i}.0`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: Buffer.from(tenMiB) });
  await res.json();
  if (!res.ok) throw new Error(`publish over HTTP: ${res.status}`);
  http.push(performance.now() - t0);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await app.close();
await closeContext(ctx);
rmSync(dir, { recursive: true, force: true });
rmSync(devDir, { recursive: true, force: true });

report(
  {
    bench: 'updates',
    figures: {
      update_checks_per_s: checksPerS,
      baseline_static_same_bytes_per_s: staticPerS,
      device_timestamp_verify_per_s: verifyPerS,
      baseline_raw_ed25519_verify_per_s: rawVerifyPerS,
      device_full_check_per_s: fullChecksPerS,
      publish_10mib_service_ms: median(svc),
      publish_10mib_http_ms: median(http),
      baseline_sha256_10mib_ms: median(hashOnly),
    },
    ratios: {
      checks_vs_static: checksPerS / staticPerS,
      timestamp_verify_vs_raw_ed25519: verifyPerS / rawVerifyPerS,
      publish_service_vs_sha256: median(svc) / median(hashOnly),
    },
  },
  [
    `autocannon, 64 connections, ${seconds} s per target, loopback, ${tsBytes.length}-byte timestamp.json; 2-core machine shared with other work`,
    'device full check = tuf-js refresh (root probe, timestamp, snapshot, targets) + channel download, in process (no HTTP)',
    `publish: median of ${runs}; each re-signs the manufacturer role, snapshot and timestamp with vault Ed25519 keys in one SQLite transaction`,
  ],
);
