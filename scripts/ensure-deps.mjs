// Runs before `npm start` and `npm test` (plain JavaScript: on a fresh machine this runs on
// the system Node, which may be older than the Node 24 the project pins). Installs the
// locked dependencies, including the pinned Node 24, when they are missing or stale, so the
// README's two commands work on a fresh clone.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || !existsSync('node_modules/node/bin/node') || statSync('package-lock.json').mtimeMs > statSync(marker).mtimeMs;
if (stale) {
  console.error('citytrust: installing the locked dependencies (npm ci) ...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// `npm start` (prestart passes --console) serves the web console at /console: build it when
// console/dist is missing or older than its sources. A file-time walk of console/ keeps this
// to milliseconds when the build is current.
if (process.argv.includes('--console')) {
  const built = 'console/dist/index.html';
  const newest = (p) => {
    if (!existsSync(p)) return 0;
    const s = statSync(p);
    if (!s.isDirectory()) return s.mtimeMs;
    return Math.max(s.mtimeMs, ...readdirSync(p).map((n) => newest(join(p, n))));
  };
  const sources = Math.max(...['console/src', 'console/public', 'console/index.html', 'console/vite.config.ts'].map(newest));
  if (!existsSync(built) || statSync(built).mtimeMs < sources) {
    console.error('citytrust: building the web console (npm run build:console) ...');
    const r = spawnSync('npm', ['run', 'build:console'], { stdio: 'inherit', shell: process.platform === 'win32' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
