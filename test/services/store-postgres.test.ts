import { openStore } from '../../src/store/index.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { storeContract } from '../store/contract.ts';

storeContract('PostgreSQL', async () => {
  const db = await createTestDatabase();
  return { open: () => openStore({ dataDir: '/nonexistent', databaseUrl: db.url }), cleanup: db.drop };
});
