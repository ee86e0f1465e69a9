/** `citytrust meter` against a running server, and a simulated meter enrolling over EST and talking MQTT. */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runCli, startServer } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('the meter commands', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it('set up, register, enrol a simulated meter over EST, read, disconnect it over MQTT across a kill -9 of the server, and report bad input', async () => {
    const dir = join(tmp.dir, 'data');
    const token = JSON.parse(runCli(['init', '-d', dir, '--dev-unseal', '--json']).stdout).token as string;
    assert.equal(runCli(['tenant', 'create', 'utility', '-n', 'Utility', '-d', dir]).status, 0);
    assert.equal(runCli(['ca', 'init', '-d', dir]).status, 0);
    const mqttPort = await freePort();
    const serverEnv = { CITYTRUST_MQTT_PORT: String(mqttPort), CITYTRUST_PKI_EST_PLAIN_HTTP: 'true' };
    let { child, url } = await startServer(['-d', dir], serverEnv);
    after(() => child.kill());
    const env = { CITYTRUST_SERVER: url, CITYTRUST_TOKEN: token };
    const cli = (...args: string[]) => runCli([...args, '-d', dir], env);
    const json = (...args: string[]) => {
      const r = cli(...args, '--json');
      return JSON.parse(r.stdout) as Record<string, unknown> & { error?: { code: string } };
    };

    assert.equal(cli('meter', 'setup', '-t', 'utility').status, 0);
    const reg = cli('meter', 'register', 'm-1', '-t', 'utility', '--district', 'north', '--name', 'Ada', '--address', '1 Main St', '--protected');
    assert.equal(reg.status, 0, reg.stderr);
    const boot = json('device', 'bootstrap', 'm-1', '-t', 'utility') as { token: string };
    const sim = (...extra: string[]) => json('meter', 'simulate', '-t', 'utility', '--id', 'm-1', '--server', env.CITYTRUST_SERVER, '--mqtt', `mqtt://127.0.0.1:${mqttPort}`, '--state', join(tmp.dir, 'm-1'), ...extra);
    const first = sim('--bootstrap-token', boot.token, '--readings', '3', '--interval', '50');
    assert.deepEqual([first.counter, first.relayConnected], [4, true], JSON.stringify(first));
    const readings = json('meter', 'readings', 'm-1', '-t', 'utility') as unknown as { counter: number; flags: string[] }[];
    assert.deepEqual(readings.map((r) => r.counter), [2, 3, 4]);

    // A protected customer: requested by one operator, approved by another (here the city-admin token and a second token).
    const req = json('meter', 'disconnect', '-t', 'utility', '--meters', 'm-1', '--reason', 'safety inspection');
    assert.deepEqual([req.state, req.approvalsRequired], ['awaiting-approval', 1]);
    const second = JSON.parse(runCli(['token', 'create', '--tenant', 'utility', '--roles', 'operator', '--json', '-d', dir], env).stdout).token as string;
    const approved = JSON.parse(runCli(['meter', 'approve', String(req.id), '-t', 'utility', '--json', '-d', dir], { ...env, CITYTRUST_TOKEN: second }).stdout) as { state: string };
    assert.equal(approved.state, 'dispatched');
    // The meter was offline, and the server dies (kill -9) with the command in its embedded
    // broker's memory only: the restarted server sends the stored frame when the meter is back.
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    ({ child, url } = await startServer(['-d', dir], serverEnv));
    after(() => child.kill());
    env.CITYTRUST_SERVER = url;
    const back = sim('--readings', '0', '--listen', '1500');
    assert.deepEqual([back.relayConnected, back.commands], [false, ['executed']]);

    const bad = cli('meter', 'register', 'm-2', '-t', 'utility', '--district', 'north', '--class', 'spaceship', '--name', 'x', '--address', 'y');
    assert.deepEqual([bad.status, /error INPUT_INVALID/.test(bad.stderr)], [1, true]);
    const acl = cli('meter', 'mosquitto-acl', '-t', 'utility').stdout;
    assert.match(acl, /user CN=m-1,OU=meter,O=utility\ntopic write city\/utility\/meters\/m-1\/up/);
    assert.match(acl, /user CN=head-end,OU=tls-client,O=utility\ntopic read city\/utility\/meters\/\+\/up\ntopic write city\/utility\/meters\/\+\/down/);
  });
});
