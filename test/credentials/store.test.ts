/** Issuance, sync, revocation and status lists on the embedded SQLite store (PostgreSQL: test/services/credentials-postgres.test.ts). */
import { credentialStoreScenarios } from './store-scenarios.ts';

credentialStoreScenarios('SQLite', async () => ({}));
