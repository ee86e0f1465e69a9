import { keyVaultContract } from './contract.ts';
import { CITY, TRANSIT, UTILITY, MemoryAudit } from './helpers.ts';
import { SoftwareVault } from '../../src/vault/index.ts';
import { FixedClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/log.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';


keyVaultContract(
  'software',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citytrust-vault-contract-'));
    const vault = await SoftwareVault.open({ dataDir: dir, clock: new FixedClock(), logger: silentLogger(), audit: new MemoryAudit(), usageFlushMs: 0 });
    await vault.init(CITY, { shares: 3, threshold: 2 });
    return {
      vault,
      city: CITY,
      tenantA: TRANSIT,
      tenantB: UTILITY,
      async close() {
        await vault.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { wrap: true },
);
