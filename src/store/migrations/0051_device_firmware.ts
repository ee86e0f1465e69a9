/**
 * The device registry records what each device last reported as installed (firmware and data
 * bundles, by artifact name → version) and when: a signed install report (src/updates/reports.ts)
 * updates it in the same transaction as the report's own rows (docs/updates.md, reports).
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

export async function up(db: Kysely<unknown>, { int }: MigrationContext): Promise<void> {
  await db.schema.alterTable('devices').addColumn('firmware', 'text', (c) => c.notNull().defaultTo('{}')).execute();
  await db.schema.alterTable('devices').addColumn('firmware_reported_at', int).execute();
}
