/**
 * Metering alerts: every anomaly ingest sees — a refused frame, an implausible reading, a
 * tamper event, a refused command — becomes an alert an operator can list through the API.
 * Repeats of one kind for one meter within `coalesceMs` update one row (count, last seen)
 * instead of adding rows, so a flood of forged frames cannot fill the database.
 */
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import { CityTrustError } from '../core/errors.ts';
import type { Store } from '../store/db.ts';
import type { Database, MeteringAlertsTable } from '../store/schema.ts';

export const ALERT_KINDS = {
  // frames refused (nothing stored)
  METER_FRAME_MALFORMED: 'warning',
  METER_FRAME_TRUNCATED: 'warning',
  METER_FRAME_TOO_LARGE: 'warning',
  METER_SIGNATURE_INVALID: 'critical',
  METER_SYSTEM_TITLE_MISMATCH: 'critical',
  METER_IDENTITY_INVALID: 'critical',
  METER_NOT_ACTIVE: 'warning',
  METER_COMPROMISED: 'critical',
  METER_KEY_UNKNOWN: 'warning',
  METER_COUNTER_REPLAY: 'critical',
  METER_DECRYPT_FAILED: 'critical',
  // readings stored, flagged implausible
  METER_REGISTER_BACKWARDS: 'critical',
  METER_CONSUMPTION_IMPLAUSIBLE: 'warning',
  METER_POWER_IMPLAUSIBLE: 'warning',
  METER_CLOCK_SKEW: 'warning',
  METER_TIME_BACKWARDS: 'warning',
  METER_COUNTER_GAP: 'info',
  METER_READING_GAP: 'info',
  // events
  METER_TAMPER: 'critical',
  METER_COMMAND_REFUSED: 'warning',
  METER_ACK_UNKNOWN: 'warning',
} as const;
export type AlertKind = keyof typeof ALERT_KINDS;
export type AlertSeverity = (typeof ALERT_KINDS)[AlertKind];

export function isAlertKind(k: unknown): k is AlertKind {
  return typeof k === 'string' && Object.hasOwn(ALERT_KINDS, k);
}

export interface AlertInput {
  readonly tenant: string;
  readonly meterId: string;
  readonly kind: AlertKind;
  readonly counter?: number;
  readonly details?: Record<string, unknown>;
}

export interface Alert {
  readonly id: string;
  readonly tenant: string;
  readonly meterId: string;
  readonly kind: AlertKind;
  readonly severity: AlertSeverity;
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly counter: number | null;
  readonly details: Record<string, unknown>;
}

function alertOf(r: MeteringAlertsTable): Alert {
  return {
    id: r.id,
    tenant: r.tenant_id,
    meterId: r.meter_id,
    kind: r.kind as AlertKind,
    severity: r.severity,
    count: Number(r.count),
    firstAt: Number(r.first_at),
    lastAt: Number(r.last_at),
    counter: r.counter === null ? null : Number(r.counter),
    details: JSON.parse(r.details) as Record<string, unknown>,
  };
}

/**
 * Writes alerts inside the caller's transaction. Alerts of one batch are first grouped by
 * (tenant, meter, kind), then each group updates the latest matching row of the window or adds one.
 */
export async function writeAlerts(trx: Transaction<Database>, alerts: readonly AlertInput[], now: number, coalesceMs: number): Promise<void> {
  const groups = new Map<string, { a: AlertInput; n: number }>();
  for (const a of alerts) {
    const k = `${a.tenant}\u0000${a.meterId}\u0000${a.kind}`;
    const g = groups.get(k);
    if (g) {
      g.n++;
      g.a = a;
    } else groups.set(k, { a, n: 1 });
  }
  for (const { a, n } of groups.values()) {
    const details = JSON.stringify(a.details ?? {});
    const prev = await trx
      .selectFrom('metering_alerts')
      .select(['id', 'count'])
      .where('tenant_id', '=', a.tenant)
      .where('meter_id', '=', a.meterId)
      .where('kind', '=', a.kind)
      .where('last_at', '>=', now - coalesceMs)
      .orderBy('last_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (prev) {
      await trx
        .updateTable('metering_alerts')
        .set({ count: Number(prev.count) + n, last_at: now, counter: a.counter ?? null, details })
        .where('id', '=', prev.id)
        .execute();
    } else {
      await trx
        .insertInto('metering_alerts')
        .values({ id: `ma_${randomBytes(12).toString('hex')}`, tenant_id: a.tenant, meter_id: a.meterId, kind: a.kind, severity: ALERT_KINDS[a.kind], count: n, first_at: now, last_at: now, counter: a.counter ?? null, details })
        .execute();
    }
  }
}

export interface AlertFilter {
  meterId?: string;
  kind?: string;
  severity?: string;
  since?: number;
  limit?: number;
}

export async function listAlerts(store: Store, tenant: string, f: AlertFilter = {}): Promise<Alert[]> {
  let q = store.db.selectFrom('metering_alerts').selectAll().where('tenant_id', '=', tenant);
  if (f.meterId !== undefined) q = q.where('meter_id', '=', f.meterId);
  if (f.kind !== undefined) {
    if (!isAlertKind(f.kind)) throw new CityTrustError('INPUT_INVALID', 'unknown alert kind');
    q = q.where('kind', '=', f.kind);
  }
  if (f.severity !== undefined) {
    if (!['info', 'warning', 'critical'].includes(f.severity)) throw new CityTrustError('INPUT_INVALID', 'severity is info, warning or critical');
    q = q.where('severity', '=', f.severity as AlertSeverity);
  }
  if (f.since !== undefined) q = q.where('last_at', '>=', f.since);
  const rows = await q.orderBy('last_at', 'desc').orderBy('id').limit(Math.min(Math.max(f.limit ?? 100, 1), 1000)).execute();
  return rows.map(alertOf);
}
