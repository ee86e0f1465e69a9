/**
 * The repository service: offline root ceremony, root rotation followed by devices, key
 * revocation, staged rollout (percentage, sites, halt and resume), data bundles, bootloader
 * requirements, refresh before expiry, ECDSA keys through tuf-js, and bad input refused with
 * specific codes and no state change.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateOfflineKey, signRootDraft, parseRootDraft, describeRootDraft } from '../../src/updates/ceremony.ts';
import { rolloutBucket, compareVersions } from '../../src/updates/names.ts';
import { parseMetadataFile, countValidSignatures, canonicalBytes } from '../../src/updates/metadata.ts';
import type { TufPublicKey } from '../../src/updates/keys.ts';
import { openEnv, standardRepo, device, image, rejectsWith, throwsWith, TRANSIT, UTILITY, READER } from './helpers.ts';

const REPO = 'transit-fw';

describe('the offline root ceremony', () => {
  it('publishes the first root only when the offline threshold has signed, and refuses a bad signature', async (t) => {
    const env = await openEnv(t);
    const a = generateOfflineKey('ed25519');
    const b = generateOfflineKey('ecdsa-sha2-nistp256');
    const repo = await env.updates.createRepo(TRANSIT, { id: REPO, tenant: 'transit', deviceClasses: ['reader'], root: { offlineKeys: [a.publicKey, b.publicKey], threshold: 2 } });
    assert.equal(repo.state, 'pending-root');
    await rejectsWith(env.updates.metadata(REPO, '1.root.json'), 'UPDATE_REPO_NOT_READY');
    const draftText = JSON.stringify(await env.updates.rootDraft(TRANSIT, REPO));
    const draft = parseRootDraft(draftText);
    assert.match(describeRootDraft(draft), /root version 1 .*\n.*threshold 2/);
    const sigA = signRootDraft(draft, a.privateKeyPem);
    await rejectsWith(env.updates.addRootSignatures(TRANSIT, REPO, { signatures: [{ keyid: b.keyid, sig: sigA.sig }] }), 'UPDATE_SIGNATURE_INVALID');
    assert.equal((await env.updates.rootDraft(TRANSIT, REPO)).requirements[0]!.have, 0, 'the bad signature stored nothing');
    let out = await env.updates.addRootSignatures(TRANSIT, REPO, { signatures: [sigA] });
    assert.deepEqual(out.missing, [{ label: 'new root v1', have: 1, need: 2 }]);
    out = await env.updates.addRootSignatures(TRANSIT, REPO, { signatures: [signRootDraft(draft, b.privateKeyPem)] });
    assert.equal(out.published, true);
    const stranger = generateOfflineKey('ed25519');
    throwsWith(() => signRootDraft(draft, stranger.privateKeyPem), 'UPDATE_KEY_NOT_FOUND');
    const tampered = JSON.stringify({ ...JSON.parse(draftText), signed: { ...draft.signed, expires: '2099-01-01T00:00:00Z' } });
    throwsWith(() => parseRootDraft(tampered), 'UPDATE_METADATA_MALFORMED');
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0', content: image(1000) });
    await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0' });
    const d = await device(t, env, REPO);
    assert.equal((await d.updater.update()).action, 'install');
  });

  it('rotates the root: a device enrolled with v1 follows to v2 and its new keys', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    const d = await device(t, env, REPO);
    const v1 = await env.updates.getRepo(TRANSIT, REPO);
    const oldRoot = v1.roles.find((r) => r.name === 'root')!.keyids[0]!;
    const after = await env.updates.rotateRoot(TRANSIT, REPO, { addVaultKeys: 2, removeKeyids: [oldRoot], threshold: 2 });
    assert.equal(after.versions.root, 2);
    assert.equal(after.roles.find((r) => r.name === 'root')!.threshold, 2);
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0', content: image(1000) });
    await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0' });
    assert.equal((await d.updater.update()).action, 'install');
    assert.ok(d.fetcher.requests.some((u) => u.endsWith('/2.root.json')));
    const v2 = parseMetadataFile(await env.updates.metadata(REPO, '2.root.json'), 'root');
    assert.equal(v2.signatures.length, 3, 'signed by the old root key and both new ones');
  });

  it('revokes a manufacturer key: a fresh key replaces it and devices keep updating', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    const repo = await env.updates.getRepo(TRANSIT, REPO);
    const mk = repo.roles.find((r) => r.name === 'mfr-readerco')!.keyids[0]!;
    const after = await env.updates.revokeKey(TRANSIT, REPO, mk);
    assert.ok(!after.roles.find((r) => r.name === 'mfr-readerco')!.keyids.includes(mk));
    assert.equal(after.keys.find((k) => k.keyid === mk)!.state, 'revoked');
    await rejectsWith(env.updates.revokeKey(TRANSIT, REPO, mk), 'CONFLICT');
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0', content: image(1000) });
    await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0' });
    const d = await device(t, env, REPO);
    assert.equal((await d.updater.update()).action, 'install');
  });
});

describe('a staged rollout', () => {
  it('reaches the named site first, then a share of devices, and stops while halted', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '2.0.0', content: image(1000) });
    await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '2.0.0', percent: 0, sites: ['depot-north'] });
    const north = await device(t, env, REPO);
    const south = await device(t, env, REPO, { ...READER, id: 'reader-0002', site: 'depot-south' });
    assert.equal((await north.updater.update()).action, 'install');
    assert.equal((await south.updater.update()).action, 'not-in-rollout');
    await env.updates.rollout(TRANSIT, REPO, { deviceClass: 'reader', state: 'halted', percent: 100 });
    assert.equal((await south.updater.update()).action, 'halted');
    await env.updates.rollout(TRANSIT, REPO, { deviceClass: 'reader', state: 'active' });
    assert.equal((await south.updater.update()).action, 'install');
    assert.deepEqual(env.audit.actions().filter((a) => a.startsWith('updates.release')), ['updates.release.set', 'updates.release.halt', 'updates.release.resume']);
  });

  it('puts about the given share of devices in the first wave, the same devices every time', () => {
    let n = 0;
    for (let i = 0; i < 4000; i++) if (rolloutBucket('reader/firmware/2.0.0', `reader-${i}`) < 2500) n++;
    assert.ok(n > 900 && n < 1100, `${n} of 4000 at 25%`);
    assert.equal(rolloutBucket('reader/firmware/2.0.0', 'reader-7'), rolloutBucket('reader/firmware/2.0.0', 'reader-7'));
    assert.notEqual(rolloutBucket('reader/firmware/2.0.0', 'reader-7'), rolloutBucket('reader/firmware/2.1.0', 'reader-7'));
  });
});

describe('software and data for a reader', () => {
  it('installs a signed trust-list bundle through the same channel', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    const bundle = Buffer.from(JSON.stringify({ issuers: ['transit'], v: 7 }));
    const p = await env.updates.publish(TRANSIT, REPO, { kind: 'data', name: 'trust-list', deviceClass: 'reader', version: '7', content: bundle });
    assert.equal(p.role, 'targets');
    await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', name: 'trust-list', version: '7' });
    const d = await device(t, env, REPO);
    assert.deepEqual(await d.updater.check(), [{ name: 'trust-list', action: 'install', version: '7', from: null }]);
    await d.updater.update('trust-list');
    assert.equal((await d.updater.installed())['trust-list']?.version, '7');
    assert.equal((await d.updater.update('trust-list')).action, 'up-to-date');
  });

  it('refuses an image that needs a newer bootloader', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '3.0.0', content: image(1000), minBootloader: '3.1' });
    await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '3.0.0' });
    const d = await device(t, env, REPO);
    await rejectsWith(d.updater.update(), 'UPDATE_BOOTLOADER_TOO_OLD');
    assert.deepEqual(await d.updater.installed(), {});
  });

  it('signs targets with its own k of n: three vault keys, threshold two, verified by the device', async (t) => {
    const env = await openEnv(t);
    await env.updates.createRepo(TRANSIT, { id: REPO, tenant: 'transit', deviceClasses: ['reader'], targets: { vaultKeys: 3, threshold: 2 } });
    const root = parseMetadataFile(await env.updates.metadata(REPO, '1.root.json'), 'root').signed as unknown as { roles: Record<string, { keyids: string[]; threshold: number }>; keys: Record<string, TufPublicKey> };
    assert.equal(root.roles.targets!.threshold, 2);
    assert.equal(root.roles.targets!.keyids.length, 3);
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0', content: image(2000) });
    await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0' });
    const targets = parseMetadataFile(await env.updates.metadata(REPO, 'targets.json'), 'targets');
    assert.equal(countValidSignatures(canonicalBytes(targets.signed), targets.signatures, root.keys, root.roles.targets!), 3);
    const d = await device(t, env, REPO);
    assert.equal((await d.updater.update()).action, 'install');
    await rejectsWith(env.updates.createRepo(TRANSIT, { id: 'other-fw', tenant: 'transit', deviceClasses: ['reader'], targets: { vaultKeys: 2, threshold: 3 } }), 'UPDATE_THRESHOLD_INVALID');
  });

  it('verifies ECDSA P-256 repositories with tuf-js as well as Ed25519 ones', async (t) => {
    const env = await openEnv(t);
    await env.updates.createRepo(TRANSIT, { id: REPO, tenant: 'transit', deviceClasses: ['reader'], keyType: 'ecdsa-sha2-nistp256' });
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0', content: image(1000) });
    await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0' });
    const root = parseMetadataFile(await env.updates.metadata(REPO, '1.root.json'), 'root');
    assert.ok(Object.values(root.signed.keys as Record<string, { keytype: string }>).every((k) => k.keytype === 'ecdsa-sha2-nistp256'));
    const d = await device(t, env, REPO);
    assert.equal((await d.updater.update()).action, 'install');
  });
});

describe('refresh before expiry', () => {
  it('re-signs the timestamp after half its lifetime and the snapshot after half of its own', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    const v = (await env.updates.getRepo(TRANSIT, REPO)).versions;
    assert.deepEqual(await env.updates.refresh(), []);
    env.clock.advance(13 * 3600_000);
    assert.deepEqual(await env.updates.refresh(), [{ repo: REPO, roles: ['timestamp'] }]);
    assert.equal((await env.updates.getRepo(TRANSIT, REPO)).versions.timestamp, v.timestamp! + 1);
    env.clock.advance(4 * 86400_000);
    assert.deepEqual(await env.updates.refresh(), [{ repo: REPO, roles: ['snapshot', 'timestamp'] }]);
  });
});

describe('bad input', () => {
  it('refuses malformed repositories with specific codes and creates nothing', async (t) => {
    const env = await openEnv(t);
    const keysBefore = (await env.vault.listKeys({ actor: 't', tenant: 'transit' })).length;
    const base = { id: REPO, tenant: 'transit', deviceClasses: ['reader'] };
    await rejectsWith(env.updates.createRepo(TRANSIT, { ...base, id: 'Bad Id' }), 'INPUT_INVALID');
    await rejectsWith(env.updates.createRepo(TRANSIT, { ...base, keyType: 'rsa' }), 'UPDATE_KEY_TYPE_NOT_ALLOWED');
    await rejectsWith(env.updates.createRepo(TRANSIT, { ...base, root: { vaultKeys: 2, threshold: 3 } }), 'UPDATE_THRESHOLD_INVALID');
    await rejectsWith(env.updates.createRepo(TRANSIT, { ...base, root: { offlineKeys: [{ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'zz' } }] } }), 'UPDATE_KEY_INVALID');
    await rejectsWith(env.updates.createRepo(TRANSIT, { ...base, root: { offlineKeys: [{ keytype: 'ecdsa-sha2-nistp384', scheme: 'ecdsa-sha2-nistp384', keyval: { public: 'x' } }] } }), 'UPDATE_KEY_TYPE_NOT_ALLOWED');
    await rejectsWith(env.updates.createRepo(UTILITY, base), 'TENANT_FORBIDDEN');
    await rejectsWith(env.updates.createRepo(TRANSIT, { ...base, deviceClasses: [] }), 'INPUT_INVALID');
    assert.deepEqual(await env.updates.listRepos(TRANSIT), []);
    assert.equal((await env.vault.listKeys({ actor: 't', tenant: 'transit' })).length, keysBefore);
  });

  it('refuses bad publications and releases and leaves the metadata as it was', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '2.0.0', content: image(1000) });
    await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '2.0.0' });
    const ts = await env.updates.metadata(REPO, 'timestamp.json');
    await rejectsWith(env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '2.0.0', content: image(1000, 2) }), 'UPDATE_TARGET_EXISTS');
    await rejectsWith(env.updates.publish(TRANSIT, REPO, { deviceClass: 'tram', version: '1.0.0', content: image(10) }), 'UPDATE_DEVICE_CLASS_UNKNOWN');
    await rejectsWith(env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: 'v1', content: image(10) }), 'UPDATE_VERSION_INVALID');
    await rejectsWith(env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0', content: new Uint8Array(0) }), 'INPUT_INVALID');
    await rejectsWith(env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0', content: image(10), sha256: 'ab'.repeat(32) }), 'UPDATE_HASH_MISMATCH');
    await rejectsWith(env.updates.publish(TRANSIT, REPO, { kind: 'data', deviceClass: 'reader', version: '1.0.0', content: image(10), role: 'mfr-readerco' }), 'UPDATE_DELEGATION_PATH_FORBIDDEN');
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0', content: image(10) });
    const ts2 = await env.updates.metadata(REPO, 'timestamp.json');
    await rejectsWith(env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0' }), 'UPDATE_VERSION_NOT_NEWER');
    await rejectsWith(env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '9.0.0' }), 'UPDATE_RELEASE_NOT_FOUND');
    await rejectsWith(env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '2.0.0', percent: 101 }), 'UPDATE_ROLLOUT_INVALID');
    await rejectsWith(env.updates.rollout(TRANSIT, REPO, { deviceClass: 'gate', state: 'halted' }), 'UPDATE_RELEASE_NOT_FOUND');
    await rejectsWith(env.updates.addDelegation(TRANSIT, REPO, { name: 'mfr-other', deviceClasses: ['reader'] }), 'UPDATE_ROLE_EXISTS');
    await rejectsWith(env.updates.addDelegation(TRANSIT, REPO, { name: 'snapshot', deviceClasses: ['meter'] }), 'INPUT_INVALID');
    await rejectsWith(env.updates.getRepo(UTILITY, REPO), 'UPDATE_REPO_NOT_FOUND');
    await rejectsWith(env.updates.addRootSignatures(TRANSIT, REPO, { signatures: [{ keyid: 'a'.repeat(64), sig: '00' }] }), 'UPDATE_ROOT_DRAFT_NOT_FOUND');
    assert.notDeepEqual(ts, ts2, 'the one good publication moved the timestamp');
    assert.deepEqual(await env.updates.metadata(REPO, 'timestamp.json'), ts2, 'none of the refusals did');
  });

  it('compares versions numerically', () => {
    assert.equal(compareVersions('1.10.0', '1.9.9'), 1);
    assert.equal(compareVersions('2', '2.0.0'), 0);
    assert.equal(compareVersions('0.9', '1'), -1);
  });
});
