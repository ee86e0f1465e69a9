export type { World, Scenario, SimOptions } from './types.ts';
export { Stats } from './stats.ts';
export { runCity, setUpCity, type RunHandle } from './runner.ts';
export { tenantsScenario, DEMO_TENANTS } from './scenarios/tenants.ts';
export { witnessScenario } from './scenarios/witness.ts';
export { vaultDrillScenario, runVaultDrill, type DrillResult } from './scenarios/vault-drill.ts';
export { cityPkiScenario, demoFleet, SIM_ACTOR, type FleetDevice } from './scenarios/city-pki.ts';
export { residentsScenario, type ResidentsScenario, type Card, type CardKind } from './scenarios/residents.ts';
export { tapsScenario } from './scenarios/taps.ts';
