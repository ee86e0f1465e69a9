/**
 * A tap worker of the demo city (./scenarios/taps.ts starts one or two). It holds its share of
 * the readers — each with its certified key, its trust cache filled over HTTP, its status-push
 * stream and its signed event upload — and the residents' phones (their wallets reopened from
 * their sealed records), and runs its share of the taps: real protocol taps over ISO 7816-4
 * APDUs, decided offline by the reader. The taps are CPU work (signatures and ECDH on both sides),
 * so they run here, beside the server's main thread, which answers HTTP, keeps the audit log and
 * feeds the dashboard. Counters go to the main thread four times a second.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { systemClock } from '../core/clock.ts';
import { isCityTrustError } from '../core/errors.ts';
import { coseVerifierKey, keyObjectSigner } from '../crypto/index.ts';
import { ApduReaderLink, Reader, ReaderOnline, TrustCache, validateReaderConfig } from '../reader/index.ts';
import { ApduCard } from '../tap/index.ts';
import { MemoryStorage, Wallet } from '../wallet/index.ts';
import { CityReaderAuthenticator, WalletTapResponder, walletCredentialSource } from '../wallet/tap/index.ts';
import { SimReaderQueue } from './reader-queue.ts';
import type { CardSpec, FromWorker, ToWorker } from './tap-messages.ts';

const port = parentPort;
if (port === null) throw new Error('tap-worker runs as a worker thread');
const post = (m: FromWorker) => port.postMessage(m);
const say = (line: string) => post({ type: 'say', line });

interface SimReader {
  readonly tenant: string;
  readonly id: string;
  readonly reader: Reader;
  readonly queue: SimReaderQueue;
  readonly online: ReaderOnline;
  readonly push: boolean;
  pushes: number;
}

interface Phone extends CardSpec {
  readonly wallet: Wallet;
  authenticator?: CityReaderAuthenticator;
  credentials?: ReturnType<typeof walletCredentialSource>;
}

const clock = systemClock;
const readers: SimReader[] = [];
const byId = new Map<string, SimReader>();
let anchors: Uint8Array[] = [];
let phones: Phone[] = [];
const counts = new Map<string, number>();
const inc = (name: string, by = 1) => counts.set(name, (counts.get(name) ?? 0) + by);
const total = new Map<string, number>();
const seen = (name: string) => (total.get(name) ?? 0) + (counts.get(name) ?? 0);
const expiredSeen = new Set<string>();
const stopping = new AbortController();
const pushAbort = new AbortController();

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** When this worker's tap schedule started and (once stopped) ended, performance.now() of this thread. */
let ranFrom = 0;
let ranTo = 0;

function flush(): void {
  const out = Object.fromEntries(counts);
  for (const [k, v] of counts) total.set(k, (total.get(k) ?? 0) + v);
  counts.clear();
  const ranMs = ranFrom === 0 ? 0 : (ranTo || performance.now()) - ranFrom;
  post({ type: 'stats', counts: out, taps: seen('taps.total'), ranMs, queued: readers.reduce((s, r) => s + r.queue.size, 0), pushes: Object.fromEntries(readers.map((r) => [r.id, r.pushes])) });
}

async function tap(phone: Phone, r: SimReader): Promise<string> {
  // The phone's wallet app: its reader authenticator remembers the reader chains it validated.
  phone.authenticator ??= new CityReaderAuthenticator({ anchors });
  phone.credentials ??= walletCredentialSource(phone.wallet);
  // One responder per tap (it holds the session); the app's authenticator and credentials persist.
  const responder = new WalletTapResponder({ authenticator: phone.authenticator, credentials: phone.credentials, clock });
  const apdu = new ApduCard(responder);
  const out = await r.reader.tap(await ApduReaderLink.open((c) => apdu.process(c)));
  inc('taps.total');
  if (out.allow) inc('taps.granted');
  else inc(`taps.denied.${out.reason}`);
  if (phone.kind === 'visitor-badge' && out.reason === 'EXPIRED' && !expiredSeen.has(phone.holder)) {
    expiredSeen.add(phone.holder);
    say(`  visitor badge:  ${phone.holder}'s badge ran out at ${new Date(phone.validUntil * 1000).toISOString().slice(11, 19)} UTC; ${r.id} now answers EXPIRED`);
  }
  return out.reason;
}

const pickFrom = <T>(xs: readonly T[]): T | undefined => (xs.length === 0 ? undefined : xs[randomInt(xs.length)]);
const of = (kind: CardSpec['kind']) => phones.filter((c) => c.kind === kind);

/** The readers a holder would use for this card, among this worker's readers. */
function everydayReaders(card: CardSpec): SimReader[] {
  if (card.kind === 'visitor-badge') return readers.filter((r) => r.tenant === 'buildings' && r.id === 'door-003');
  if (card.kind === 'day-ticket') return readers.filter((r) => r.tenant === 'metro' && /^(gate|validator)-\d+$/.test(r.id));
  if (card.kind === 'campus-card' || card.kind === 'night-card') return readers.filter((r) => r.tenant === 'campus' && /^door-\d+$/.test(r.id));
  return [];
}

const INCIDENTS = ['passback', 'rides', 'lab', 'zone', 'wrong-door', 'tunnel', 'visitor'] as const;
type Incident = (typeof INCIDENTS)[number];

/** One incident: who taps where, for which refusal (the scenario's header says why each is refused). */
async function incident(kind: Incident): Promise<void> {
  const go = async (card: Phone | undefined, readerId: string) => {
    const r = byId.get(readerId);
    if (card && r) await tap(card, r);
  };
  switch (kind) {
    case 'passback': {
      const t = pickFrom(of('day-ticket'));
      await go(t, 'gate-stadium');
      return go(t, 'gate-stadium');
    }
    case 'rides': {
      const pass = of('ride-pass')[0];
      await go(pass, 'gate-001');
      return go(pass, 'gate-001');
    }
    case 'lab':
      return go(pickFrom(of('campus-card')), 'door-lab');
    case 'zone':
      return go(pickFrom(of('day-ticket')), 'validator-c');
    case 'wrong-door':
      return go(pickFrom(of('visitor-badge')), 'door-001');
    case 'tunnel':
      return go(pickFrom(of('day-ticket')), 'validator-tunnel');
    case 'visitor':
      return go(pickFrom(of('visitor-badge')), 'door-003');
  }
}

/** Uploads the queues of `some` readers (all of them by default). */
async function uploadAll(some: readonly SimReader[] = readers): Promise<void> {
  await Promise.all(
    some.map(async (r) => {
      try {
        const u = await r.online.upload();
        if (u.uploaded > 0) inc('readers.events_uploaded', u.uploaded);
      } catch (e) {
        inc('readers.upload_failures');
        if (seen('readers.upload_failures') <= 3) say(`  upload refused: ${r.id}: ${e instanceof Error ? e.message : String(e)}${isCityTrustError(e) && e.details ? ` ${JSON.stringify(e.details)}` : ''} (kept queued, sent again)`);
      }
    }),
  );
}

async function init(m: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  anchors = [...m.anchors];
  const root = coseVerifierKey('ES256', m.root);
  for (const spec of m.readers) {
    const config = validateReaderConfig(spec.config);
    const identity = { chain: [...spec.chain], signer: keyObjectSigner('ES256', spec.privateKey) };
    const trust = new TrustCache({ root });
    const queue = new SimReaderQueue();
    const reader = new Reader({ config, identity, trust, events: queue, clock });
    const online = new ReaderOnline({ config, identity, trust, queue, clock });
    const r: SimReader = { tenant: spec.tenant, id: spec.id, reader, queue, online, push: spec.push, pushes: 0 };
    readers.push(r);
    byId.set(spec.id, r);
  }
  // Each reader asks the server for its trust list and status lists, signed with its key.
  await Promise.all(readers.map((r) => r.online.refresh()));
}

let running: Promise<void> = Promise.resolve();

async function run(m: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  phones = await Promise.all(
    m.cards.map(async (c) => {
      const storage = new MemoryStorage();
      for (const [k, v] of c.records) storage.records.set(k, v);
      return { ...c, wallet: await Wallet.open({ storage, storageKey: c.storageKey, clock, verifyUser: async () => true }) };
    }),
  );
  const stats = setInterval(flush, 250);
  // The status push: every online reader keeps a server-sent events stream open and applies each
  // new status list version it is told of; a broken stream is reopened after a refresh.
  const watches = readers
    .filter((r) => r.push)
    .map(async (r) => {
      while (!pushAbort.signal.aborted) {
        await r.online
          .watch(pushAbort.signal, (u) => {
            if (u instanceof Error) {
              inc('readers.push_failures');
              if (seen('readers.push_failures') <= 3) say(`  status push:    ${r.id} could not apply a pushed list: ${u.message}`);
            } else {
              r.pushes++;
              inc('readers.status_pushes');
              // At once: the main thread times how long a revocation takes to reach the readers.
              flush();
            }
          })
          .catch((e: unknown) => {
            inc('readers.push_failures');
            if (seen('readers.push_failures') <= 3) say(`  status push:    ${r.id} stream: ${e instanceof Error ? e.message : String(e)}`);
          });
        if (pushAbort.signal.aborted) return;
        await sleep(1000, pushAbort.signal);
        await r.online.refresh().catch(() => inc('readers.push_failures'));
      }
    });
  // Each reader uploads its queue every UPLOAD_EVERY_MS (a deployed reader's default is 10 s),
  // the readers in turn, a slice every 250 ms, so the server sees a steady stream of batches
  // rather than every reader at once. Each upload is a signed batch stored in one transaction:
  // fewer, larger batches cost the server fewer commits and certificate checks per tap. A slice
  // still uploading is not overlapped (a slow server slows uploads down, it does not get events twice).
  const slices = Math.max(1, Math.round(UPLOAD_EVERY_MS / 250));
  let tick = 0;
  let busy = false;
  let uploading: Promise<void> = Promise.resolve();
  const uploadTimer = setInterval(() => {
    if (busy) return;
    busy = true;
    const slice = tick++ % slices;
    uploading = uploadAll(readers.filter((_, i) => i % slices === slice)).finally(() => (busy = false));
  }, 250);
  // Taps start on a schedule of `rate` a second (in 10 ms slices), each on its own, as people
  // do. At most MAX_INFLIGHT at a time; the others wait in line, as people do at a busy gate —
  // but not for long: a worker more than a second behind its schedule skips what it cannot
  // catch up (taps.skipped). The line absorbs a burst (the city's start-up, a checkpoint).
  const MAX_INFLIGHT = 32;
  const MAX_BEHIND = Math.max(1, Math.round(m.rate));
  let inflight = 0;
  const all = new Set<Promise<void>>();
  // Everyday taps: a holder at a reader their card is for, among the cards this worker has such a reader for.
  const local = phones.map((p) => ({ phone: p, readers: everydayReaders(p) })).filter((x) => x.readers.length > 0);
  const one = (n: number) => {
    inflight++;
    const p = (async () => {
      try {
        if (m.incidents && n % 10 === 0) await incident(INCIDENTS[(n / 10) % INCIDENTS.length]!);
        else {
          const x = pickFrom(local);
          if (x) await tap(x.phone, pickFrom(x.readers)!);
        }
      } catch {
        inc('taps.errors');
      }
    })().finally(() => {
      inflight--;
      all.delete(p);
    });
    all.add(p);
  };
  const t0 = performance.now();
  ranFrom = t0;
  let n = 0;
  let due = 0;
  while (!stopping.signal.aborted) {
    due = Math.floor(((performance.now() - t0) * m.rate) / 1000);
    while (n < due && inflight < MAX_INFLIGHT) one(++n);
    if (due - n > MAX_BEHIND) {
      inc('taps.skipped', due - n - MAX_BEHIND);
      n = due - MAX_BEHIND;
    }
    await sleep(10, stopping.signal);
  }
  // Who was still in line when the city stopped did not tap.
  if (due > n) inc('taps.skipped', due - n);
  await Promise.allSettled([...all]);
  ranTo = performance.now();
  clearInterval(uploadTimer);
  pushAbort.abort();
  await Promise.allSettled(watches);
  await uploading;
  // What is still queued goes up before the server stops (a refused batch stays queued and is sent again).
  for (let i = 0; i < 5 && readers.some((r) => r.queue.size > 0); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 200));
    await uploadAll();
  }
  clearInterval(stats);
  flush();
}

const UPLOAD_EVERY_MS = 2000;

port.on('message', (m: ToWorker) => {
  const fail = (e: unknown) => post({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
  switch (m.type) {
    case 'init':
      init(m).then(() => post({ type: 'ready' }), fail);
      return;
    case 'start':
      running = run(m).catch(fail);
      return;
    case 'tap': {
      const phone = phones[m.card];
      const r = byId.get(m.reader);
      if (!phone || !r) return post({ type: 'tapped', id: m.id, reason: 'no such card or reader' });
      tap(phone, r).then(
        (reason) => (flush(), post({ type: 'tapped', id: m.id, reason })),
        (e: unknown) => post({ type: 'tapped', id: m.id, reason: `error: ${e instanceof Error ? e.message : String(e)}` }),
      );
      return;
    }
    case 'stop':
      stopping.abort();
      void running.then(() => post({ type: 'stopped' }));
      return;
  }
});
