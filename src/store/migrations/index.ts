/**
 * Versioned migrations, applied in name order at start by Kysely's Migrator (which holds a
 * lock so two servers starting together on one PostgreSQL apply each migration once).
 * Migrations are append-only: a released migration is never edited.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_foundation.ts';
import * as m0010 from './0010_pki.ts';
import * as m0030 from './0030_readers.ts';
import * as m0040 from './0040_metering.ts';
import * as m0041 from './0041_metering_durable.ts';
import * as m0020 from './0020_credentials.ts';
import * as m0050 from './0050_updates.ts';
import * as m0051 from './0051_device_firmware.ts';

export interface MigrationContext {
  dialect: 'sqlite' | 'postgres';
  /** Binary column type: blob on SQLite, bytea on PostgreSQL. */
  bin: 'blob' | 'bytea';
  /** 64-bit integer column type. */
  int: 'integer' | 'bigint';
}

type Step = { up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> };

const STEPS: Record<string, Step> = {
  '0001_foundation': m0001,
  '0010_pki': m0010,
  '0040_metering': m0040,
  '0041_metering_durable': m0041,
  '0020_credentials': m0020,
  '0030_readers': m0030,
  '0050_updates': m0050,
  '0051_device_firmware': m0051,
};

export function migrationProvider(ctx: MigrationContext): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      const out: Record<string, Migration> = {};
      for (const [name, step] of Object.entries(STEPS)) out[name] = { up: (db) => step.up(db, ctx) };
      return out;
    },
  };
}
