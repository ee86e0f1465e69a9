/**
 * The durable half of an ingest batch: one transaction writes every accepted frame (readings,
 * events, key epochs), advances each meter's stored counter and state, applies command acks
 * and records the batch's alerts. Readings and events are unique per (tenant, meter, counter),
 * so even a frame another instance stored meanwhile is not stored twice.
 */
import { sql, type Transaction } from 'kysely';
import type { AuditEventInput } from '../audit/types.ts';
import type { Store } from '../store/db.ts';
import type { Database, MeterEventsTable, MeterKeyEpochsTable, MeterReadingsTable } from '../store/schema.ts';
import { writeAlerts, type AlertInput } from './alerts.ts';
import type { MeterEntry } from './ingest-state.ts';
import type { AckResult } from './payload.ts';

export interface AckWrite {
  readonly tenant: string;
  readonly meterId: string;
  readonly commandId: string;
  readonly commandCounter: number;
  readonly result: AckResult;
  readonly relayConnected: boolean;
  readonly counter: number;
}

export interface WriteSet {
  readonly readings: MeterReadingsTable[];
  readonly events: MeterEventsTable[];
  readonly epochs: MeterKeyEpochsTable[];
  readonly meters: Map<string, MeterEntry>;
  readonly alerts: AlertInput[];
  readonly acks: AckWrite[];
  readonly audits: AuditEventInput[];
}

export function emptyWriteSet(): WriteSet {
  return { readings: [], events: [], epochs: [], meters: new Map(), alerts: [], acks: [], audits: [] };
}

async function insertMany<T extends 'meter_readings' | 'meter_events'>(trx: Transaction<Database>, dialect: Store['dialect'], table: T, rows: readonly Database[T][]): Promise<void> {
  if (rows.length === 0) return;
  // Multi-row inserts: few round trips on PostgreSQL; on SQLite a fixed chunk size keeps the
  // statement text — and so the adapter's prepared-statement cache entry — the same.
  const size = dialect === 'postgres' ? 200 : 50;
  for (let i = 0; i < rows.length; i += size) {
    await trx
      .insertInto(table)
      .values(rows.slice(i, i + size) as never)
      .onConflict((oc) => oc.columns(['tenant_id', 'meter_id', 'counter']).doNothing())
      .execute();
  }
}

const METER_CHUNK = 100;

/**
 * The meters of a batch in a few statements instead of one per meter — on SQLite the commit holds
 * the event loop (its driver is synchronous), on PostgreSQL each statement is a round trip:
 * UPDATE … FROM (VALUES …) in chunks of a fixed size, so that the statement text, and so the
 * prepared statement, repeats. SQLite (≥ 3.33) names VALUES columns column1…columnN; PostgreSQL
 * takes aliases and needs the parameter types. `last_counter <` keeps a slower instance from
 * moving a meter's counter backwards, as a row-by-row update would.
 */
async function updateMeters(trx: Transaction<Database>, dialect: Store['dialect'], meters: readonly MeterEntry[], now: number): Promise<void> {
  const pg = dialect === 'postgres';
  const int = (v: number | null) => (pg ? sql`${v}::bigint` : sql`${v}`);
  const text = (v: string) => (pg ? sql`${v}::text` : sql`${v}`);
  const v = pg
    ? { t: sql`v.tenant_id`, id: sql`v.id`, c: sql`v.c`, time: sql`v.t`, imp: sql`v.i`, exp: sql`v.e`, relay: sql`v.r`, alias: sql`v(tenant_id, id, c, t, i, e, r)` }
    : { t: sql`v.column1`, id: sql`v.column2`, c: sql`v.column3`, time: sql`v.column4`, imp: sql`v.column5`, exp: sql`v.column6`, relay: sql`v.column7`, alias: sql`v` };
  for (let i = 0; i < meters.length; i += METER_CHUNK) {
    const rows = meters.slice(i, i + METER_CHUNK).map((e) => sql`(${text(e.tenant)}, ${text(e.id)}, ${int(e.lastCounter)}, ${int(e.lastTime)}, ${int(e.lastImport)}, ${int(e.lastExport)}, ${text(e.relay)})`);
    await sql`update meters set last_counter = ${v.c}, last_time = ${v.time}, last_import = ${v.imp}, last_export = ${v.exp}, relay = ${v.relay}, last_received_at = ${now}, updated_at = ${now}
      from (values ${sql.join(rows)}) as ${v.alias}
      where meters.tenant_id = ${v.t} and meters.id = ${v.id} and meters.last_counter < ${v.c}`.execute(trx);
  }
}

export async function writeBatch(store: Store, w: WriteSet, now: number, coalesceMs: number): Promise<void> {
  await store.transaction(async (trx) => {
    await insertMany(trx, store.dialect, 'meter_readings', w.readings);
    await insertMany(trx, store.dialect, 'meter_events', w.events);
    for (const e of w.epochs) {
      await trx.insertInto('meter_key_epochs').values(e).onConflict((oc) => oc.columns(['tenant_id', 'meter_id', 'key_id']).doNothing()).execute();
    }
    for (const a of w.acks) {
      const r = await trx
        .updateTable('metering_command_targets')
        .set({ state: a.result === 'executed' || a.result === 'already-executed' ? 'executed' : 'refused', result: a.result, acked_at: now, frame: null })
        .where('command_id', '=', a.commandId)
        .where('tenant_id', '=', a.tenant)
        .where('meter_id', '=', a.meterId)
        .where('counter', '=', a.commandCounter)
        .where('state', '=', 'sent')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) {
        // A re-sent command (after a restart) that the meter had executed is answered again: not an anomaly.
        const earlier = await trx
          .selectFrom('metering_command_targets')
          .select(['state', 'result'])
          .where('command_id', '=', a.commandId)
          .where('tenant_id', '=', a.tenant)
          .where('meter_id', '=', a.meterId)
          .where('counter', '=', a.commandCounter)
          .executeTakeFirst();
        if (earlier && (earlier.state === 'executed' || earlier.state === 'refused') && (earlier.result === a.result || a.result === 'replayed' || a.result === 'already-executed')) continue;
        w.alerts.push({ tenant: a.tenant, meterId: a.meterId, kind: 'METER_ACK_UNKNOWN', counter: a.counter, details: { commandId: a.commandId, commandCounter: a.commandCounter, result: a.result } });
      } else if (a.result !== 'executed' && a.result !== 'already-executed') {
        w.alerts.push({ tenant: a.tenant, meterId: a.meterId, kind: 'METER_COMMAND_REFUSED', counter: a.counter, details: { commandId: a.commandId, result: a.result } });
      }
    }
    await updateMeters(trx, store.dialect, [...w.meters.values()], now);
    if (w.alerts.length > 0) await writeAlerts(trx, w.alerts, now, coalesceMs);
  });
}

/** The stored digest and arrival of one counter, to tell a redelivery from a replay. */
export async function storedFrame(store: Store, tenant: string, meterId: string, counter: number): Promise<{ digest: Uint8Array; at: number } | undefined> {
  const r =
    (await store.db.selectFrom('meter_readings').select(['digest', 'received_at']).where('tenant_id', '=', tenant).where('meter_id', '=', meterId).where('counter', '=', counter).executeTakeFirst()) ??
    (await store.db.selectFrom('meter_events').select(['digest', 'received_at']).where('tenant_id', '=', tenant).where('meter_id', '=', meterId).where('counter', '=', counter).executeTakeFirst());
  return r ? { digest: new Uint8Array(r.digest), at: Number(r.received_at) } : undefined;
}
