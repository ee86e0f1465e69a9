/**
 * The dashboard under load: while 500 API requests a second hit the server (one in ten a
 * durable, checkpointed audit append, the rest authenticated reads), the dashboard in Chromium
 * keeps refreshing about once a second and charts the load it sees. A stand-in until the
 * simulation's taps exist. The load is bounded (3,000 requests, loopback only) and stops by itself.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { runCli, startServer } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { ensureConsoleBuilt, launch, shot, watchErrors, type Browser } from '../console/browser.ts';

const RATE = 500;
const SECONDS = 6;

const tmp = tempDir();
let server: { child: ChildProcess; url: string };
let browser: Browser;
let admin: string;

before(async () => {
  ensureConsoleBuilt();
  const dir = join(tmp.dir, 'data');
  const init = runCli(['init', '-d', dir, '--dev-unseal', '--json']);
  assert.equal(init.status, 0, init.stderr);
  admin = (JSON.parse(init.stdout) as { token: string }).token;
  // The load and the browser share 127.0.0.1; the per-address rate limit is lifted for the test.
  server = await startServer(['-d', dir], { CITYTRUST_RATE_LIMIT: '10000000', CITYTRUST_MQTT_PORT: '0' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  tmp.remove();
});

/** Sends `RATE` annotations a second for `SECONDS` seconds, paced in 100 ms slices. */
async function load(): Promise<{ sent: number; failed: number; codes: string[]; seconds: number }> {
  let sent = 0;
  let failed = 0;
  const codes: string[] = [];
  let settled = 0;
  const inflight: Promise<void>[] = [];
  const started = performance.now();
  for (let slice = 0; slice < SECONDS * 10; slice++) {
    for (let i = 0; i < RATE / 10; i++) {
      sent++;
      const write = sent % 10 === 0;
      inflight.push(
        fetch(
          `${server.url}${write ? '/v1/audit/annotations' : sent % 2 === 0 ? '/v1/tenants' : '/v1/vault/status'}`,
          write
            ? { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ subject: `load-${sent}`, text: 'dashboard load test' }) }
            : { headers: { authorization: `Bearer ${admin}` } },
        ).then(
          async (r) => {
            settled++;
            if (r.status !== (write ? 201 : 200)) {
              failed++;
              codes.push(`${r.status} ${await r.text()}`);
            } else await r.body?.cancel();
          },
          (e: unknown) => {
            settled++;
            failed++;
            codes.push(String((e as Error).cause ?? e));
          },
        ),
      );
    }
    // Never more than 256 requests in flight: a slow server slows the load instead of queuing sockets.
    while (inflight.length - settled > 256) await new Promise((r) => setTimeout(r, 5));
    const due = started + (slice + 1) * 100;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await Promise.all(inflight);
  return { sent, failed, codes, seconds: (performance.now() - started) / 1000 };
}

describe('the dashboard under load', () => {
  it(`keeps refreshing about once a second while up to ${RATE} API requests a second arrive`, async () => {
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    const errors = watchErrors(page);
    await page.goto(`${server.url}/console/`);
    await page.fill('input[name=token]', admin);
    await page.click('button[type=submit]');
    await page.locator('[data-testid=vault-state]', { hasText: 'unsealed' }).waitFor();

    // The page records its own refreshes: the test process is busy generating load, so sampling
    // from here would undercount them.
    await page.evaluate(() => {
      const w = window as unknown as { __stamps: Set<string> };
      w.__stamps = new Set();
      const el = document.querySelector('[data-testid=updated]');
      new MutationObserver(() => w.__stamps.add(el?.getAttribute('data-at') ?? '')).observe(el!, { attributes: true });
    });
    const result = await load();
    const stamps = await page.evaluate(() => (window as unknown as { __stamps: Set<string> }).__stamps.size);

    assert.equal(result.failed, 0, `${result.failed} of ${result.sent} requests failed: ${result.codes.slice(0, 3).join('; ')}`);
    // The dashboard polls once a second (measured: 6 refreshes in 6 s without load). Under this
    // load on a 2-core machine that was also running other test suites (load average 8–10) it
    // measured 0.56–0.82 a second; the bound leaves that room while catching a stalled dashboard.
    const perSecond = stamps / result.seconds;
    assert.ok(perSecond >= 0.5, `${stamps} dashboard refreshes in ${result.seconds.toFixed(1)} s of load`);
    const peak = await page.locator('.spark', { hasText: 'API requests' }).locator('.peak').innerText();
    // The chart shows the load (the dashboard alone makes about 5 requests a second).
    assert.ok(Number(peak.replace(/[^0-9.]/g, '')) >= 50, `the request chart peaked at only ${peak}`);
    await shot(page, '20-dashboard-under-load');
    assert.deepEqual(errors, []);
  });
});
