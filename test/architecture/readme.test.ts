/** The README stays true to the code: its configuration table and its commands. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../../src/core/config.ts';
import { buildProgram } from '../../src/cli/program.ts';

const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const PKG = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { scripts: Record<string, string> };

describe('the README', () => {
  it('documents every setting with its environment variable and default', () => {
    for (const [key, s] of Object.entries(SETTINGS) as [string, { env: string; default?: unknown }][]) {
      const row = README.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
      assert.ok(row, `README lists ${key}`);
      assert.ok(row.includes(`\`${s.env}\``), `${key} row names ${s.env}`);
      if (s.default !== undefined) assert.ok(row.includes(`\`${String(s.default)}\``), `${key} row shows default ${String(s.default)}`);
    }
  });

  it('mentions every top-level command', () => {
    for (const c of buildProgram().commands) assert.ok(new RegExp(`citytrust ${c.name()}\\b`).test(README), `README shows \`citytrust ${c.name()} …\``);
  });

  it('quick-starts with npm start and npm test, which exist', () => {
    assert.match(README, /npm start\b/);
    assert.match(README, /npm test\b/);
    assert.match(PKG.scripts.start!, /demo/);
    assert.match(PKG.scripts.test!, /lint.*typecheck.*test:unit/);
  });
});
