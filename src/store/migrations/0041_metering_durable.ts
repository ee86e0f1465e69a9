/**
 * Metering, second step: signed command frames are kept until the meter acknowledges them or
 * they expire, so a restart re-sends them (docs/metering.md, commands); and the serials of the
 * head-end's certificates (key agreement, command signing) that meters validate before trusting
 * the head-end's keys.
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

export async function up(db: Kysely<unknown>, { bin }: MigrationContext): Promise<void> {
  await db.schema.alterTable('metering_command_targets').addColumn('frame', bin).execute();
  await db.schema.alterTable('metering_tenants').addColumn('ka_cert_serial', 'text').execute();
  await db.schema.alterTable('metering_tenants').addColumn('command_cert_serial', 'text').execute();
}
