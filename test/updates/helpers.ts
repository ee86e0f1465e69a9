/**
 * A repository service on a throwaway SQLite store and software vault, and an in-process
 * transport for tuf-js that can play a malicious mirror (replace, replay, stretch files).
 *
 * tuf-js checks expiry against the system clock (its §5.1 "fixed update start time" is
 * `new Date()`), so the repository clock here starts at the real time and tests move it to
 * make metadata that is expired *now*.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { FixedClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/log.ts';
import { isCityTrustError } from '../../src/core/errors.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { SoftwareVault } from '../../src/vault/index.ts';
import { Updates, type UpdateActor } from '../../src/updates/repository.ts';
import { DeviceUpdater, type DeviceIdentity } from '../../src/updates/client.ts';
import { MemoryAudit, CITY } from '../vault/helpers.ts';

export { rejectsWith, throwsWith, MemoryAudit } from '../vault/helpers.ts';

export const ADMIN: UpdateActor = { actor: 'token:admin', tenant: null };
export const TRANSIT: UpdateActor = { actor: 'token:transit-ops', tenant: 'transit' };
export const UTILITY: UpdateActor = { actor: 'token:utility-ops', tenant: 'utility' };

export const SETTINGS = {
  rootExpirySeconds: 365 * 86400,
  targetsExpirySeconds: 90 * 86400,
  snapshotExpirySeconds: 7 * 86400,
  timestampExpirySeconds: 86400,
  maxTargetBytes: 16 * 1024 * 1024,
  metadataCacheMs: 0,
};

export interface Env {
  dir: string;
  store: Store;
  vault: SoftwareVault;
  audit: MemoryAudit;
  clock: FixedClock;
  updates: Updates;
}

type After = { after: (fn: () => void | Promise<void>) => void };

export function tmp(t: After, prefix = 'citytrust-updates-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function openEnv(t: After, settings: Partial<typeof SETTINGS> = {}): Promise<Env> {
  const dir = tmp(t);
  const store = await openStore({ dataDir: join(dir, 'data') });
  const now = Date.now();
  for (const id of ['transit', 'utility']) await store.db.insertInto('tenants').values({ id, name: id, status: 'active', created_at: now }).execute();
  const audit = new MemoryAudit();
  const clock = new FixedClock(now);
  const vault = await SoftwareVault.open({ dataDir: join(dir, 'vault'), clock, logger: silentLogger(), audit, usageFlushMs: 0 });
  await vault.init(CITY, { shares: 1, threshold: 1 });
  const updates = new Updates({ store, vault, audit, clock, settings: { ...SETTINGS, ...settings }, logger: silentLogger() });
  t.after(async () => {
    await vault.close();
    await store.close();
  });
  return { dir, store, vault, audit, clock, updates };
}

/** A repository for transit readers and gates with a gate manufacturer and a reader manufacturer. */
export async function standardRepo(env: Env, id = 'transit-fw'): Promise<void> {
  await env.updates.createRepo(TRANSIT, { id, tenant: 'transit', deviceClasses: ['reader', 'gate', 'meter'] });
  await env.updates.addDelegation(TRANSIT, id, { name: 'mfr-readerco', deviceClasses: ['reader'] });
  await env.updates.addDelegation(TRANSIT, id, { name: 'mfr-gateco', deviceClasses: ['gate'] });
}

type Rewrite = (bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/**
 * Serves the repository in process. `rewrite` lets a test act as a malicious mirror for
 * files whose URL ends with a given suffix; `requests` records what the device fetched.
 */
export class MirrorFetcher extends BaseFetcher {
  readonly requests: string[] = [];
  readonly rewrite = new Map<string, Rewrite>();
  /** Serve this many extra bytes after every target (an endless-data mirror). */
  stretchTargets = 0;
  readonly #updates: Updates;
  constructor(updates: Updates) {
    super();
    this.#updates = updates;
  }
  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    this.requests.push(url);
    const m = /\/updates\/([^/]+)\/(metadata|targets)\/(.+)$/.exec(url);
    if (!m) throw new DownloadHTTPError('bad url', 404);
    const rewrites = [...this.rewrite].filter(([suffix]) => url.endsWith(suffix));
    let body: Uint8Array = new Uint8Array(0);
    try {
      body = m[2] === 'metadata' ? await this.#updates.metadata(m[1]!, decodeURIComponent(m[3]!)) : await this.#updates.target(m[1]!, decodeURIComponent(m[3]!));
    } catch (e) {
      // A mirror may serve a file the repository does not have (a forged next root).
      if (!(isCityTrustError(e) && e.status === 404)) throw e;
      if (rewrites.length === 0) throw new DownloadHTTPError('Failed to download', 404);
    }
    for (const [, fn] of rewrites) body = await fn(body);
    if (m[2] === 'targets' && this.stretchTargets > 0) body = Buffer.concat([body, Buffer.alloc(this.stretchTargets, 0x41)]);
    const bytes = new Uint8Array(body);
    return new ReadableStream({
      start(c) {
        c.enqueue(bytes);
        c.close();
      },
    });
  }
}

export const READER: DeviceIdentity = { tenant: 'transit', id: 'reader-0001', deviceClass: 'reader', site: 'depot-north', bootloader: '2.0' };

/** A device enrolled with the repository's current root. */
export async function device(t: After, env: Env, repo: string, identity: DeviceIdentity = READER, fetcher = new MirrorFetcher(env.updates)): Promise<{ updater: DeviceUpdater; fetcher: MirrorFetcher; dir: string }> {
  const dir = tmp(t, 'citytrust-device-');
  await DeviceUpdater.enrol(dir, await env.updates.metadata(repo, '1.root.json'));
  return { updater: new DeviceUpdater({ server: 'http://repo.test', repo, dir, device: identity, fetcher }), fetcher, dir };
}

export function image(size: number, seed = 1): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}
