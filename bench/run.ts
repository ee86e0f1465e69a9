/**
 * `npm run bench -- <name> [--json] [bench options]` runs bench/<name>.ts.
 * Each benchmark measures its baseline in the same process and prints both figures and
 * their ratio; with --json its last line is {"bench", "figures", "ratios"}.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const name = process.argv[2];
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'lib.ts'].includes(f))
  .map((f) => f.slice(0, -3));
if (!name || name.startsWith('-') || !existsSync(join(here, `${name}.ts`))) {
  console.error(`usage: npm run bench -- <name> [--json]\navailable: ${available.join(', ')}`);
  process.exit(2);
}
process.argv.splice(2, 1);
await import(pathToFileURL(join(here, `${name}.ts`)).href);
