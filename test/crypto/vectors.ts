/** Loads the shared public test vectors (../shared/vectors, see its README). Test-only. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('../../../shared/vectors/', import.meta.url));

export function vectorPath(...parts: string[]): string {
  return join(ROOT, ...parts);
}

// JSON is the parse boundary; each test narrows what it reads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadJson(...parts: string[]): any {
  return JSON.parse(readFileSync(vectorPath(...parts), 'utf8'));
}

export function listJson(dir: string): string[] {
  return readdirSync(vectorPath(dir))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  result: 'valid' | 'invalid' | 'acceptable';
  [field: string]: unknown;
}

export interface WycheproofGroup {
  tests: WycheproofTest[];
  [field: string]: unknown;
}

export interface WycheproofFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: WycheproofGroup[];
}

export function loadWycheproof(name: string): WycheproofFile {
  const f = loadJson('wycheproof', name) as WycheproofFile;
  const n = f.testGroups.reduce((a, g) => a + g.tests.length, 0);
  if (n !== f.numberOfTests) throw new Error(`${name}: ${n} tests, header says ${f.numberOfTests}`);
  return f;
}

/** Counts per outcome, so each file's test can assert that every vector was decided. */
export class Tally {
  readonly counts = new Map<string, number>();
  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  total(): number {
    let t = 0;
    for (const v of this.counts.values()) t += v;
    return t;
  }
}

export function hex(s: unknown): Uint8Array {
  if (typeof s !== 'string') throw new Error('expected a hex string in the vector');
  return new Uint8Array(Buffer.from(s, 'hex'));
}
