/** Prints the configuration table for the README from the one declaration in src/core/config.ts. */
import { SETTINGS } from '../src/core/config.ts';

console.log('| key (citytrust.config.json) | environment | default | meaning |');
console.log('|---|---|---|---|');
for (const [key, s] of Object.entries(SETTINGS) as [string, { env: string; default?: unknown; doc: string; values?: readonly string[] }][]) {
  const def = s.default === undefined ? '—' : `\`${String(s.default)}\``;
  const values = s.values ? ` One of: ${s.values.join(', ')}.` : '';
  console.log(`| \`${key}\` | \`${s.env}\` | ${def} | ${s.doc}${values} |`);
}
