/** `citytrust reader`: a software reader enrolled, refreshed and reporting to a running server, end to end. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { systemClock } from '../../src/core/clock.ts';
import { openReaderHome } from '../../src/reader/index.ts';
import { CLI, runCli, startServer } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

function ok(args: string[]): string {
  const r = runCli(args);
  assert.equal(r.status, 0, `citytrust ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

describe('citytrust reader', () => {
  it('initialises, enrols through the PKI (a bootstrap token works once), refreshes its trust cache and shows up in the server listing', async (t) => {
    const tmp = tempDir();
    t.after(tmp.remove);
    const data = join(tmp.dir, 'data');
    const home = join(tmp.dir, 'reader');
    const admin = (JSON.parse(ok(['init', '-d', data, '--dev-unseal', '--json'])) as { token: string }).token;
    const { child, url } = await startServer(['-d', data]);
    t.after(() => child.kill());
    // Set-up through the API (each CLI process costs seconds): tenant, CA hierarchy, the device, its token.
    const api = async (path: string, body: unknown) => {
      const r = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.ok(r.status < 300, `${path}: ${r.status} ${await r.clone().text()}`);
      return (await r.json()) as Record<string, unknown>;
    };
    await api('/v1/tenants', { id: 'acme', name: 'Acme' });
    await api('/v1/pki/init', {});
    await api('/v1/devices', { tenant: 'acme', id: 'door-12', type: 'reader', site: 'hq' });
    const token = (await api('/v1/devices/acme/door-12/bootstrap', {})).token as string;
    const root = (await (await fetch(`${url}/v1/credentials/root`)).json()) as { spki: string };
    const cfg = join(tmp.dir, 'door-12.json');
    writeFileSync(cfg, JSON.stringify({ readerId: 'door-12', tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'], serverUrl: url }));

    // The reader pins the one city root: the PKI root CA certificate (P-384 by default), as a PEM file.
    const cas = (await (await fetch(`${url}/v1/pki/cas`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { purpose: string; state: string; keyType: string; certificatePem: string }[];
    const pkiRoot = cas.find((c) => c.purpose === 'root' && c.state === 'active')!;
    const rootPem = join(tmp.dir, 'city-root.pem');
    writeFileSync(rootPem, pkiRoot.certificatePem);
    ok(['reader', 'init', '--dir', home, '--config-file', cfg, '--root', rootPem]);
    const pinned = JSON.parse(readFileSync(join(home, 'root.json'), 'utf8')) as { alg: string; spki: string };
    assert.equal(pinned.alg, 'ES384');
    assert.notEqual(pinned.spki, root.spki, 'the PKI root, not the credential root');
    // A reader that pinned the credential root SPKI (the old set-up) keeps working; garbage is refused.
    const oldHome = join(tmp.dir, 'old-reader');
    ok(['reader', 'init', '--dir', oldHome, '--config-file', cfg, '--root', root.spki]);
    assert.equal((JSON.parse(readFileSync(join(oldHome, 'root.json'), 'utf8')) as { alg: string }).alg, 'ES256');
    const bad = runCli(['reader', 'init', '--dir', join(tmp.dir, 'bad'), '--config-file', cfg, '--root', 'AAAA', '--json']);
    assert.equal(bad.status, 1);
    assert.equal((JSON.parse(bad.stdout) as { error: { code: string } }).error.code, 'READER_CONFIG_INVALID');
    assert.match(ok(['reader', 'enroll', '--dir', home, '--token', token]), /enrolled: certificate/);
    const reused = runCli(['reader', 'enroll', '--dir', home, '--token', token, '--json']);
    assert.equal(reused.status, 1);
    assert.equal((JSON.parse(reused.stdout) as { error: { code: string; details?: { reason?: string } } }).error.details?.reason, 'DEVICE_BOOTSTRAP_USED');
    assert.match(ok(['reader', 'refresh', '--dir', home]), /trust list updated/);
    // The trust list verifies for the old pin too (reader trust refresh needs enrolment; verify the list directly).
    const trustList = new Uint8Array(await (await fetch(`${url}/v1/credentials/trust`)).arrayBuffer());
    assert.equal(openReaderHome(oldHome, systemClock).trust.update({ trustList }, systemClock.now(), { persist: false }).trustList, 'updated');
    const status = JSON.parse(ok(['reader', 'status', '--dir', home, '--json'])) as { enrolled: boolean; queuedEvents: number; trustListIat: number | null };
    assert.equal(status.enrolled, true);
    assert.equal(status.queuedEvents, 0);
    assert.notEqual(status.trustListIat, null);
    const list = JSON.parse(ok(['reader', 'list', '--tenant', 'acme', '--json', '-d', data])) as { id: string; site: string }[];
    assert.deepEqual(list.map((r) => [r.id, r.site]), [['door-12', 'hq']]);

    // Decisions taken offline wait in the queue; `reader online` uploads them and stops cleanly on SIGTERM.
    const queued = openReaderHome(home, systemClock).queue;
    for (let i = 0; i < 3; i++) queued.append({ at: systemClock.now(), site: 'hq', allow: true, reason: 'GRANTED', by: 'reader', resource: 'door:hq/floor3/d12' });
    const online = spawn(process.execPath, [CLI, 'reader', 'online', '--dir', home, '--upload-every', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => online.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    online.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    online.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const seen = async (): Promise<number> => {
      const res = await fetch(`${url}/v1/readers/door-12/events?tenant=acme`, { headers: { authorization: `Bearer ${admin}` } });
      assert.equal(res.status, 200);
      return ((await res.json()) as unknown[]).length;
    };
    while ((await seen()) < 3) {
      assert.equal(online.exitCode, null, `reader online exited early: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    online.kill('SIGTERM');
    const [code, signal] = (await once(online, 'exit')) as [number | null, string | null];
    assert.equal(code, 0, `exit ${code} ${signal}: ${stderr}`);
    assert.match(stdout, /stopped; 0 events still queued/);
  });
});
