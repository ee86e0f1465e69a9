/** Issuance, sync, revocation and status-list publication on PostgreSQL: the scenarios of test/credentials/store-scenarios.ts. */
import { createTestDatabase } from '../helpers/pg.ts';
import { credentialStoreScenarios } from '../credentials/store-scenarios.ts';

credentialStoreScenarios('PostgreSQL', async () => {
  const db = await createTestDatabase();
  return { databaseUrl: db.url, cleanup: db.drop };
});
