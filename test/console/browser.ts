/**
 * Headless Chromium for the console's browser tests (test/services/console-*.test.ts):
 * Debian's chromium driven by playwright-core, a fresh profile per run, screenshots in
 * test-artifacts/console/. Also builds the console when console/dist is missing or stale.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
export const CHROMIUM = process.env.CITYTRUST_CHROMIUM ?? '/usr/bin/chromium';

function newest(p: string): number {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  return s.isDirectory() ? Math.max(s.mtimeMs, ...readdirSync(p).map((n) => newest(join(p, n)))) : s.mtimeMs;
}

/** Builds console/dist with Vite unless it is newer than every console source. */
export function ensureConsoleBuilt(): void {
  const index = join(ROOT, 'console', 'dist', 'index.html');
  const sources = Math.max(...['src', 'public', 'index.html', 'vite.config.ts'].map((p) => newest(join(ROOT, 'console', p))));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'console', '--logLevel', 'warn'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vite build console failed: ${r.stderr}`);
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does)`);
  const profile = mkdtempSync(join(tmpdir(), 'citytrust-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as test-artifacts/console/<name>.png. */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Collects uncaught page errors and CSP violations; a test asserts the list stays empty. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|403|404|409|400)/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  return errors;
}
