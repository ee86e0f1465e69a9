import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

export async function up(db: Kysely<unknown>, { bin, int }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('tenants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.references('tenants.id'))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('secret_hash', bin, (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('expires_at', int)
    .addColumn('revoked_at', int)
    .execute();
  await db.schema.createIndex('api_tokens_tenant').on('api_tokens').column('tenant_id').execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('seq', int, (c) => c.primaryKey())
    .addColumn('ts', int, (c) => c.notNull())
    .addColumn('tenant', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('leaf_hash', bin, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_events_tenant_seq').on('audit_events').columns(['tenant', 'seq']).execute();

  await db.schema
    .createTable('audit_head')
    .addColumn('id', int, (c) => c.primaryKey())
    .addColumn('size', int, (c) => c.notNull())
    .addColumn('root', bin, (c) => c.notNull())
    .execute();
  // RFC 9162 §2.1.1: the hash of an empty list is SHA-256 of the empty string.
  const emptyRoot = new Uint8Array(Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex'));
  await sql`insert into audit_head (id, size, root) values (1, 0, ${emptyRoot})`.execute(db);

  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('size', int, (c) => c.primaryKey())
    .addColumn('root', bin, (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .execute();
}
