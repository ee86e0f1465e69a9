/**
 * TUF update repositories (docs/updates.md): keys and roles per repository, every signed
 * metadata version (served byte for byte), root drafts awaiting offline signatures, published
 * targets, releases with their rollout, and what each device reported as installed.
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

export async function up(db: Kysely<unknown>, { bin, int }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('update_repos')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('device_classes', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('update_repos_tenant').on('update_repos').column('tenant_id').execute();

  await db.schema
    .createTable('update_keys')
    .addColumn('repo_id', 'text', (c) => c.notNull().references('update_repos.id'))
    .addColumn('keyid', 'text', (c) => c.notNull())
    .addColumn('keytype', 'text', (c) => c.notNull())
    .addColumn('scheme', 'text', (c) => c.notNull())
    .addColumn('public', 'text', (c) => c.notNull())
    .addColumn('vault_key_id', 'text')
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('revoked_at', int)
    .addPrimaryKeyConstraint('update_keys_pk', ['repo_id', 'keyid'])
    .execute();

  await db.schema
    .createTable('update_roles')
    .addColumn('repo_id', 'text', (c) => c.notNull().references('update_repos.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('keyids', 'text', (c) => c.notNull())
    .addColumn('threshold', int, (c) => c.notNull())
    .addColumn('device_classes', 'text')
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('update_roles_pk', ['repo_id', 'name'])
    .execute();

  await db.schema
    .createTable('update_metadata')
    .addColumn('repo_id', 'text', (c) => c.notNull().references('update_repos.id'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('version', int, (c) => c.notNull())
    .addColumn('body', bin, (c) => c.notNull())
    .addColumn('expires_at', int, (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('update_metadata_pk', ['repo_id', 'role', 'version'])
    .execute();

  await db.schema
    .createTable('update_root_drafts')
    .addColumn('repo_id', 'text', (c) => c.primaryKey().references('update_repos.id'))
    .addColumn('version', int, (c) => c.notNull())
    .addColumn('signed', bin, (c) => c.notNull())
    .addColumn('signatures', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('update_targets')
    .addColumn('repo_id', 'text', (c) => c.notNull().references('update_repos.id'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('length', int, (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('custom', 'text', (c) => c.notNull())
    .addColumn('content', bin, (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('update_targets_pk', ['repo_id', 'path'])
    .execute();
  await db.schema.createIndex('update_targets_hash').on('update_targets').columns(['repo_id', 'sha256']).execute();

  await db.schema
    .createTable('update_releases')
    .addColumn('repo_id', 'text', (c) => c.notNull().references('update_repos.id'))
    .addColumn('device_class', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('target_path', 'text', (c) => c.notNull())
    .addColumn('percent', int, (c) => c.notNull())
    .addColumn('sites', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('update_releases_pk', ['repo_id', 'device_class', 'name'])
    .execute();

  await db.schema
    .createTable('update_device_versions')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('repo_id', 'text', (c) => c.notNull())
    .addColumn('device_class', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('target_path', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('seq', int, (c) => c.notNull())
    .addColumn('reported_at', int, (c) => c.notNull())
    .addColumn('received_at', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('update_device_versions_pk', ['tenant_id', 'device_id', 'name'])
    .execute();

  await db.schema
    .createTable('update_device_reports')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('last_seq', int, (c) => c.notNull())
    .addColumn('received_at', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('update_device_reports_pk', ['tenant_id', 'device_id'])
    .execute();
}
