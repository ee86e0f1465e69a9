/**
 * Readers (docs/reader.md): readers seen by the server with their dashboard counters, every tap
 * event they uploaded (unique per reader and sequence number, so a re-upload counts once), and each
 * signed batch as received, so the reader signature behind an event can be checked again later.
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

export async function up(db: Kysely<unknown>, { bin, int }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('readers')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('site', 'text', (c) => c.notNull())
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('first_seen', int, (c) => c.notNull())
    .addColumn('last_seen', int, (c) => c.notNull())
    .addColumn('last_upload_at', int)
    .addColumn('last_seq', int, (c) => c.notNull())
    .addColumn('events_total', int, (c) => c.notNull())
    .addColumn('granted_total', int, (c) => c.notNull())
    .addColumn('denied_total', int, (c) => c.notNull())
    .addColumn('alerts_total', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('readers_pk', ['tenant_id', 'id'])
    .execute();

  await db.schema
    .createTable('reader_event_batches')
    .addColumn('hash', bin, (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('reader_id', 'text', (c) => c.notNull())
    .addColumn('signed', bin, (c) => c.notNull())
    .addColumn('first_seq', int, (c) => c.notNull())
    .addColumn('last_seq', int, (c) => c.notNull())
    .addColumn('count', int, (c) => c.notNull())
    .addColumn('received_at', int, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('reader_event_batches_reader').on('reader_event_batches').columns(['tenant_id', 'reader_id', 'received_at']).execute();

  await db.schema
    .createTable('reader_events')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('reader_id', 'text', (c) => c.notNull())
    .addColumn('instance', 'text', (c) => c.notNull())
    .addColumn('seq', int, (c) => c.notNull())
    .addColumn('at', int, (c) => c.notNull())
    .addColumn('received_at', int, (c) => c.notNull())
    .addColumn('site', 'text', (c) => c.notNull())
    .addColumn('allow', 'integer', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('code', 'text')
    .addColumn('by_party', 'text', (c) => c.notNull())
    .addColumn('resource', 'text')
    .addColumn('zones', 'text')
    .addColumn('credential_id', 'text')
    .addColumn('issuer', 'text')
    .addColumn('status_stale', 'integer', (c) => c.notNull())
    .addColumn('session', 'text')
    .addColumn('batch_hash', bin, (c) => c.notNull())
    .addPrimaryKeyConstraint('reader_events_pk', ['tenant_id', 'reader_id', 'instance', 'seq'])
    .execute();
  await db.schema.createIndex('reader_events_tenant_at').on('reader_events').columns(['tenant_id', 'at']).execute();
  await db.schema.createIndex('reader_events_tenant_reason').on('reader_events').columns(['tenant_id', 'reason']).execute();
  await db.schema.createIndex('reader_events_credential').on('reader_events').columns(['tenant_id', 'credential_id']).execute();
}
