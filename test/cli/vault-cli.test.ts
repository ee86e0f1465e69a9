/**
 * The production flow: `init` prints unseal shares once, the server starts sealed, custodians
 * unseal it share by share through `citytrust vault unseal`, and keys are used through the CLI.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, startServer } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('a sealed production vault operated through the CLI', () => {
  const tmp = tempDir();
  const children: { kill: (s?: NodeJS.Signals) => boolean }[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    tmp.remove();
  });

  it('is unsealed by 3 of 5 custodians and then signs', async () => {
    const dir = join(tmp.dir, 'data');
    const init = runCli(['init', '-d', dir, '--json']);
    assert.equal(init.status, 0, init.stderr);
    const { unsealShares, token } = JSON.parse(init.stdout) as { unsealShares: string[]; token: string };
    assert.equal(unsealShares.length, 5);
    assert.ok(unsealShares.every((s) => s.startsWith('cts1-')));

    const { child, url } = await startServer(['-d', dir]);
    children.push(child);
    const env = { CITYTRUST_SERVER: url, CITYTRUST_TOKEN: token };
    const status = () => JSON.parse(runCli(['vault', 'status', '--json'], env).stdout) as { state: string; unseal?: { received: number; threshold: number } };
    assert.deepEqual(status(), { backend: 'software', state: 'sealed', unseal: { threshold: 3, received: 0 } });

    const sealedSign = runCli(['vault', 'keys', 'create', '--type', 'ec-p256', '--label', 'x', '--json'], env);
    assert.equal(JSON.parse(sealedSign.stdout).error.code, 'VAULT_SEALED');

    const bad = runCli(['vault', 'unseal', '--json'], env, `${unsealShares[0]!.slice(0, -3)}xyz\n`);
    assert.equal(bad.status, 1);
    assert.match(JSON.parse(bad.stdout).error.code, /^VAULT_SHARE_(CORRUPT|MALFORMED)$/);

    const two = runCli(['vault', 'unseal', '--json'], env, `${unsealShares[0]}\n${unsealShares[3]}\n`);
    assert.equal(JSON.parse(two.stdout).received, 2);
    const dup = runCli(['vault', 'unseal', '--json'], env, `${unsealShares[3]}\n`);
    assert.equal(JSON.parse(dup.stdout).error.code, 'VAULT_SHARE_DUPLICATE');
    const third = runCli(['vault', 'unseal', '--json'], env, `${unsealShares[4]}\n`);
    assert.equal(JSON.parse(third.stdout).unsealed, true);
    assert.equal(status().state, 'unsealed');

    const key = JSON.parse(runCli(['vault', 'keys', 'create', '--type', 'ed25519', '--label', 'firmware signing', '--json'], env).stdout) as { id: string };
    const data = Buffer.from('firmware v2').toString('base64');
    const sig = JSON.parse(runCli(['vault', 'sign', key.id, '--data', data, '--json'], env).stdout) as { signature: string };
    const ok = runCli(['vault', 'verify', key.id, '--data', data, '--signature', sig.signature, '--json'], env);
    assert.equal(JSON.parse(ok.stdout).valid, true);
    const tampered = Buffer.from('firmware v3').toString('base64');
    const no = runCli(['vault', 'verify', key.id, '--data', tampered, '--signature', sig.signature], env);
    assert.equal(no.status, 3);

    const listed = JSON.parse(runCli(['vault', 'keys', 'list', '--json'], env).stdout) as { label: string }[];
    assert.ok(listed.some((k) => k.label === 'firmware signing'));

    assert.equal(JSON.parse(runCli(['vault', 'seal', '--json'], env).stdout).state, 'sealed');
    const after = runCli(['vault', 'sign', key.id, '--data', data, '--json'], env);
    assert.equal(JSON.parse(after.stdout).error.code, 'VAULT_SEALED');
  });
});
