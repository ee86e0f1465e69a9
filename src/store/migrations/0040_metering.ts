/**
 * Metering (docs/metering.md): per-tenant head-end keys, meters with encrypted customer data,
 * key epochs, readings and other uplink events (unique per meter and invocation counter: the
 * exactly-once key), alerts, commands with approvals and per-meter targets, and the one-row
 * lock the blackout guard serialises on.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

export async function up(db: Kysely<unknown>, { bin, int }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('metering_tenants')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('ka_key_id', 'text', (c) => c.notNull())
    .addColumn('command_key_id', 'text', (c) => c.notNull())
    .addColumn('kek_id', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('meters')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('district', 'text', (c) => c.notNull())
    .addColumn('class', 'text', (c) => c.notNull())
    .addColumn('system_title', bin, (c) => c.notNull())
    .addColumn('customer', bin, (c) => c.notNull())
    .addColumn('relay', 'text', (c) => c.notNull())
    .addColumn('last_counter', int, (c) => c.notNull())
    .addColumn('last_time', int)
    .addColumn('last_import', int)
    .addColumn('last_export', int)
    .addColumn('last_received_at', int)
    .addColumn('command_counter', int, (c) => c.notNull())
    .addColumn('tariff_id', int)
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('meters_pk', ['tenant_id', 'id'])
    .execute();
  await db.schema.createIndex('meters_district').on('meters').columns(['district']).execute();

  await db.schema
    .createTable('meter_key_epochs')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('meter_id', 'text', (c) => c.notNull())
    .addColumn('key_id', bin, (c) => c.notNull())
    .addColumn('ephemeral_public', bin, (c) => c.notNull())
    .addColumn('ka_key_id', 'text', (c) => c.notNull())
    .addColumn('cert_serial', 'text', (c) => c.notNull())
    .addColumn('cert_spki', bin, (c) => c.notNull())
    .addColumn('cert_not_after', int, (c) => c.notNull())
    .addColumn('counter', int, (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('meter_key_epochs_pk', ['tenant_id', 'meter_id', 'key_id'])
    .execute();

  await db.schema
    .createTable('meter_readings')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('meter_id', 'text', (c) => c.notNull())
    .addColumn('counter', int, (c) => c.notNull())
    .addColumn('meter_time', int, (c) => c.notNull())
    .addColumn('received_at', int, (c) => c.notNull())
    .addColumn('import_wh', int, (c) => c.notNull())
    .addColumn('export_wh', int, (c) => c.notNull())
    .addColumn('power_w', int, (c) => c.notNull())
    .addColumn('status', int, (c) => c.notNull())
    .addColumn('flags', 'text', (c) => c.notNull())
    .addColumn('digest', bin, (c) => c.notNull())
    .addPrimaryKeyConstraint('meter_readings_pk', ['tenant_id', 'meter_id', 'counter'])
    .execute();

  await db.schema
    .createTable('meter_events')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('meter_id', 'text', (c) => c.notNull())
    .addColumn('counter', int, (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('meter_time', int, (c) => c.notNull())
    .addColumn('received_at', int, (c) => c.notNull())
    .addColumn('digest', bin, (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('meter_events_pk', ['tenant_id', 'meter_id', 'counter'])
    .execute();

  await db.schema
    .createTable('metering_alerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('meter_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('count', int, (c) => c.notNull())
    .addColumn('first_at', int, (c) => c.notNull())
    .addColumn('last_at', int, (c) => c.notNull())
    .addColumn('counter', int)
    .addColumn('details', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('metering_alerts_tenant_last').on('metering_alerts').columns(['tenant_id', 'last_at']).execute();
  await db.schema.createIndex('metering_alerts_coalesce').on('metering_alerts').columns(['tenant_id', 'meter_id', 'kind', 'last_at']).execute();

  await db.schema
    .createTable('metering_commands')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('args', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('meter_count', int, (c) => c.notNull())
    .addColumn('approvals_required', int, (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('refusal', 'text')
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_at', int, (c) => c.notNull())
    .addColumn('approve_by', int, (c) => c.notNull())
    .addColumn('dispatched_at', int)
    .addColumn('expires_at', int)
    .execute();
  await db.schema.createIndex('metering_commands_tenant').on('metering_commands').columns(['tenant_id', 'requested_at']).execute();

  await db.schema
    .createTable('metering_command_approvals')
    .addColumn('command_id', 'text', (c) => c.notNull().references('metering_commands.id'))
    .addColumn('approver', 'text', (c) => c.notNull())
    .addColumn('approved_at', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('metering_command_approvals_pk', ['command_id', 'approver'])
    .execute();

  await db.schema
    .createTable('metering_command_targets')
    .addColumn('command_id', 'text', (c) => c.notNull().references('metering_commands.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('meter_id', 'text', (c) => c.notNull())
    .addColumn('district', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('counter', int)
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('result', 'text')
    .addColumn('sent_at', int)
    .addColumn('acked_at', int)
    .addPrimaryKeyConstraint('metering_command_targets_pk', ['command_id', 'meter_id'])
    .execute();
  await db.schema.createIndex('metering_command_targets_meter').on('metering_command_targets').columns(['tenant_id', 'meter_id', 'state']).execute();
  await db.schema.createIndex('metering_command_targets_guard').on('metering_command_targets').columns(['action', 'sent_at']).execute();

  await db.schema
    .createTable('metering_guard')
    .addColumn('id', int, (c) => c.primaryKey())
    .addColumn('updated_at', int, (c) => c.notNull())
    .execute();
  await sql`insert into metering_guard (id, updated_at) values (1, 0)`.execute(db);
}
