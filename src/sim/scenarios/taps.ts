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
 */
import { randomInt, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { isCityTrustError } from '../../core/errors.ts';
import { generateKeyPair, keyObjectSigner } from '../../crypto/index.ts';
import { ApduCard } from '../../tap/index.ts';
import { ApduReaderLink, createCsr, Reader, ReaderOnline, TrustCache, validateReaderConfig, type ReaderConfig } from '../../reader/index.ts';
import { CityReaderAuthenticator, WalletTapResponder, walletCredentialSource } from '../../wallet/tap/index.ts';
import { SimReaderQueue } from '../reader-queue.ts';
import type { Scenario, World } from '../types.ts';
import { demoFleet, SIM_ACTOR } from './city-pki.ts';
import type { Card, CardKind, ResidentsScenario } from './residents.ts';

interface SimReader {
  readonly tenant: string;
  readonly id: string;
  readonly reader: Reader;
  readonly trust: TrustCache;
  readonly queue: SimReaderQueue;
  readonly online: ReaderOnline;
  /** Listens to the status push (the tunnel validator does not: its link is down). */
  readonly push: boolean;
  /** Status-list versions received through the push channel. */
  pushes: number;
}

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

const INCIDENTS = ['passback', 'rides', 'lab', 'zone', 'wrong-door', 'tunnel', 'visitor'] as const;
type Incident = (typeof INCIDENTS)[number];

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

export function tapsScenario(residents: ResidentsScenario): TapsScenario {
  const devices: ReaderDevice[] = [];
  const readers: SimReader[] = [];
  const byId = new Map<string, SimReader>();
  let anchors: Uint8Array[] = [];
  let revoked: Card | undefined;
  let loop: Promise<void> | undefined;
  let revokeTimer: NodeJS.Timeout | undefined;
  let uploadTimer: NodeJS.Timeout | undefined;
  let uploading: Promise<unknown> = Promise.resolve();
  let startedAt = 0;
  const watches: Promise<void>[] = [];
  const expiredSeen = new Set<string>();
  const pushAbort = new AbortController();

  /** Each phone's wallet app: its reader authenticator remembers the reader chains it validated. */
  const phones = new Map<Card, { authenticator: CityReaderAuthenticator; credentials: ReturnType<typeof walletCredentialSource> }>();
  const tap = async (w: World, card: Card, r: SimReader): Promise<string> => {
    let phone = phones.get(card);
    if (!phone) {
      phone = { authenticator: new CityReaderAuthenticator({ anchors }), credentials: walletCredentialSource(card.wallet) };
      phones.set(card, phone);
    }
    // One responder per tap (it holds the session); the app's authenticator and credentials persist.
    const responder = new WalletTapResponder({ ...phone, clock: w.ctx.clock });
    const apdu = new ApduCard(responder);
    const out = await r.reader.tap(await ApduReaderLink.open((c) => apdu.process(c)));
    w.stats.inc('taps.total');
    if (out.allow) w.stats.inc('taps.granted');
    else w.stats.inc(`taps.denied.${out.reason}`);
    if (card.kind === 'visitor-badge' && out.reason === 'EXPIRED' && !expiredSeen.has(card.holder)) {
      expiredSeen.add(card.holder);
      w.say(`  visitor badge:  ${card.holder}'s badge ran out at ${new Date(card.validUntil * 1000).toISOString().slice(11, 19)} UTC; ${r.id} now answers EXPIRED`);
    }
    return out.reason;
  };

  const of = (kind: CardKind) => residents.cards().filter((c) => c.kind === kind);
  const pickFrom = <T>(xs: readonly T[]): T | undefined => (xs.length === 0 ? undefined : xs[randomInt(xs.length)]);

  /** The reader a holder would use for this card. */
  const everyday = (card: Card): SimReader | undefined => {
    if (card.kind === 'visitor-badge') return byId.get('door-003');
    if (card.kind === 'day-ticket') return pickFrom(readers.filter((r) => r.tenant === 'metro' && /^(gate|validator)-\d+$/.test(r.id)));
    if (card.kind === 'campus-card' || card.kind === 'night-card') return pickFrom(readers.filter((r) => r.tenant === 'campus' && /^door-\d+$/.test(r.id)));
    return undefined;
  };

  /** One incident: who taps where, for which refusal. */
  const incident = async (w: World, kind: Incident): Promise<void> => {
    const go = async (card: Card | undefined, readerId: string) => {
      const r = byId.get(readerId);
      if (card && r) await tap(w, card, r);
    };
    switch (kind) {
      case 'passback': {
        // Through the stadium gate, then the ticket is handed back over the barrier.
        const t = pickFrom(of('day-ticket'));
        await go(t, 'gate-stadium');
        return go(t, 'gate-stadium');
      }
      case 'rides': {
        // The same commuter, in and out on a three-ride pass until it is used up.
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
        // Visitors come back to their door, also after their badge ran out.
        return go(pickFrom(of('visitor-badge')), 'door-003');
    }
  };

  const uploadAll = async (w: World) => {
    await Promise.all(
      readers.map(async (r) => {
        try {
          const u = await r.online.upload();
          if (u.uploaded > 0) w.stats.inc('readers.events_uploaded', u.uploaded);
        } catch (e) {
          w.stats.inc('readers.upload_failures');
          if (w.stats.get('readers.upload_failures') <= 3) w.say(`  upload refused: ${r.id}: ${e instanceof Error ? e.message : String(e)}${isCityTrustError(e) && e.details ? ` ${JSON.stringify(e.details)}` : ''} (kept queued, sent again)`);
        }
      }),
    );
  };

  return {
    name: 'taps',
    devices: () => devices,
    async setup(w: World) {
      const pki = w.ctx.pki;
      const cas = await pki.listCas();
      const root = cas.find((c) => c.purpose === 'root');
      if (!root) return;
      anchors = [await pki.caCertificate(root.id)];
      const caDer = new Map<string, Uint8Array>();
      const svcRoot = await w.ctx.credentials.root.get();
      for (const d of demoFleet(w.options)) {
        const raw = configFor(d.tenant, d.id, d.site, w.baseUrl, w.options.duration);
        if (!raw) continue;
        const key = generateKeyPair('P-256');
        const signer = keyObjectSigner('ES256', key.privateKey);
        const issued = await pki.issue(null, { csr: await createCsr(signer, key.publicKey, d.id), tenant: d.tenant, deviceId: d.id }, SIM_ACTOR);
        if (!caDer.has(issued.caId)) caDer.set(issued.caId, await pki.caCertificate(issued.caId));
        const config: ReaderConfig = validateReaderConfig(raw);
        const identity = { chain: [issued.der, caDer.get(issued.caId)!], signer };
        const trust = new TrustCache({ root: svcRoot.verifier });
        const queue = new SimReaderQueue();
        const reader = new Reader({ config, identity, trust, events: queue, clock: w.ctx.clock });
        const online = new ReaderOnline({ config, identity, trust, queue, clock: w.ctx.clock });
        const r: SimReader = { tenant: d.tenant, id: d.id, reader, trust, queue, online, push: d.id !== 'validator-tunnel', pushes: 0 };
        readers.push(r);
        byId.set(d.id, r);
        devices.push({ tenant: d.tenant, id: d.id, site: d.site, deviceClass: d.type === 'gate' ? 'gate' : 'reader', privateKey: key.privateKey });
      }
      // Each reader asks the server for its trust list and status lists, signed with its key.
      await Promise.all(readers.map((r) => r.online.refresh()));
      w.say(`  readers:        ${readers.length} gates, doors and validators certified by the readers CA; trust caches filled over HTTP (signed requests)`);
    },
    async start(w: World) {
      const cards = residents.cards().filter((c) => c.kind !== 'car-key' && c.kind !== 'ride-pass');
      if (readers.length === 0 || cards.length === 0) return;
      // The status push: every online reader keeps a server-sent events stream open and applies
      // each new status list version it is told of; a broken stream is reopened after a refresh.
      for (const r of readers.filter((x) => x.push)) {
        watches.push(
          (async () => {
            while (!pushAbort.signal.aborted) {
              await r.online
                .watch(pushAbort.signal, (u) => {
                  if (u instanceof Error) {
                    w.stats.inc('readers.push_failures');
                    if (w.stats.get('readers.push_failures') <= 3) w.say(`  status push:    ${r.id} could not apply a pushed list: ${u.message}`);
                  }
                  else {
                    r.pushes++;
                    w.stats.inc('readers.status_pushes');
                  }
                })
                .catch((e: unknown) => {
                  w.stats.inc('readers.push_failures');
                  if (w.stats.get('readers.push_failures') <= 3) w.say(`  status push:    ${r.id} stream: ${e instanceof Error ? e.message : String(e)}`);
                });
              if (pushAbort.signal.aborted) return;
              await sleep(1000, pushAbort.signal);
              await r.online.refresh().catch(() => w.stats.inc('readers.push_failures'));
            }
          })(),
        );
      }
      // Each reader uploads once a second; an upload still under way is not overlapped (a slow
      // server slows the uploads down instead of receiving the same events twice).
      let busy = false;
      uploadTimer = setInterval(() => {
        if (busy) return;
        busy = true;
        uploading = uploadAll(w).finally(() => (busy = false));
      }, 1000);
      uploadTimer.unref();
      // Taps start on a schedule of `rate` a second (in 10 ms slices), each on its own, as
      // people do: a slow tap does not hold the next one back. At most MAX_INFLIGHT at a time:
      // a tap is CPU work (signatures on both sides), and a machine that cannot keep up skips
      // taps (counted as taps.skipped) rather than starve the server of the event loop.
      const MAX_INFLIGHT = 32;
      let inflight = 0;
      const all = new Set<Promise<void>>();
      const one = (n: number) => {
        inflight++;
        const p = (async () => {
          try {
            if (n % 10 === 0) await incident(w, INCIDENTS[(n / 10) % INCIDENTS.length]!);
            else {
              const card = cards[randomInt(cards.length)]!;
              const r = everyday(card);
              if (r) await tap(w, card, r);
            }
          } catch {
            w.stats.inc('taps.errors');
          }
        })().finally(() => {
          inflight--;
          all.delete(p);
        });
        all.add(p);
      };
      startedAt = performance.now();
      loop = (async () => {
        const t0 = startedAt;
        let n = 0;
        while (!w.signal.aborted) {
          const due = Math.floor(((performance.now() - t0) * w.options.rate) / 1000);
          while (n < due && inflight < MAX_INFLIGHT) one(++n);
          // Behind by more than the in-flight bound: skip what cannot be caught up.
          if (n < due) {
            w.stats.inc('taps.skipped', due - n);
            n = due;
          }
          await sleep(10, w.signal);
        }
        await Promise.allSettled([...all]);
      })();
      // A day ticket reported stolen a third of the way in: revoked at the back office; the new
      // status list reaches the readers through the push channel; then the thief tries a gate.
      const after = ((w.options.duration ?? 30) * 1000) / 3;
      revokeTimer = setTimeout(() => {
        void (async () => {
          const victim = cards.find((c) => c.kind === 'day-ticket');
          if (!victim) return;
          // The readers that hold the ticket's status list (the metro's) listen for its changes.
          const online = readers.filter((r) => r.push && r.tenant === victim.tenant);
          const before = new Map(online.map((r) => [r.id, r.pushes]));
          const t0 = performance.now();
          await w.ctx.credentials.issuer.revoke(victim.tenant, victim.credentialId, SIM_ACTOR, 'lost or stolen');
          w.stats.inc('credentials.revoked');
          const revokedMs = performance.now() - t0;
          // Wait (up to 10 s) for the push to reach every online reader.
          while (online.some((r) => r.pushes === before.get(r.id)) && performance.now() - t0 < 10_000 && !w.signal.aborted) await sleep(20, w.signal);
          const reached = online.filter((r) => r.pushes > before.get(r.id)!).length;
          const ms = performance.now() - t0 - revokedMs;
          w.stats.inc('revocation.readers_online', online.length);
          w.stats.inc('revocation.readers_reached', reached);
          revoked = victim;
          const gate = byId.get('gate-001');
          const reason = gate ? await tap(w, victim, gate) : 'no gate';
          if (reason === 'REVOKED') w.stats.inc('taps.revocation_enforced');
          w.say(`  revocation:     ${victim.holder}'s day ticket revoked (${revokedMs.toFixed(0)} ms); status push reached ${reached} of ${online.length} online ${victim.tenant} readers ${ms.toFixed(0)} ms later; next tap at ${gate?.id}: ${reason}`);
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
      const queued = readers.reduce((s, r) => s + r.queue.size, 0);
      const secs = startedAt ? (performance.now() - startedAt) / 1000 : 0;
      const achieved = secs > 0 ? w.stats.get('taps.total') / secs : 0;
      return [
        `taps: ${w.stats.get('taps.total')} at ${achieved.toFixed(0)}/s (target ${w.options.rate}/s${w.stats.get('taps.skipped') ? `, ${w.stats.get('taps.skipped')} skipped: CPU-bound` : ''}) (${w.stats.get('taps.granted')} granted; denied: ${denied || 'none'})${revoked ? `; revoked ticket refused: ${w.stats.get('taps.revocation_enforced') > 0 ? 'yes' : 'no'}` : ''}`,
        `readers: ${w.stats.get('readers.events_uploaded')} events uploaded over HTTP (${queued} queued), ${w.stats.get('readers.status_pushes')} status lists pushed`,
      ];
    },
    async stop(w: World) {
      if (revokeTimer) clearTimeout(revokeTimer);
      await loop;
      if (uploadTimer) clearInterval(uploadTimer);
      pushAbort.abort();
      await Promise.allSettled(watches);
      await uploading;
      // What is still queued goes up before the server stops (a refused batch, e.g. 503 while the
      // store is busy, stays queued and is sent again).
      for (let i = 0; i < 5 && readers.some((r) => r.queue.size > 0); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 200));
        await uploadAll(w);
      }
    },
  };
}
