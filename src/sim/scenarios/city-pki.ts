/**
 * The city PKI and the device fleet: the CA hierarchy (`citytrust ca init` when the data
 * directory has none yet) and the gates, doors, validators, shared cars and meters each
 * tenant operates, registered in the device registry. Re-running on an existing data
 * directory registers only what is missing.
 */
import { CityTrustError } from '../../core/errors.ts';
import type { DeviceType } from '../../devices/index.ts';
import type { Scenario, SimOptions, World } from '../types.ts';

export const SIM_ACTOR = 'system:demo';

export interface FleetDevice {
  tenant: string;
  id: string;
  type: DeviceType;
  site: string;
  label: string;
}

/** The fleet for a city of the given size; deterministic, so a second run finds the same ids. */
export function demoFleet(o: Pick<SimOptions, 'residents' | 'meters'>): FleetDevice[] {
  const scale = Math.max(1, Math.ceil(o.residents / 100));
  const out: FleetDevice[] = [];
  const add = (tenant: string, prefix: string, type: DeviceType, n: number, site: (i: number) => string, label: string) => {
    for (let i = 1; i <= n; i++) out.push({ tenant, id: `${prefix}-${String(i).padStart(3, '0')}`, type, site: site(i), label: `${label} ${i}` });
  };
  add('metro', 'gate', 'gate', 2 * scale, (i) => `station-${i % 2 === 0 ? 'b' : 'a'}`, 'fare gate');
  add('metro', 'validator', 'reader', scale, (i) => `train-${i}`, 'on-train validator');
  add('campus', 'door', 'reader', 2 * scale, () => 'campus', 'door reader');
  // Readers where people get refused for a reason of their own (src/sim/scenarios/taps.ts).
  out.push({ tenant: 'metro', id: 'gate-stadium', type: 'gate', site: 'stadium', label: 'stadium gate (anti-passback)' });
  out.push({ tenant: 'metro', id: 'validator-c', type: 'reader', site: 'train-c', label: 'validator on the zone C line' });
  out.push({ tenant: 'metro', id: 'validator-tunnel', type: 'reader', site: 'tunnel', label: 'validator in the tunnel (no status push)' });
  out.push({ tenant: 'campus', id: 'door-lab', type: 'reader', site: 'campus', label: 'staff-only lab door' });
  add('buildings', 'door', 'reader', 3, () => 'city-hall', 'door reader');
  add('carshare', 'car', 'vehicle', scale, () => 'fleet', 'shared car');
  add('utility', 'meter', 'meter', o.meters, (i) => `district-${1 + (i % 4)}`, 'smart meter');
  return out;
}

export const cityPkiScenario: Scenario = {
  name: 'city-pki',
  async setup(w: World) {
    const cas = await w.ctx.pki.listCas();
    const created = cas.length === 0 ? await w.ctx.pki.init(SIM_ACTOR) : [];
    const all = created.length ? created : cas;
    w.say(`  city PKI:       ${created.length ? 'created' : 'reused'} ${all.length} CAs (${all.map((c) => c.purpose).join(', ')})`);
    const fleet = demoFleet(w.options);
    const known = new Set<string>();
    for (const t of new Set(fleet.map((d) => d.tenant))) for (const d of await w.ctx.devices.list(null, { tenant: t, limit: 10_000 })) known.add(`${d.tenant}/${d.id}`);
    let added = 0;
    for (const d of fleet) {
      if (known.has(`${d.tenant}/${d.id}`)) continue;
      try {
        await w.ctx.devices.register({ tenant: d.tenant, id: d.id, type: d.type, site: d.site, label: d.label }, SIM_ACTOR);
        added++;
      } catch (e) {
        // Beyond the listing's page size, the registry itself tells us the device is there.
        if (!(e instanceof CityTrustError && e.code === 'DEVICE_EXISTS')) throw e;
      }
    }
    w.stats.inc('devices.registered', fleet.length);
    const byType = new Map<string, number>();
    for (const d of fleet) byType.set(d.type, (byType.get(d.type) ?? 0) + 1);
    w.say(`  devices:        ${fleet.length} (${[...byType].map(([t, n]) => `${n} ${t}`).join(', ')}); ${added} newly registered`);
  },
  summary: (w) => [`devices: ${w.stats.get('devices.registered')} registered`],
};
