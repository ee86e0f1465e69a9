/** Builds a server on a fresh SQLite data directory and hands out tokens for tests. */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/core/config.ts';
import { FixedClock, silentLogger } from '../../src/core/index.ts';
import { buildServer } from '../../src/server/app.ts';
import { closeContext, openContext, type AppContext } from '../../src/server/context.ts';
import { tempDir } from './tmp.ts';
import { createTestDatabase } from './pg.ts';

export interface TestApp {
  app: FastifyInstance;
  ctx: AppContext;
  clock: FixedClock;
  adminToken: string;
  close(): Promise<void>;
}

export async function testApp(overrides: Record<string, string | number | boolean> = {}, databaseUrl?: string): Promise<TestApp> {
  const tmp = tempDir();
  // test/services/api-postgres.test.ts runs the API suites again with CITYTRUST_TEST_PG=1:
  // every test app then gets a fresh PostgreSQL database of its own.
  const pgDb = databaseUrl === undefined && process.env.CITYTRUST_TEST_PG === '1' ? await createTestDatabase() : undefined;
  if (pgDb) databaseUrl = pgDb.url;
  const config = loadConfig({ env: {}, overrides: { dataDir: join(tmp.dir, 'data'), databaseUrl, 'vault.devUnseal': true, ...overrides } });
  const clock = new FixedClock(Date.UTC(2026, 10, 22, 12));
  const ctx = await openContext(config, { logger: silentLogger(), clock });
  const app = await buildServer(ctx);
  await app.ready();
  const admin = await ctx.tokens.create({ tenant: null, roles: ['city-admin'], label: 'test admin' }, undefined);
  return {
    app,
    ctx,
    clock,
    adminToken: admin.token,
    close: async () => {
      await app.close();
      await closeContext(ctx);
      await pgDb?.drop();
      tmp.remove();
    },
  };
}

export function auth(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
