import { join } from 'node:path';
import { openStore } from '../../src/store/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { storeContract } from './contract.ts';

storeContract('SQLite (node:sqlite)', async () => {
  const tmp = tempDir();
  return { open: () => openStore({ dataDir: join(tmp.dir, 'data') }), cleanup: async () => tmp.remove() };
});
