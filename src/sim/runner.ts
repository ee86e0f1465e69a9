/** Runs the demo city: sets every scenario up, starts them, narrates, and reports at the end. */
import { performance } from 'node:perf_hooks';
import type { Scenario, World } from './types.ts';

export interface RunHandle {
  /** Stops every scenario and resolves with the final report lines. */
  stop(): Promise<string[]>;
}

export async function setUpCity(w: World, scenarios: Scenario[]): Promise<void> {
  for (const s of scenarios) await s.setup?.(w);
}

export async function runCity(w: World, scenarios: Scenario[], abort: AbortController, summaryEveryMs = 5000): Promise<RunHandle> {
  for (const s of scenarios) await s.start?.(w);
  const started = performance.now();
  const lines = () => scenarios.flatMap((s) => s.summary?.(w) ?? []);
  const timer = setInterval(() => {
    const secs = Math.round((performance.now() - started) / 1000);
    w.say(`[${secs}s] ${lines().join(' | ')}`);
  }, summaryEveryMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      abort.abort();
      for (const s of [...scenarios].reverse()) await s.stop?.(w);
      return lines();
    },
  };
}
