/**
 * `citytrust updates` against a running server, as an operator and a manufacturer use it: a
 * repository, a manufacturer delegation with the manufacturer's own key, `publish` (the image
 * waits for the manufacturer), `role-draft`, `sign-role` on the manufacturer's side,
 * `role-submit`, and `release`.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startServer } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('the updates commands against a server', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it('publish an image a manufacturer signs offline, then release it', async () => {
    const dir = join(tmp.dir, 'data');
    const token = JSON.parse(runCli(['init', '-d', dir, '--dev-unseal', '--json']).stdout).token as string;
    assert.equal(runCli(['tenant', 'create', 'metro', '-n', 'Metro', '-d', dir]).status, 0);
    const { child, url } = await startServer(['-d', dir]);
    after(() => child.kill());
    const cli = (...args: string[]) => runCli([...args, '-d', dir], { CITYTRUST_SERVER: url, CITYTRUST_TOKEN: token });
    const f = (name: string) => join(tmp.dir, name);

    // At the manufacturer: its key never leaves its machine.
    const k = runCli(['updates', 'keygen', '--out', f('gateco.pem')]);
    assert.equal(k.status, 0, k.stderr);
    writeFileSync(f('gateco.pub.json'), k.stdout);

    let r = cli('updates', 'repo', 'create', 'metro-fw', '-t', 'metro', '--device-class', 'gate', '--json');
    assert.equal(r.status, 0, r.stderr);
    r = cli('updates', 'delegate', 'metro-fw', 'mfr-gateco', '--device-class', 'gate', '--offline-key', f('gateco.pub.json'), '--json');
    assert.equal(r.status, 0, r.stderr);
    writeFileSync(f('gate-2.1.0.bin'), Buffer.alloc(4096, 9));
    r = cli('updates', 'publish', f('gate-2.1.0.bin'), '-r', 'metro-fw', '--device-class', 'gate', '--version', '2.1.0');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /mfr-gateco signs it offline/);
    r = cli('updates', 'release', 'metro-fw', '--device-class', 'gate', '--version', '2.1.0');
    assert.match(r.stderr, /error UPDATE_RELEASE_NOT_FOUND/);

    r = cli('updates', 'role-draft', 'metro-fw', 'mfr-gateco', '--out', f('draft.json'));
    assert.equal(r.status, 0, r.stderr);
    r = runCli(['updates', 'sign-role', f('draft.json'), '--key', f('gateco.pem'), '--out', f('signed.json')]);
    assert.equal(r.status, 0, r.stderr);
    r = cli('updates', 'role-submit', 'metro-fw', 'mfr-gateco', f('signed.json'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /mfr-gateco v1 published: images\/gate\/firmware-2\.1\.0\.bin/);
    r = cli('updates', 'release', 'metro-fw', '--device-class', 'gate', '--version', '2.1.0', '--percent', '10');
    assert.equal(r.status, 0, r.stderr);
    const served = await fetch(`${url}/updates/metro-fw/metadata/1.mfr-gateco.json`);
    assert.equal(served.status, 200);
  });
});
