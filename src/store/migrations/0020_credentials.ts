/**
 * Credentials, wallets, provisioning queue, status lists and offers (docs/credential-format.md,
 * docs/provisioning.md, docs/status-list.md). Personal data columns hold only ciphertext
 * (EnvelopeCipher) and keyed hashes; nothing here is readable without the vault.
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

export async function up(db: Kysely<unknown>, { bin, int }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('credential_roots')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('vault_key_id', 'text', (c) => c.notNull())
    .addColumn('kid', bin, (c) => c.notNull())
    .addColumn('public_key', bin, (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('credential_issuer_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('vault_key_id', 'text', (c) => c.notNull())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('public_key', bin, (c) => c.notNull())
    .addColumn('certificate', bin, (c) => c.notNull())
    .addColumn('cert_exp', int, (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('retired_at', int)
    .addColumn('last_expiry', int, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('credential_issuer_keys_tenant').on('credential_issuer_keys').columns(['tenant_id', 'state']).execute();

  await db.schema
    .createTable('credential_tenant_keys')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('kek_id', 'text', (c) => c.notNull())
    .addColumn('index_key_id', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('credential_templates')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('validity_seconds', int, (c) => c.notNull())
    .addColumn('grants', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('credential_templates_pk', ['tenant_id', 'id'])
    .execute();

  await db.schema
    .createTable('status_lists')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('bits', int, (c) => c.notNull())
    .addColumn('size', int, (c) => c.notNull())
    .addColumn('allocated', int, (c) => c.notNull())
    .addColumn('version', int, (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('status_lists_tenant_state').on('status_lists').columns(['tenant_id', 'state']).execute();

  await db.schema
    .createTable('wallets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('public_key', bin, (c) => c.notNull())
    .addColumn('kid', bin, (c) => c.notNull())
    .addColumn('attestation_format', 'text', (c) => c.notNull())
    .addColumn('attestation', bin)
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('next_seq', int, (c) => c.notNull())
    .addColumn('acked_seq', int, (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('wallets_tenant').on('wallets').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('wallet_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('wallet_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('challenge', bin, (c) => c.notNull())
    .addColumn('expires_at', int, (c) => c.notNull())
    .addColumn('used_at', int)
    .addColumn('created_at', int, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('wallet_challenges_wallet').on('wallet_challenges').columns(['wallet_id', 'created_at']).execute();

  await db.schema
    .createTable('credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('template_id', 'text')
    .addColumn('wallet_id', 'text', (c) => c.notNull().references('wallets.id'))
    .addColumn('issuer_kid', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_list_id', 'text', (c) => c.notNull())
    .addColumn('status_idx', int, (c) => c.notNull())
    .addColumn('iat', int, (c) => c.notNull())
    .addColumn('nbf', int, (c) => c.notNull())
    .addColumn('exp', int, (c) => c.notNull())
    .addColumn('credential', bin, (c) => c.notNull())
    .addColumn('holder_index', bin)
    .addColumn('holder_data', bin)
    .addColumn('replaces', 'text')
    .addColumn('replaced_by', 'text')
    .addColumn('reason', 'text')
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('credentials_status_slot').unique().on('credentials').columns(['status_list_id', 'status_idx']).execute();
  await db.schema.createIndex('credentials_tenant_created').on('credentials').columns(['tenant_id', 'created_at']).execute();
  await db.schema.createIndex('credentials_wallet').on('credentials').column('wallet_id').execute();
  await db.schema.createIndex('credentials_holder').on('credentials').columns(['tenant_id', 'holder_index']).execute();

  await db.schema
    .createTable('wallet_deliveries')
    .addColumn('wallet_id', 'text', (c) => c.notNull().references('wallets.id'))
    .addColumn('seq', int, (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('credential_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('envelope', bin, (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('delivered_at', int)
    .addPrimaryKeyConstraint('wallet_deliveries_pk', ['wallet_id', 'seq'])
    .execute();

  await db.schema
    .createTable('offer_rules')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('offer_rules_pk', ['tenant_id', 'id'])
    .execute();

  await db.schema
    .createTable('holder_attributes')
    .addColumn('wallet_id', 'text', (c) => c.primaryKey().references('wallets.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('data', bin, (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('offer_consents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('wallet_id', 'text', (c) => c.notNull().references('wallets.id'))
    .addColumn('attributes', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('granted_at', int, (c) => c.notNull())
    .addColumn('revoked_at', int)
    .execute();
  await db.schema.createIndex('offer_consents_wallet').on('offer_consents').columns(['wallet_id', 'revoked_at']).execute();
}
