/** The city's service providers. */
import type { Scenario } from '../types.ts';

export const DEMO_TENANTS = [
  { id: 'metro', name: 'Metro Transit' },
  { id: 'campus', name: 'City University Campus' },
  { id: 'carshare', name: 'Car Sharing Co-op' },
  { id: 'utility', name: 'City Power & Water' },
  { id: 'buildings', name: 'Civic Buildings' },
];

export const tenantsScenario: Scenario = {
  name: 'tenants',
  async setup(w) {
    const existing = new Set((await w.ctx.tenants.list()).map((t) => t.id));
    for (const t of DEMO_TENANTS) if (!existing.has(t.id)) await w.ctx.tenants.create(t, 'system:demo');
    w.say(`  tenants:        ${DEMO_TENANTS.map((t) => t.id).join(', ')}`);
  },
};
