/** `citytrust offers` against a running server, as a tenant operator uses it. */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fromBase64Url, toBase64Url } from '../../src/core/bytes.ts';
import { createSignature, exportRawPublicKey, generateKeyPair } from '../../src/crypto/index.ts';
import { registrationToBeSigned } from '../../src/credentials/index.ts';
import { consentToBeSigned } from '../../src/offers/index.ts';
import { runCli, startServer } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('the offers command', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it('puts, shows and deletes rules, relays a signed consent, evaluates, revokes, and reports bad input with its code', async () => {
    const dir = join(tmp.dir, 'data');
    const token = JSON.parse(runCli(['init', '-d', dir, '--dev-unseal', '--json']).stdout).token as string;
    assert.equal(runCli(['tenant', 'create', 'cafe', '-n', 'Cafe', '-d', dir]).status, 0);
    const { child, url } = await startServer(['-d', dir]);
    after(() => child.kill());
    const env = { CITYTRUST_SERVER: url, CITYTRUST_TOKEN: token };
    const cli = (...args: string[]) => runCli([...args, '-t', 'cafe', '-d', dir], env);
    const post = async (path: string, body: unknown) =>
      (await (await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Record<string, string>;

    const rule = { id: 'rainy', offer: { title: 'Tea -20 % when it rains', code: 'TEA20' }, when: [{ attribute: 'student', eq: true }, { context: 'weather', eq: 'rain' }] };
    const put = cli('offers', 'rule', 'put', '--rule', JSON.stringify(rule));
    assert.equal(put.status, 0, put.stderr);
    assert.deepEqual(JSON.parse(cli('offers', 'rule', 'show', 'rainy', '--json').stdout), rule);

    const ch = await post('/v1/wallets/challenges', { tenant: 'cafe' });
    const key = generateKeyPair('P-256');
    const point = exportRawPublicKey(key.publicKey);
    const wallet = (await post('/v1/wallets', { tenant: 'cafe', challengeId: ch.challengeId, publicKey: toBase64Url(point), signature: toBase64Url(createSignature('ES256', key.privateKey, registrationToBeSigned('cafe', fromBase64Url(ch.challenge!), point), 'raw')) })).id!;
    assert.equal(cli('offers', 'attributes', wallet, '--set', '{"student":true,"district":"north"}').status, 0);

    const { nonce } = (await (await fetch(`${url}/v1/wallets/${wallet}/nonce`, { method: 'POST' })).json()) as { nonce: string };
    const signature = toBase64Url(createSignature('ES256', key.privateKey, consentToBeSigned('cafe', wallet, ['student'], fromBase64Url(nonce)), 'raw'));
    const granted = cli('offers', 'consent', 'grant', wallet, '--attributes', 'student', '--nonce', nonce, '--signature', signature, '--json');
    assert.equal(granted.status, 0, granted.stderr);
    const consentId = (JSON.parse(granted.stdout) as { id: string }).id;
    assert.deepEqual(JSON.parse(cli('offers', 'eligible', wallet, '--feed', '{"weather":"rain"}', '--json').stdout), [rule.offer]);

    const replay = cli('offers', 'consent', 'grant', wallet, '--attributes', 'student', '--nonce', nonce, '--signature', signature);
    assert.equal(replay.status, 1);
    assert.match(replay.stderr, /error WALLET_SYNC_REPLAYED/);
    assert.match(cli('offers', 'consent', 'revoke', consentId).stdout, /revoked/);
    assert.match(cli('offers', 'eligible', wallet).stderr, /error OFFER_CONSENT_NOT_FOUND/);
    assert.deepEqual((JSON.parse(cli('offers', 'consent', 'list', wallet, '--json').stdout) as { id: string; revokedAt: number | null }[]).map((c) => [c.id, c.revokedAt !== null]), [[consentId, true]]);

    const badRule = cli('offers', 'rule', 'put', '--rule', JSON.stringify({ ...rule, when: [{ attribute: 'student' }] }));
    assert.equal(badRule.status, 1);
    assert.match(badRule.stderr, /error OFFER_RULE_INVALID/);
    assert.equal(cli('offers', 'rule', 'delete', 'rainy').status, 0);
    assert.match(cli('offers', 'rule', 'delete', 'rainy').stderr, /error OFFER_RULE_NOT_FOUND/);
  });
});
