/**
 * A firmware rollout: the metro publishes a signed image for its on-train validators and door
 * readers (device class `reader`) in its TUF repository and releases it to half of them first
 * (a staged rollout: each device falls in a bucket by its id). Every reader then runs the
 * device updater over HTTP (/updates/<repo>/metadata, /targets): those inside the rollout
 * verify the metadata chain and the image and install it; the others are told to wait. Each
 * reports what it runs with a report signed by its certified key (POST /updates/<repo>/reports),
 * which the console shows as the device's firmware version.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes, sign } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CityTrustError } from '../../core/errors.ts';
import { DeviceUpdater } from '../../updates/index.ts';
import type { Scenario, World } from '../types.ts';
import { SIM_ACTOR } from './city-pki.ts';
import type { TapsScenario } from './taps.ts';

const TENANT = 'metro';
const REPO = 'metro-firmware';
const ACTOR = { actor: SIM_ACTOR, tenant: null };

export function firmwareScenario(taps: TapsScenario, delayMs = 4000): Scenario {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let line = '';
  const dirs: string[] = [];
  return {
    name: 'firmware',
    async setup(w: World) {
      const repos = w.ctx.updates.repos;
      try {
        await repos.createRepo(ACTOR, { id: REPO, tenant: TENANT, deviceClasses: ['reader', 'gate'] });
      } catch (e) {
        if (!(e instanceof CityTrustError && /EXISTS$/.test(e.code))) throw e;
      }
    },
    async start(w: World) {
      timer = setTimeout(() => {
        running = (async () => {
          const repos = w.ctx.updates.repos;
          // A version of its own per run, so a reused data directory rolls out something new.
          const version = `1.${Math.floor(w.ctx.clock.now() / 1000) % 1_000_000}.0`;
          await repos.publish(ACTOR, REPO, { deviceClass: 'reader', version, content: randomBytes(64 * 1024) });
          await repos.release(ACTOR, REPO, { deviceClass: 'reader', version, percent: 50 });
          w.stats.inc('firmware.published');
          const root = await repos.metadata(REPO, '1.root.json');
          const fleet = taps.devices().filter((d) => d.tenant === TENANT && d.deviceClass === 'reader');
          const updaters = fleet.map((d) => {
            const dir = mkdtempSync(join(tmpdir(), 'citytrust-sim-updater-'));
            dirs.push(dir);
            return { d, dir, updater: new DeviceUpdater({ server: w.baseUrl, repo: REPO, dir, device: { tenant: d.tenant, id: d.id, deviceClass: d.deviceClass, site: d.site }, clock: w.ctx.clock }) };
          });
          for (const u of updaters) await DeviceUpdater.enrol(u.dir, root);
          /** Every reader checks for updates, installs what is released to it, and reports. */
          const round = async (): Promise<number> => {
            let installed = 0;
            for (const { d, updater } of updaters) {
              if (w.signal.aborted) break;
              if ((await updater.update()).action === 'install') installed++;
              // The report, signed by the reader's certified key (ES256, r ‖ s).
              const report = await updater.report({ alg: 'ES256', sign: async (data) => new Uint8Array(sign('sha256', data, { key: d.privateKey, dsaEncoding: 'ieee-p1363' })) });
              const res = await fetch(`${w.baseUrl}/updates/${REPO}/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(report) });
              w.stats.inc(res.ok ? 'firmware.reports' : 'firmware.report_refused');
              await res.body?.cancel();
            }
            return installed;
          };
          const first = await round();
          w.say(`  firmware:       ${version} released to 50% of the ${fleet.length} metro readers: ${first} verified and installed it, ${fleet.length - first} wait for the next stage`);
          // No complaint from the first stage: the rollout is widened to every reader.
          await repos.rollout(ACTOR, REPO, { deviceClass: 'reader', percent: 100 });
          const second = await round();
          w.stats.inc('firmware.stage1', first);
          w.stats.inc('firmware.installed', first + second);
          line = `firmware: ${version} rolled out in two stages (50%, then 100%) to ${fleet.length} metro readers: ${first} + ${second} installed; ${w.stats.get('firmware.reports')} signed install reports accepted`;
          w.say(`  firmware:       stage 2 (100%): ${second} more installed; ${first + second} of ${fleet.length} metro readers now run ${version}`);
        })().catch((e: unknown) => {
          w.stats.inc('firmware.errors');
          w.say(`  firmware rollout FAILED: ${e instanceof Error ? e.message : String(e)}`);
        });
      }, delayMs);
      timer.unref();
    },
    summary: () => (line ? [line] : []),
    async stop() {
      if (timer) clearTimeout(timer);
      await running;
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}
