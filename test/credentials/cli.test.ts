/** `citytrust credential` and `citytrust wallet` against a running server, as an operator uses them. */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fromBase64Url, toBase64Url } from '../../src/core/bytes.ts';
import { createSignature, exportRawPublicKey, generateKeyPair } from '../../src/crypto/index.ts';
import { registrationToBeSigned } from '../../src/credentials/index.ts';
import { runCli, startServer } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('the credential and wallet commands', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it('rotate a key, create a template, issue, list and filter, suspend, resume, update (re-issue and revoke the old), revoke, and report bad input with its code', async () => {
    const dir = join(tmp.dir, 'data');
    const token = JSON.parse(runCli(['init', '-d', dir, '--dev-unseal', '--json']).stdout).token as string;
    assert.equal(runCli(['tenant', 'create', 'metro', '-n', 'Metro', '-d', dir]).status, 0);
    const { child, url } = await startServer(['-d', dir]);
    after(() => child.kill());
    const env = { CITYTRUST_SERVER: url, CITYTRUST_TOKEN: token };
    const cli = (...args: string[]) => runCli([...args, '-d', dir], env);

    assert.equal(cli('credential', 'issuer-key', 'rotate', '--tenant', 'metro').status, 0);
    const tpl = cli('credential', 'template', 'create', '--tenant', 'metro', '--id', 'day-ab', '--name', 'Day A–B', '--validity', '86400', '--grants', '{"zones":["A","B"]}');
    assert.equal(tpl.status, 0, tpl.stderr);

    const ch = JSON.parse(cli('wallet', 'challenge', '--tenant', 'metro', '--json').stdout) as { challengeId: string; challenge: string };
    const key = generateKeyPair('P-256');
    const point = exportRawPublicKey(key.publicKey);
    const reg = await fetch(`${url}/v1/wallets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'metro', challengeId: ch.challengeId, publicKey: toBase64Url(point), signature: toBase64Url(createSignature('ES256', key.privateKey, registrationToBeSigned('metro', fromBase64Url(ch.challenge), point), 'raw')) }),
    });
    const walletId = ((await reg.json()) as { id: string }).id;
    assert.match(cli('wallet', 'list', '--tenant', 'metro').stdout, new RegExp(walletId));

    const issued = JSON.parse(cli('credential', 'issue', '--tenant', 'metro', '--wallet', walletId, '--template', 'day-ab', '--holder-email', 'ada@example.org', '--json').stdout) as { id: string; size: number };
    assert.ok(issued.size <= 255);
    assert.match(cli('credential', 'list', '--tenant', 'metro', '--holder-email', 'ada@example.org').stdout, new RegExp(issued.id));
    assert.match(cli('credential', 'suspend', issued.id, '--reason', 'lost phone').stdout, new RegExp(`${issued.id} is suspended`));
    assert.match(cli('credential', 'resume', issued.id).stdout, new RegExp(`${issued.id} is active`));
    const updated = JSON.parse(cli('credential', 'update', issued.id, '--grants', '{"zones":["A","B","C"]}', '--json').stdout) as { id: string; replaces: string; status: string };
    assert.equal(updated.replaces, issued.id);
    assert.notEqual(updated.id, issued.id);
    // Filters: the old one is revoked by the update, the new one active, both from the template's wallet.
    const byStatus = (status: string) => (JSON.parse(cli('credential', 'list', '--tenant', 'metro', '--status', status, '--wallet', walletId, '--json').stdout) as { id: string }[]).map((c) => c.id);
    assert.deepEqual(byStatus('revoked'), [issued.id]);
    assert.deepEqual(byStatus('active'), [updated.id]);
    assert.match(cli('credential', 'revoke', updated.id, '--reason', 'refund').stdout, /revoked/);

    const again = cli('credential', 'revoke', issued.id);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /error CREDENTIAL_STATE_INVALID/);
    const badGrants = cli('credential', 'issue', '--tenant', 'metro', '--wallet', walletId, '--grants', '{"zones":[]}', '--until', '2026-12-31T00:00:00Z');
    assert.match(badGrants.stderr, /error (CREDENTIAL_GRANTS_INVALID|INPUT_INVALID)/);
  });
});
