/**
 * The embedded broker with independent MQTT clients: Mosquitto's `mosquitto_pub` publishes a
 * meter's frames over mutual TLS with the meter's PKI certificate, and `mosquitto_sub` receives
 * a signed command on the meter's down topic, which the meter then verifies.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '../../src/core/bytes.ts';
import { toPem } from '../../src/pki/index.ts';
import { Metering } from '../../src/metering/service.ts';
import { meterTopics } from '../../src/metering/meter.ts';
import { openHeadEnd, provisionMeter } from '../metering/helpers.ts';

/** Runs a Mosquitto client without blocking the event loop (the broker under test lives in this process). */
function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('the embedded broker with Mosquitto clients', () => {
  it('stores frames mosquitto_pub sends with a meter certificate, and mosquitto_sub receives a command the meter accepts', async (t) => {
    const h = await openHeadEnd(t, {}, { start: Date.now() });
    const metering = new Metering({ store: h.store, vault: h.vault, audit: h.audit, clock: h.clock, pki: h.pki, devices: h.devices });
    t.after(() => metering.close());
    const info = await metering.startTransport({ embedded: true, host: '127.0.0.1', port: 0, tls: true, url: undefined, clientId: 'x' });
    const port = new URL(info.url!).port;
    const meter = await provisionMeter(h, 'm-1');
    const f = (n: string) => join(h.dir, n);
    writeFileSync(f('ca.pem'), (await h.pki.trustBundle()).map((d) => toPem('CERTIFICATE', d)).join(''));
    const id = meter.tlsIdentity();
    writeFileSync(f('meter.pem'), id.cert);
    writeFileSync(f('meter.key'), id.key, { mode: 0o600 });
    const tls = ['-h', '127.0.0.1', '-p', port, '--cafile', f('ca.pem'), '--cert', f('meter.pem'), '--key', f('meter.key')];
    const topics = meterTopics('utility', 'm-1');

    writeFileSync(f('ke.bin'), meter.establishKey());
    meter.setLoad(600);
    meter.advance(60_000);
    writeFileSync(f('reading.bin'), meter.reading());
    for (const file of ['ke.bin', 'reading.bin']) {
      const r = await run('mosquitto_pub', [...tls, '-i', `pub-${file}`, '-q', '1', '-t', topics.up, '-f', f(file)]);
      assert.equal(r.status, 0, r.stderr);
    }
    assert.deepEqual((await metering.readings(null, 'utility', 'm-1')).map((r) => r.counter), [2]);

    // mosquitto_sub makes a persistent session (-c) and subscribes, then leaves; the command is
    // queued for it, and the second run receives it and prints the payload as hex.
    const sub = (...extra: string[]) => run('mosquitto_sub', [...tls, '-i', 'sub-m-1', '-c', '-q', '1', '-t', topics.down, '-F', '%x', ...extra]);
    await sub('-W', '2');
    await metering.commands.request({ tenant: 'utility', action: 'tariff', meters: ['m-1'], args: { tariffId: 12, activateAt: h.clock.now() }, reason: 'interop' }, 'token:a');
    const got = await sub('-C', '1', '-W', '20');
    assert.equal(got.status, 0, got.stderr);
    const out = got.stdout;
    const { result } = meter.handleCommand(fromHex(out.trim()));
    assert.equal(result, 'executed');
    assert.equal(meter.tariffId, 12);

    // The broker's ACL: this certificate may not publish on another meter's topic.
    await provisionMeter(h, 'm-2');
    await run('mosquitto_pub', [...tls, '-i', 'rogue', '-q', '1', '-t', meterTopics('utility', 'm-2').up, '-f', f('reading.bin')]);
    assert.deepEqual(await metering.readings(null, 'utility', 'm-2'), []);
    assert.deepEqual(await metering.alerts(null, 'utility', { meterId: 'm-2' }), []);
  });
});
