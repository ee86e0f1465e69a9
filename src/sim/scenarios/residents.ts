/**
 * Residents and visitors with phones: each card lives in a wallet (the wallet SDK with its
 * software secure element) registered with the tenant, issued from the tenant's templates and
 * delivered by a signed sync, as a real phone would receive it. Wallets live in memory, so each
 * run registers a fresh population; tenants, issuer keys and templates are created only once.
 */
import { randomBytes } from 'node:crypto';
import { CityTrustError } from '../../core/errors.ts';
import { Wallet, MemoryStorage, type SyncTransport } from '../../wallet/index.ts';
import type { Scenario, World } from '../types.ts';
import { SIM_ACTOR } from './city-pki.ts';

/** What a card is for; the taps scenario picks readers by it. */
export type CardKind = 'day-ticket' | 'ride-pass' | 'campus-card' | 'night-card' | 'visitor-badge' | 'car-key';

export interface Card {
  readonly kind: CardKind;
  readonly tenant: string;
  readonly holder: string;
  readonly credentialId: string;
  /** The status list the credential's index is in. */
  readonly statusList: string;
  readonly wallet: Wallet;
  /** The wallet's sealed records and their key: the tap workers reopen the same wallet from them. */
  readonly storage: MemoryStorage;
  readonly storageKey: Uint8Array;
  /** Seconds since the epoch. */
  readonly validUntil: number;
}

const DAY = 86_400;

/** Templates per tenant: grants as docs/credential-format.md defines them. */
const TEMPLATES: { tenant: string; id: string; name: string; validitySeconds: number; grants: Record<string, unknown> }[] = [
  { tenant: 'metro', id: 'day-ticket-ab', name: 'Day ticket zones A–B', validitySeconds: DAY, grants: { zones: ['A', 'B'], product: 'day-ticket-ab' } },
  { tenant: 'metro', id: 'three-rides', name: 'Three-ride pass zones A–B', validitySeconds: 30 * DAY, grants: { zones: ['A', 'B'], uses: 3, product: 'three-rides' } },
  { tenant: 'campus', id: 'campus-card', name: 'Campus card', validitySeconds: 365 * DAY, grants: { resources: ['door:campus/**'], attributes: ['student'], product: 'campus-card' } },
  { tenant: 'buildings', id: 'visitor-badge', name: 'Visitor badge, door 3', validitySeconds: 3600, grants: { resources: ['door:city-hall/door-003'], product: 'visitor-badge' } },
  { tenant: 'carshare', id: 'car-key', name: 'Shared car key', validitySeconds: 30 * DAY, grants: { resources: ['vehicle:fleet/**'], product: 'car-key' } },
];

/** A campus card whose weekly window is twelve hours away from now, so it is refused today. */
function nightSchedule(nowMs: number): Record<string, unknown> {
  const d = new Date(nowMs);
  const minute = (d.getUTCHours() * 60 + d.getUTCMinutes() + 720) % 1440;
  const start = Math.min(minute, 1380);
  return { resources: ['door:campus/**'], schedule: [[0x7f, start, start + 60]], timeZone: 'UTC', product: 'night-card' };
}

export interface ResidentsScenario extends Scenario {
  cards(): readonly Card[];
}

export function residentsScenario(): ResidentsScenario {
  const cards: Card[] = [];
  let visitorLine = '';
  const giver = (w: World) => {
    const svc = w.ctx.credentials;
    const clock = w.ctx.clock;
    const direct: SyncTransport = { nonce: (id) => svc.wallets.nonce(id), sync: (id, body) => svc.wallets.sync(id, body) };
    const give = async (holder: string, kind: CardKind, tenant: string, template: string, extra: { grants?: Record<string, unknown>; validUntil?: number } = {}) => {
      const storage = new MemoryStorage();
      const storageKey = randomBytes(32);
      const wallet = await Wallet.open({ storage, storageKey, clock, verifyUser: async () => true });
      const ch = await svc.wallets.createChallenge(tenant, SIM_ACTOR);
      const proof = await wallet.registrationProof(tenant, ch.challenge);
      const reg = await svc.wallets.register(tenant, { challengeId: ch.challengeId, publicKey: proof.publicKey, signature: proof.signature, label: holder }, SIM_ACTOR);
      await wallet.completeRegistration(tenant, reg.id, proof.keyAlias);
      const issued = await svc.issuer.issue(tenant, { walletId: reg.id, template, ...(extra.grants && { grants: extra.grants }), ...(extra.validUntil !== undefined && { validUntil: extra.validUntil }) }, SIM_ACTOR);
      await wallet.sync(reg.id, direct);
      w.stats.inc('credentials.issued');
      cards.push({ kind, tenant, holder, credentialId: issued.id, statusList: issued.statusList, wallet, storage, storageKey, validUntil: issued.validUntil });
    };
    return give;
  };
  return {
    name: 'residents',
    cards: () => cards,
    async setup(w: World) {
      const svc = w.ctx.credentials;
      for (const tenant of new Set(TEMPLATES.map((t) => t.tenant))) {
        if ((await svc.issuerKeys.list(tenant)).length === 0) await svc.rotateIssuerKey(tenant, 'ES256', SIM_ACTOR);
      }
      for (const t of TEMPLATES) {
        try {
          await svc.templates.create(t.tenant, { id: t.id, name: t.name, validitySeconds: t.validitySeconds, grants: t.grants }, SIM_ACTOR);
        } catch (e) {
          if (!(e instanceof CityTrustError && /EXISTS$/.test(e.code))) throw e;
        }
      }
      const give = giver(w);
      const clock = w.ctx.clock;
      const residents = w.options.residents;
      const jobs: (() => Promise<void>)[] = [];
      for (let i = 1; i <= residents; i++) {
        const who = `resident-${i}`;
        jobs.push(() => give(who, 'day-ticket', 'metro', 'day-ticket-ab'));
        if (i % 3 === 0) jobs.push(() => give(who, 'campus-card', 'campus', 'campus-card'));
        if (i % 5 === 0) jobs.push(() => give(who, 'car-key', 'carshare', 'car-key'));
        if (i % 10 === 0) jobs.push(() => give(who, 'ride-pass', 'metro', 'three-rides'));
        if (i % 25 === 0) jobs.push(() => give(who, 'night-card', 'campus', 'campus-card', { grants: nightSchedule(clock.now()) }));
      }
      // A few in flight at a time: issuance seals each delivery for its wallet, which is CPU-bound.
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < jobs.length) await jobs[next++]!();
      }));
      w.say(`  residents:      ${residents} residents with wallets; ${cards.length} credentials issued and synced`);
    },
    /** Visitors arrive when the city opens: their badges run out halfway through a fixed-length run, or after half a minute. */
    async start(w: World) {
      const give = giver(w);
      const visitors = Math.max(2, Math.ceil(w.options.residents / 50));
      const visitorSeconds = w.options.duration !== undefined ? Math.max(2, Math.floor(w.options.duration / 2)) : 30;
      const until = Math.floor(w.ctx.clock.now() / 1000) + visitorSeconds;
      for (let i = 1; i <= visitors; i++) await give(`visitor-${i}`, 'visitor-badge', 'buildings', 'visitor-badge', { validUntil: until });
      visitorLine = `${visitors} visitor badges issued, valid until ${new Date(until * 1000).toISOString().slice(11, 19)} UTC`;
      w.say(`  visitors:       ${visitorLine}`);
    },
    summary: (w) => [`wallets: ${cards.length} credentials issued (${w.stats.get('credentials.revoked')} revoked)${visitorLine ? `; ${visitorLine}` : ''}`],
  };
}
