/**
 * The offline half of the root ceremony through the real `citytrust` command: a custodian
 * makes a key, reviews a draft and signs it; the signature the command prints is accepted by
 * the repository and publishes the root. Every updates command documents --help.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { runCli } from '../helpers/cli.ts';
import { updatesCommand } from '../../src/cli/updates.ts';
import { openEnv, tmp, TRANSIT } from './helpers.ts';

describe('citytrust updates', () => {
  it('runs the offline ceremony: keygen, sign-root, and the signature publishes the root', async (t) => {
    const dir = tmp(t);
    const keyFile = join(dir, 'alice.pem');
    const g = runCli(['updates', 'keygen', '--out', keyFile]);
    assert.equal(g.status, 0, g.stderr);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const pub = JSON.parse(g.stdout) as { keyid: string; publicKey: unknown };
    assert.ok(!g.stdout.includes('PRIVATE'), 'the private key is never printed');
    const env = await openEnv(t);
    await env.updates.createRepo(TRANSIT, { id: 'offline-fw', tenant: 'transit', deviceClasses: ['meter'], root: { offlineKeys: [pub.publicKey] } });
    const draftFile = join(dir, 'draft.json');
    writeFileSync(draftFile, JSON.stringify(await env.updates.rootDraft(TRANSIT, 'offline-fw')));
    const s = runCli(['updates', 'sign-root', draftFile, '--key', keyFile, '--out', join(dir, 'alice.sig.json')]);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /root version 1/);
    const sig = JSON.parse(readFileSync(join(dir, 'alice.sig.json'), 'utf8')) as { keyid: string };
    assert.equal(sig.keyid, pub.keyid);
    assert.equal((await env.updates.addRootSignatures(TRANSIT, 'offline-fw', { signatures: [sig] })).published, true);
    const again = runCli(['updates', 'keygen', '--out', keyFile]);
    assert.notEqual(again.status, 0, 'keygen never overwrites a key file');
  });

  it('refuses to sign a draft whose bytes differ from what it shows', async (t) => {
    const dir = tmp(t);
    const keyFile = join(dir, 'k.pem');
    const pub = JSON.parse(runCli(['updates', 'keygen', '--out', keyFile]).stdout) as { publicKey: unknown };
    const env = await openEnv(t);
    await env.updates.createRepo(TRANSIT, { id: 'offline-fw', tenant: 'transit', deviceClasses: ['meter'], root: { offlineKeys: [pub.publicKey] } });
    const d = (await env.updates.rootDraft(TRANSIT, 'offline-fw')) as unknown as { signed: Record<string, unknown> };
    writeFileSync(join(dir, 'd.json'), JSON.stringify({ ...d, signed: { ...d.signed, expires: '2099-01-01T00:00:00Z' } }));
    const s = runCli(['updates', 'sign-root', join(dir, 'd.json'), '--key', keyFile, '--json']);
    assert.equal(s.status, 1);
    assert.equal((JSON.parse(s.stdout) as { error: { code: string } }).error.code, 'UPDATE_METADATA_MALFORMED');
  });

  it('signs a manufacturer role offline: keygen and sign-role at the manufacturer, the signed file publishes the image', async (t) => {
    const dir = tmp(t);
    const keyFile = join(dir, 'readerco.pem');
    const pub = JSON.parse(runCli(['updates', 'keygen', '--out', keyFile]).stdout) as { keyid: string; publicKey: unknown };
    const env = await openEnv(t);
    await env.updates.createRepo(TRANSIT, { id: 'transit-fw', tenant: 'transit', deviceClasses: ['reader'] });
    await env.updates.addDelegation(TRANSIT, 'transit-fw', { name: 'mfr-readerco', deviceClasses: ['reader'], offlineKeys: [pub.publicKey] });
    await env.updates.publish(TRANSIT, 'transit-fw', { deviceClass: 'reader', version: '1.0.0', content: new Uint8Array(100).fill(1) });
    writeFileSync(join(dir, 'draft.json'), JSON.stringify(await env.updates.delegationDraft(TRANSIT, 'transit-fw', 'mfr-readerco')));
    const s = runCli(['updates', 'sign-role', join(dir, 'draft.json'), '--key', keyFile, '--out', join(dir, 'signed.json')]);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /NEW images\/reader\/firmware-1\.0\.0\.bin/);
    const signed = JSON.parse(readFileSync(join(dir, 'signed.json'), 'utf8')) as { signatures: { keyid: string }[] };
    assert.equal(signed.signatures[0]!.keyid, pub.keyid);
    assert.equal((await env.updates.submitDelegatedMetadata(TRANSIT, 'transit-fw', 'mfr-readerco', signed)).version, 1);
  });

  it('documents every command with --help and --json', () => {
    // In process: spawning the CLI once per command would cost seconds each.
    const walk = (c: Command): Command[] => [c, ...c.commands.flatMap(walk)];
    const leaves = walk(updatesCommand()).filter((c) => c.commands.length === 0);
    assert.ok(leaves.length >= 13);
    for (const c of leaves) {
      assert.ok(c.description().length > 10, c.name());
      assert.match(c.helpInformation(), /--json/, c.name());
    }
  });
});
