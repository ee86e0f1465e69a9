/**
 * A tamper drill on a second vault (the city's vault is never touched): a spare vault with a
 * few keys has its enclosure "opened" through the simulated sensor feed; the drill measures
 * how fast the keys are gone from memory and disk and checks nothing is left behind.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../../core/log.ts';
import { SoftwareVault } from '../../vault/software/vault.ts';
import { SimulatedSensors, TamperMonitor } from '../../vault/tamper.ts';
import type { Scenario, World } from '../types.ts';

const DRILL_CALLER = { actor: 'system:demo-drill', tenant: null };

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

export interface DrillResult {
  keys: number;
  memoryWipeMs: number;
  totalMs: number;
  keyFilesLeft: number;
}

export async function runVaultDrill(w: World): Promise<DrillResult> {
  const dir = join(w.ctx.config.dataDir, 'drill-vault');
  await rm(dir, { recursive: true, force: true });
  // The drill narrates its own outcome; its vault's fatal-level tamper log would only alarm the terminal.
  const vault = await SoftwareVault.open({ dataDir: dir, clock: w.ctx.clock, logger: silentLogger(), audit: w.ctx.audit });
  await vault.init(DRILL_CALLER, { shares: 3, threshold: 2 });
  const types = ['ec-p256', 'ec-p384', 'ed25519', 'aes-256-gcm', 'hmac-sha256'] as const;
  for (const type of types) await vault.createKey(DRILL_CALLER, { type, label: `drill ${type}` });
  const sensors = new SimulatedSensors();
  const monitor = new TamperMonitor(vault, sensors, silentLogger());
  const t0 = performance.now();
  sensors.emit({ sensor: 'enclosure', closed: false });
  const memoryWipeMs = performance.now() - t0; // the wipe runs synchronously inside emit()
  await monitor.response;
  const totalMs = performance.now() - t0;
  monitor.stop();
  const left = (await filesUnder(dir)).filter((f) => !f.endsWith('TAMPERED'));
  await vault.close().catch(() => undefined);
  return { keys: types.length, memoryWipeMs, totalMs, keyFilesLeft: left.length };
}

export function vaultDrillScenario(delayMs = 3000): Scenario {
  let result: DrillResult | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  return {
    name: 'vault-drill',
    async start(w: World) {
      timer = setTimeout(() => {
        running = runVaultDrill(w).then(
          (r) => {
            result = r;
            w.stats.inc('vault.drills');
            w.say(`  vault tamper drill: enclosure opened on the drill vault; ${r.keys} keys wiped from memory in ${r.memoryWipeMs.toFixed(1)} ms, from disk in ${r.totalMs.toFixed(1)} ms; key files left: ${r.keyFilesLeft}`);
          },
          (e: unknown) => w.say(`  vault tamper drill FAILED: ${e instanceof Error ? e.message : String(e)}`),
        );
      }, delayMs);
      timer.unref();
    },
    summary: () => (result ? [`vault drill: zeroized in ${result.totalMs.toFixed(1)} ms, ${result.keyFilesLeft} key files left`] : []),
    async stop() {
      if (timer) clearTimeout(timer);
      // A drill under way finishes (its vault is closed and its files wiped) before the city stops.
      await running;
    },
  };
}
