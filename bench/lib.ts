/** Shared helpers for benchmarks: timing loops, argument parsing and the report format. */
import { performance } from 'node:perf_hooks';

export const jsonMode = process.argv.includes('--json');

export function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
  return n;
}

/** Runs fn repeatedly for about `ms` milliseconds (after a short warm-up); returns operations per second. */
export async function opsPerSecond(fn: () => unknown | Promise<unknown>, ms = 1500, batch = 1): Promise<number> {
  const warmEnd = performance.now() + Math.min(300, ms / 4);
  while (performance.now() < warmEnd) await fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) await fn();
    n += batch;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

/** Same as opsPerSecond for synchronous functions, without await overhead in the loop. */
export function opsPerSecondSync(fn: () => unknown, ms = 1500): number {
  const warmEnd = performance.now() + Math.min(300, ms / 4);
  while (performance.now() < warmEnd) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 64; i++) fn();
    n += 64;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

export interface Report {
  bench: string;
  figures: Record<string, number>;
  ratios: Record<string, number>;
}

const round = (x: number) => (Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 1000) / 1000);

/** Prints a human table, then (with --json) the machine line last. */
export function report(r: Report, notes: string[] = []): void {
  console.log(`\n== bench ${r.bench} ==`);
  for (const [k, v] of Object.entries(r.figures)) console.log(`  ${k.padEnd(40)} ${round(v)}`);
  for (const [k, v] of Object.entries(r.ratios)) console.log(`  ratio ${k.padEnd(34)} ${round(v)}`);
  for (const n of notes) console.log(`  note: ${n}`);
  if (jsonMode) {
    const fig = Object.fromEntries(Object.entries(r.figures).map(([k, v]) => [k, round(v)]));
    const rat = Object.fromEntries(Object.entries(r.ratios).map(([k, v]) => [k, round(v)]));
    console.log(JSON.stringify({ bench: r.bench, figures: fig, ratios: rat }));
  }
}
