/**
 * The blackout guard (docs/metering.md, blackout guard): a sliding-window budget of remote
 * disconnects per grid district and city-wide. The grid is physical, so the count spans every
 * tenant: however many accounts an attacker steals, together they cannot disconnect more than
 * the budget within the window. A command that would exceed it is refused whole.
 *
 * Checked once without a lock when a command is requested (to refuse early), and again inside
 * the dispatch transaction, which holds the guard lock so that two dispatches cannot both
 * spend the last of a budget.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { CityTrustError } from '../core/errors.ts';
import type { Database } from '../store/schema.ts';

export interface GuardSettings {
  readonly windowMs: number;
  /** Budget per district, in basis points of its meters (50 = 0.5 %). */
  readonly districtBasisPoints: number;
  /** Budget city-wide, in basis points of all meters. */
  readonly cityBasisPoints: number;
  /** A budget never falls below this many disconnects per window (small districts). */
  readonly minBudget: number;
}

export const DEFAULT_GUARD: GuardSettings = { windowMs: 900_000, districtBasisPoints: 50, cityBasisPoints: 50, minBudget: 1 };

export function budgetOf(meters: number, basisPoints: number, minBudget: number): number {
  return Math.max(minBudget, Math.floor((meters * basisPoints) / 10_000));
}

export interface GuardVerdict {
  readonly scope: 'district' | 'city';
  readonly district?: string;
  readonly used: number;
  readonly asked: number;
  readonly budget: number;
  readonly meters: number;
}

/** Takes the guard lock (PostgreSQL row lock; SQLite transactions already hold the write lock). */
export async function lockGuard(trx: Transaction<Database>, dialect: 'sqlite' | 'postgres', now: number): Promise<void> {
  if (dialect === 'postgres') await sql`select id from metering_guard where id = 1 for update`.execute(trx);
  await trx.updateTable('metering_guard').set({ updated_at: now }).where('id', '=', 1).execute();
}

/**
 * The first budget `perDistrict` would exceed, or undefined when it fits. `perDistrict` counts
 * the disconnects asked for, by district.
 */
export async function checkGuard(db: Kysely<Database>, perDistrict: ReadonlyMap<string, number>, now: number, s: GuardSettings): Promise<GuardVerdict | undefined> {
  const since = now - s.windowMs;
  let askedTotal = 0;
  for (const [district, asked] of perDistrict) {
    askedTotal += asked;
    const m = await db.selectFrom('meters').select((eb) => eb.fn.countAll<number>().as('n')).where('district', '=', district).executeTakeFirstOrThrow();
    const u = await db
      .selectFrom('metering_command_targets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('action', '=', 'disconnect')
      .where('district', '=', district)
      .where('sent_at', '>=', since)
      .executeTakeFirstOrThrow();
    const meters = Number(m.n);
    const used = Number(u.n);
    const budget = budgetOf(meters, s.districtBasisPoints, s.minBudget);
    if (used + asked > budget) return { scope: 'district', district, used, asked, budget, meters };
  }
  const m = await db.selectFrom('meters').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const u = await db.selectFrom('metering_command_targets').select((eb) => eb.fn.countAll<number>().as('n')).where('action', '=', 'disconnect').where('sent_at', '>=', since).executeTakeFirstOrThrow();
  const meters = Number(m.n);
  const used = Number(u.n);
  const budget = budgetOf(meters, s.cityBasisPoints, s.minBudget);
  if (used + askedTotal > budget) return { scope: 'city', used, asked: askedTotal, budget, meters };
  return undefined;
}

export function guardError(v: GuardVerdict): CityTrustError {
  const where = v.scope === 'city' ? 'city-wide' : `in district ${v.district}`;
  return new CityTrustError('METER_COMMAND_GUARD', `the blackout guard allows ${v.budget} disconnects ${where} per window; ${v.used} used, ${v.asked} asked`, {
    details: { scope: v.scope, ...(v.district !== undefined ? { district: v.district } : {}), used: v.used, asked: v.asked, budget: v.budget },
  });
}
