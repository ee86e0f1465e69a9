/**
 * Taps: every gate, door and on-train validator runs the reader SDK with a key certified by
 * the city readers CA and a trust cache filled from the credential service (trust list and
 * status lists). Residents' phones tap over ISO 7816-4 APDUs at `--rate` taps per second;
 * the reader decides offline. Denials come from real causes: a day ticket on a train into
 * zone C, a campus card outside its schedule, a visitor badge at the wrong door or after it
 * expired, and a day ticket revoked mid-run once the new status list reached the readers.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { generateKeyPair, keyObjectSigner } from '../../crypto/index.ts';
import { ApduCard } from '../../tap/index.ts';
import { ApduReaderLink, createCsr, MemoryEventSink, Reader, TrustCache, validateReaderConfig, type ReaderConfig } from '../../reader/index.ts';
import { CityReaderAuthenticator, WalletTapResponder, walletCredentialSource } from '../../wallet/tap/index.ts';
import type { Scenario, World } from '../types.ts';
import { demoFleet, SIM_ACTOR } from './city-pki.ts';
import type { Card, ResidentsScenario } from './residents.ts';

interface SimReader {
  readonly tenant: string;
  readonly id: string;
  readonly reader: Reader;
  readonly trust: TrustCache;
}

function configFor(tenant: string, id: string, site: string): Record<string, unknown> | undefined {
  if (tenant === 'metro' && id.startsWith('gate-')) return { readerId: id, tenant, site, zone: site === 'station-b' ? 'B' : 'A', trustedTenants: ['metro'] };
  // The first train runs out to zone C, which day tickets A–B do not cover.
  if (tenant === 'metro') return { readerId: id, tenant, site, zone: site === 'train-1' ? 'C' : 'B', trustedTenants: ['metro'] };
  if (tenant === 'campus' || tenant === 'buildings') return { readerId: id, tenant, site, resources: [`door:${site}/${id}`], trustedTenants: [tenant] };
  return undefined;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export function tapsScenario(residents: ResidentsScenario): Scenario {
  const readers: SimReader[] = [];
  let anchors: Uint8Array[] = [];
  let revoked: Card | undefined;
  let loop: Promise<void> | undefined;
  let revokeTimer: NodeJS.Timeout | undefined;

  const refreshAll = async (w: World) => {
    const svc = w.ctx.credentials;
    const lists = [...new Set(residents.cards().map((c) => c.statusList))];
    const trustList = (await svc.trustLists.current()).token;
    const statusLists = await Promise.all(lists.map(async (l) => (await svc.statusLists.publish(l)).token));
    for (const r of readers) r.trust.update({ trustList, statusLists }, w.ctx.clock.now());
  };

  const tap = async (w: World, card: Card, r: SimReader): Promise<string> => {
    const responder = new WalletTapResponder({ authenticator: new CityReaderAuthenticator({ anchors }), credentials: walletCredentialSource(card.wallet), clock: w.ctx.clock });
    const apdu = new ApduCard(responder);
    const out = await r.reader.tap(await ApduReaderLink.open((c) => apdu.process(c)));
    w.stats.inc('taps.total');
    if (out.allow) w.stats.inc('taps.granted');
    else w.stats.inc(`taps.denied.${out.reason}`);
    return out.reason;
  };

  /** Mostly the reader a holder would use; now and then the wrong one, as people do. */
  const pick = (card: Card): SimReader | undefined => {
    const own = readers.filter((r) => r.tenant === card.tenant);
    if (own.length === 0) return undefined;
    if (card.kind === 'visitor-badge' && randomInt(4) !== 0) return own.find((r) => r.id === 'door-003') ?? own[0];
    return own[randomInt(own.length)];
  };

  return {
    name: 'taps',
    async setup(w: World) {
      const pki = w.ctx.pki;
      const cas = await pki.listCas();
      const root = cas.find((c) => c.purpose === 'root');
      if (!root) return;
      anchors = [await pki.caCertificate(root.id)];
      const caDer = new Map<string, Uint8Array>();
      const svcRoot = await w.ctx.credentials.root.get();
      for (const d of demoFleet(w.options)) {
        const raw = configFor(d.tenant, d.id, d.site);
        if (!raw) continue;
        const key = generateKeyPair('P-256');
        const signer = keyObjectSigner('ES256', key.privateKey);
        const issued = await pki.issue(null, { csr: await createCsr(signer, key.publicKey, d.id), tenant: d.tenant, deviceId: d.id }, SIM_ACTOR);
        if (!caDer.has(issued.caId)) caDer.set(issued.caId, await pki.caCertificate(issued.caId));
        const config: ReaderConfig = validateReaderConfig(raw);
        const trust = new TrustCache({ root: svcRoot.verifier });
        const reader = new Reader({ config, identity: { chain: [issued.der, caDer.get(issued.caId)!], signer }, trust, events: new MemoryEventSink(), clock: w.ctx.clock });
        readers.push({ tenant: d.tenant, id: d.id, reader, trust });
      }
      await refreshAll(w);
      w.say(`  readers:        ${readers.length} gates, doors and validators certified by the readers CA; trust caches filled`);
    },
    async start(w: World) {
      const cards = residents.cards().filter((c) => c.kind !== 'car-key');
      if (readers.length === 0 || cards.length === 0) return;
      const gap = 1000 / w.options.rate;
      loop = (async () => {
        while (!w.signal.aborted) {
          const t0 = performance.now();
          const card = cards[randomInt(cards.length)]!;
          const r = pick(card);
          if (r) await tap(w, card, r).catch(() => w.stats.inc('taps.errors'));
          await sleep(Math.max(0, gap - (performance.now() - t0)), w.signal);
        }
      })();
      // A day ticket reported stolen a third of the way in: revoked, the status list pushed to
      // every reader, then the thief tries a gate.
      const after = ((w.options.duration ?? 30) * 1000) / 3;
      revokeTimer = setTimeout(() => {
        void (async () => {
          const victim = cards.find((c) => c.kind === 'day-ticket');
          if (!victim) return;
          await w.ctx.credentials.issuer.revoke(victim.tenant, victim.credentialId, SIM_ACTOR, 'lost or stolen');
          w.stats.inc('credentials.revoked');
          await refreshAll(w);
          revoked = victim;
          const gate = readers.find((r) => r.id.startsWith('gate-'));
          const reason = gate ? await tap(w, victim, gate) : 'no gate';
          if (reason === 'REVOKED') w.stats.inc('taps.revocation_enforced');
          w.say(`  revocation:     ${victim.holder}'s day ticket revoked; status list pushed to ${readers.length} readers; next tap at ${gate?.id}: ${reason}`);
        })().catch((e: unknown) => w.say(`  revocation FAILED: ${e instanceof Error ? e.message : String(e)}`));
      }, after);
      revokeTimer.unref();
    },
    summary: (w) => {
      const denied = w.stats.byPrefix('taps.denied.').map(([k, v]) => `${k} ${v}`).join(', ');
      return [`taps: ${w.stats.get('taps.total')} (${w.stats.get('taps.granted')} granted; denied: ${denied || 'none'})${revoked ? `; revoked ticket refused: ${w.stats.get('taps.revocation_enforced') > 0 ? 'yes' : 'no'}` : ''}`];
    },
    async stop() {
      if (revokeTimer) clearTimeout(revokeTimer);
      await loop;
    },
  };
}
