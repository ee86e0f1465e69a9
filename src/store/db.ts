/**
 * Opens the store: embedded SQLite in the data directory by default, PostgreSQL when a
 * database URL is configured. Both run the same migrations and the same Kysely queries;
 * where SQL must differ (row locks) the `dialect` field says which one is in use.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { CityTrustError } from '../core/errors.ts';
import { NodeSqliteDatabase } from './sqlite-adapter.ts';
import { migrationProvider, type MigrationContext } from './migrations/index.ts';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** Where the data lives, for messages (file path or the URL without credentials). */
  readonly location: string;
  /** Runs fn in a transaction; on PostgreSQL and SQLite alike it commits durably before resolving. */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
}

export const SQLITE_FILE = 'citytrust.sqlite';

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  let db: Kysely<Database>;
  let dialect: Dialect;
  let location: string;
  if (opts.databaseUrl) {
    dialect = 'postgres';
    location = redactUrl(opts.databaseUrl);
    // int8 (OID 20) arrives as a string by default; our counters stay below 2^53.
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
    };
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10, types });
    pool.on('error', () => {
      /* idle-client errors surface on the next query; keep the process alive */
    });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else {
    dialect = 'sqlite';
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    location = join(opts.dataDir, SQLITE_FILE);
    const file = location;
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: async () => new NodeSqliteDatabase(file) }) });
  }

  try {
    await sql`select 1`.execute(db);
  } catch (e) {
    await db.destroy().catch(() => undefined);
    throw new CityTrustError('STORE_UNAVAILABLE', `cannot reach the database at ${location}`, { cause: e });
  }

  if (opts.migrate !== false) {
    const ctx: MigrationContext = dialect === 'postgres' ? { dialect, bin: 'bytea', int: 'bigint' } : { dialect, bin: 'blob', int: 'integer' };
    // Domains own independent tables, so a migration that lands later with a lower number
    // (0030 after 0040) is applied rather than refused on an existing data directory.
    const migrator = new Migrator({ db, provider: migrationProvider(ctx), allowUnorderedMigrations: true });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      await db.destroy().catch(() => undefined);
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      throw new CityTrustError('STORE_MIGRATION_FAILED', `migration ${failed ?? '(unknown)'} failed`, { cause: error });
    }
  }

  return {
    db,
    dialect,
    location,
    transaction: (fn) => db.transaction().execute(fn),
    close: () => db.destroy(),
  };
}
