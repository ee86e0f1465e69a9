/** PKI (CA hierarchy, issued certificates) and the device registry with bootstrap tokens. */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

export async function up(db: Kysely<unknown>, { bin, int }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('pki_cas')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('generation', int, (c) => c.notNull())
    .addColumn('parent_id', 'text', (c) => c.references('pki_cas.id'))
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('key_type', 'text', (c) => c.notNull())
    .addColumn('cert_der', bin, (c) => c.notNull())
    .addColumn('serial', 'text', (c) => c.notNull().unique())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('not_before', int, (c) => c.notNull())
    .addColumn('not_after', int, (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('crl_number', int, (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addUniqueConstraint('pki_cas_purpose_generation', ['purpose', 'generation'])
    .execute();

  await db.schema
    .createTable('pki_certificates')
    .addColumn('serial', 'text', (c) => c.primaryKey())
    .addColumn('ca_id', 'text', (c) => c.notNull().references('pki_cas.id'))
    .addColumn('tenant_id', 'text', (c) => c.references('tenants.id'))
    .addColumn('device_id', 'text')
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('sans', 'text', (c) => c.notNull())
    .addColumn('not_before', int, (c) => c.notNull())
    .addColumn('not_after', int, (c) => c.notNull())
    .addColumn('key_sha256', bin, (c) => c.notNull())
    .addColumn('fingerprint', bin, (c) => c.notNull().unique())
    .addColumn('der', bin, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('revoked_at', int)
    .addColumn('reason', 'text')
    .addColumn('key_id', 'text')
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pki_certificates_device').on('pki_certificates').columns(['tenant_id', 'device_id']).execute();
  await db.schema.createIndex('pki_certificates_ca_status').on('pki_certificates').columns(['ca_id', 'status']).execute();
  await db.schema.createIndex('pki_certificates_key').on('pki_certificates').column('key_sha256').execute();
  await db.schema.createIndex('pki_certificates_tenant_created').on('pki_certificates').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('devices')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('site', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('devices_pk', ['tenant_id', 'id'])
    .execute();

  await db.schema
    .createTable('device_bootstrap_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('secret_hash', bin, (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('expires_at', int, (c) => c.notNull())
    .addColumn('used_at', int)
    .addForeignKeyConstraint('device_bootstrap_tokens_device', ['tenant_id', 'device_id'], 'devices', ['tenant_id', 'id'])
    .execute();
  await db.schema.createIndex('device_bootstrap_tokens_device').on('device_bootstrap_tokens').columns(['tenant_id', 'device_id']).execute();
}
