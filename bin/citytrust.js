#!/usr/bin/env node
// citytrust command. Runs the TypeScript sources directly (Node 24 type stripping) or, in a
// published package, the compiled dist/.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`citytrust needs Node.js 24 or newer (this is ${process.version}). Run it through npm (npx citytrust …), which uses the pinned Node 24.`);
  process.exit(1);
}
const { existsSync } = await import('node:fs');
const here = new URL('.', import.meta.url);
const compiled = new URL('../dist/cli/main.js', here);
await import(existsSync(compiled) && !existsSync(new URL('../src/cli/main.ts', here)) ? compiled.href : new URL('../src/cli/main.ts', here).href);
