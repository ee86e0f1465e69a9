/**
 * Taps: every gate, door and on-train validator runs the reader SDK with a key certified by
 * the city readers CA. Readers work as deployed ones do: they fill their trust cache with a
 * signed request to POST /v1/readers/{id}/trust, listen to the server's status-list push
 * (server-sent events, /v1/status/events) and upload their signed event queue to
 * POST /v1/readers/{id}/events every second. Residents' phones tap over ISO 7816-4 APDUs at
 * `--rate` taps per second; the reader decides offline.
 *
 * Most taps are people using the reader their card is for. Denials come from real causes:
 * a visitor badge after it expired, a ticket revoked mid-run (the new status list reaches the
 * readers through the push channel), a campus card outside its schedule, and one tap in ten an
 * incident: a ticket passed back at the stadium gate (anti-passback), a three-ride pass used
 * up, a student at the staff-only lab door, a day ticket on the zone C line, a visitor at the
 * wrong door, a validator in a tunnel whose status list went stale (fail-closed), a visitor
 * back at their door after the badge expired.
 *
 * The readers and the phones run in one or two worker threads (../tap-worker.ts): a tap is about
 * 1.5 ms of signatures and ECDH, and on the main thread 500 taps a second would leave the server —
 * HTTP, the audit log, the dashboard — fighting them for one core.
 */
import { type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { generateKeyPair, keyObjectSigner } from '../../crypto/index.ts';
import { createCsr, validateReaderConfig } from '../../reader/index.ts';
import type { CardSpec, FromWorker, ReaderSpec, ToWorker } from '../tap-messages.ts';
import type { Scenario, World } from '../types.ts';
import { demoFleet, SIM_ACTOR } from './city-pki.ts';
import type { Card, ResidentsScenario } from './residents.ts';

const WORKER_URL = new URL(`../tap-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/** The tunnel validator's status list goes stale this many seconds after it was issued (a third of a fixed-length run, at most 10 s). */
const tunnelMaxAge = (duration: number | undefined) => Math.max(1, Math.min(10, Math.floor((duration ?? 30) / 3)));

function configFor(tenant: string, id: string, site: string, serverUrl: string, duration: number | undefined): Record<string, unknown> | undefined {
  const base = { readerId: id, tenant, site, trustedTenants: [tenant], serverUrl };
  if (id === 'gate-stadium') return { ...base, zone: 'A', antiPassbackSeconds: 600 };
  if (id === 'validator-c') return { ...base, zone: 'C' };
  if (id === 'validator-tunnel') return { ...base, zone: 'B', statusMaxAgeSeconds: tunnelMaxAge(duration), whenStale: 'fail-closed' };
  // City hall's doors keep NTP time: a visitor badge is refused the second it runs out.
  if (tenant === 'buildings') return { ...base, resources: [`door:${site}/${id}`], clockSkewSeconds: 0 };
  if (id === 'door-lab') return { ...base, resources: [`door:${site}/${id}`], requiredAttributes: ['staff'] };
  if (tenant === 'metro' && id.startsWith('gate-')) return { ...base, zone: site === 'station-b' ? 'B' : 'A' };
  if (tenant === 'metro') return { ...base, zone: 'B' };
  if (tenant === 'campus' || tenant === 'buildings') return { ...base, resources: [`door:${site}/${id}`] };
  return undefined;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** The readers' certified keys, for the scenarios that act as the same devices (firmware reports). */
export interface ReaderDevice {
  readonly tenant: string;
  readonly id: string;
  readonly site: string;
  readonly deviceClass: 'reader' | 'gate';
  readonly privateKey: KeyObject;
}

export interface TapsScenario extends Scenario {
  devices(): readonly ReaderDevice[];
}

/** The readers that incidents and visitors use stay on the first worker, which also runs the incidents. */
const FIRST_WORKER = new Set(['gate-stadium', 'gate-001', 'door-lab', 'validator-c', 'door-001', 'validator-tunnel', 'door-003']);

/** One worker for a light load, else one per core up to two (the server keeps the main thread). */
const workerCount = (rate: number) => (rate <= 100 ? 1 : Math.max(1, Math.min(2, availableParallelism())));

interface TapWorker {
  readonly worker: Worker;
  readonly readers: ReaderSpec[];
  queued: number;
  taps: number;
  ranMs: number;
  ready: Promise<void>;
  stopped: Promise<void>;
}

export function tapsScenario(residents: ResidentsScenario): TapsScenario {
  const devices: ReaderDevice[] = [];
  const specs: ReaderSpec[] = [];
  const workers: TapWorker[] = [];
  /** Status-list versions each reader received through the push channel, as its worker reports them. */
  const pushes = new Map<string, number>();
  const asked = new Map<number, (reason: string) => void>();
  let cards: readonly Card[] = [];
  let revoked: Card | undefined;
  let revoking: Promise<void> = Promise.resolve();
  let revokeTimer: NodeJS.Timeout | undefined;
  let started = false;
  let asks = 0;

  const spawn = (w: World, readers: ReaderSpec[]): TapWorker => {
    const worker = new Worker(WORKER_URL);
    let ready!: () => void;
    let readyFailed!: (e: Error) => void;
    let stopped!: () => void;
    const t: TapWorker = {
      worker,
      readers,
      queued: 0,
      taps: 0,
      ranMs: 0,
      ready: new Promise<void>((res, rej) => ((ready = res), (readyFailed = rej))),
      stopped: new Promise<void>((res) => (stopped = res)),
    };
    worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'ready':
          return ready();
        case 'stats':
          for (const [k, v] of Object.entries(m.counts)) w.stats.inc(k, v);
          for (const [k, v] of Object.entries(m.pushes)) pushes.set(k, v);
          t.queued = m.queued;
          t.taps = m.taps;
          t.ranMs = m.ranMs;
          return;
        case 'say':
          return w.say(m.line);
        case 'tapped':
          asked.get(m.id)?.(m.reason);
          asked.delete(m.id);
          return;
        case 'stopped':
          return stopped();
        case 'failed':
          w.stats.inc('taps.errors');
          w.say(`  taps FAILED: ${m.message}`);
          readyFailed(new Error(m.message));
          return;
      }
    });
    const lost = (why: string) => {
      readyFailed(new Error(why));
      stopped();
      for (const [id, answer] of asked) {
        answer(why);
        asked.delete(id);
      }
    };
    worker.on('error', (e) => (w.stats.inc('taps.errors'), w.say(`  taps FAILED: tap worker: ${e.message}`), lost(e.message)));
    worker.on('exit', (code) => lost(`tap worker exited with code ${code}`));
    t.ready.catch(() => undefined);
    return t;
  };
  const send = (t: TapWorker, m: ToWorker) => t.worker.postMessage(m);

  /** A tap the main thread asks for (the thief at the gate), run by the worker that holds the reader. */
  const tapOn = (readerId: string, card: Card): Promise<string> => {
    const t = workers.find((x) => x.readers.some((r) => r.id === readerId));
    if (!t) return Promise.resolve('no gate');
    const id = ++asks;
    return new Promise((resolve) => {
      asked.set(id, resolve);
      send(t, { type: 'tap', id, card: cards.indexOf(card), reader: readerId });
    });
  };

  return {
    name: 'taps',
    devices: () => devices,
    async setup(w: World) {
      const pki = w.ctx.pki;
      const cas = await pki.listCas();
      const root = cas.find((c) => c.purpose === 'root');
      if (!root) return;
      const anchors = [await pki.caCertificate(root.id)];
      const caDer = new Map<string, Uint8Array>();
      const svcRoot = await w.ctx.credentials.root.get();
      for (const d of demoFleet(w.options)) {
        const raw = configFor(d.tenant, d.id, d.site, w.baseUrl, w.options.duration);
        if (!raw) continue;
        validateReaderConfig(raw);
        const key = generateKeyPair('P-256');
        const signer = keyObjectSigner('ES256', key.privateKey);
        const issued = await pki.issue(null, { csr: await createCsr(signer, key.publicKey, d.id), tenant: d.tenant, deviceId: d.id }, SIM_ACTOR);
        if (!caDer.has(issued.caId)) caDer.set(issued.caId, await pki.caCertificate(issued.caId));
        specs.push({ tenant: d.tenant, id: d.id, config: raw, chain: [issued.der, caDer.get(issued.caId)!], privateKey: key.privateKey, push: d.id !== 'validator-tunnel' });
        devices.push({ tenant: d.tenant, id: d.id, site: d.site, deviceClass: d.type === 'gate' ? 'gate' : 'reader', privateKey: key.privateKey });
      }
      if (specs.length === 0) return;
      const n = workerCount(w.options.rate);
      const shares: ReaderSpec[][] = Array.from({ length: n }, () => []);
      let next = 0;
      for (const r of specs) shares[FIRST_WORKER.has(r.id) ? 0 : ++next % n]!.push(r);
      for (const share of shares) workers.push(spawn(w, share));
      // Each reader asks the server for its trust list and status lists, signed with its key.
      workers.forEach((t) => send(t, { type: 'init', readers: t.readers, anchors, root: svcRoot.publicKey }));
      await Promise.all(workers.map((t) => t.ready));
      w.say(`  readers:        ${specs.length} gates, doors and validators certified by the readers CA; trust caches filled over HTTP (signed requests); taps run in ${n} worker thread${n > 1 ? 's' : ''}`);
    },
    async start(w: World) {
      cards = residents.cards();
      if (workers.length === 0 || cards.length === 0) return;
      // The phones go to the workers as their wallets' sealed records; each worker reopens them.
      const phones: CardSpec[] = cards.map((c) => ({ kind: c.kind, tenant: c.tenant, holder: c.holder, validUntil: c.validUntil, records: c.storage.records, storageKey: c.storageKey }));
      workers.forEach((t, i) => send(t, { type: 'start', cards: phones, rate: w.options.rate / workers.length, incidents: i === 0 }));
      started = true;
      // A day ticket reported stolen a third of the way in: revoked at the back office over HTTP; the new
      // status list reaches the readers through the push channel; then the thief tries a gate.
      const after = ((w.options.duration ?? 30) * 1000) / 3;
      revokeTimer = setTimeout(() => {
        revoking = (async () => {
          const victim = cards.find((c) => c.kind === 'day-ticket');
          if (!victim) return;
          // The readers that hold the ticket's status list (the metro's) listen for its changes.
          const online = specs.filter((r) => r.push && r.tenant === victim.tenant);
          const before = new Map(online.map((r) => [r.id, pushes.get(r.id) ?? 0]));
          const t0 = performance.now();
          // The back office revokes it through the API, as an operator's tool (or the console) does.
          const res = await fetch(`${w.baseUrl}/v1/credentials/${encodeURIComponent(victim.credentialId)}/revoke`, {
            method: 'POST',
            headers: { authorization: `Bearer ${w.adminToken}`, 'content-type': 'application/json' },
            body: JSON.stringify({ reason: 'lost or stolen' }),
          });
          if (!res.ok) throw new Error(`the revocation was refused: HTTP ${res.status} ${await res.text()}`);
          w.stats.inc('credentials.revoked');
          const revokedMs = performance.now() - t0;
          // Wait (up to 10 s) for the push to reach every online reader.
          const behind = () => online.filter((r) => (pushes.get(r.id) ?? 0) === before.get(r.id));
          while (behind().length > 0 && performance.now() - t0 < 10_000 && !w.signal.aborted) await sleep(20, w.signal);
          const reached = online.length - behind().length;
          const ms = performance.now() - t0 - revokedMs;
          w.stats.inc('revocation.readers_online', online.length);
          w.stats.inc('revocation.readers_reached', reached);
          revoked = victim;
          const reason = await tapOn('gate-001', victim);
          if (reason === 'REVOKED') w.stats.inc('taps.revocation_enforced');
          w.say(`  revocation:     ${victim.holder}'s day ticket revoked through the API (${revokedMs.toFixed(0)} ms); status push reached ${reached} of ${online.length} online ${victim.tenant} readers ${ms.toFixed(0)} ms later; next tap at gate-001: ${reason}`);
        })().catch((e: unknown) => w.say(`  revocation FAILED: ${e instanceof Error ? e.message : String(e)}`));
      }, after);
      revokeTimer.unref();
    },
    summary: (w) => {
      const denied = w.stats
        .byPrefix('taps.denied.')
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      const queued = workers.reduce((s, t) => s + t.queued, 0);
      // Each worker's taps over the time its schedule ran (not counting start-up or the last uploads).
      const achieved = workers.reduce((s, t) => s + (t.ranMs > 0 ? (t.taps * 1000) / t.ranMs : 0), 0);
      return [
        `taps: ${w.stats.get('taps.total')} at ${achieved.toFixed(0)}/s (target ${w.options.rate}/s${w.stats.get('taps.skipped') ? `, ${w.stats.get('taps.skipped')} skipped: CPU-bound` : ''}) (${w.stats.get('taps.granted')} granted; denied: ${denied || 'none'})${revoked ? `; revoked ticket refused: ${w.stats.get('taps.revocation_enforced') > 0 ? 'yes' : 'no'}` : ''}`,
        `readers: ${w.stats.get('readers.events_uploaded')} events uploaded over HTTP (${queued} queued), ${w.stats.get('readers.status_pushes')} status lists pushed`,
      ];
    },
    async stop() {
      if (revokeTimer) clearTimeout(revokeTimer);
      await revoking;
      // Each worker ends its taps, uploads what is still queued and sends its last counters.
      if (started) {
        workers.forEach((t) => send(t, { type: 'stop' }));
        await Promise.all(workers.map((t) => t.stopped));
      }
      await Promise.all(workers.map((t) => t.worker.terminate()));
    },
  };
}
