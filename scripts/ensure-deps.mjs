// Runs before `npm start` and `npm test` (plain JavaScript: on a fresh machine this runs on
// the system Node, which may be older than the Node 24 the project pins). Installs the
// locked dependencies, including the pinned Node 24, when they are missing or stale, so the
// README's two commands work on a fresh clone.
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || !existsSync('node_modules/node/bin/node') || statSync('package-lock.json').mtimeMs > statSync(marker).mtimeMs;
if (stale) {
  console.error('citytrust: installing the locked dependencies (npm ci) ...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
