/**
 * The attacks of the TUF threat model (specification §1.5.2) that matter for city devices,
 * each mounted against a real repository through a malicious mirror or a compromised
 * server, and each refused by the device with its own code. Nothing is installed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { join } from 'node:path';
import { canonicalBytes, metadataFile, parseMetadataFile, rootSigned, timestampSigned, type RoleKeys } from '../../src/updates/metadata.ts';
import { openEnv, standardRepo, device, image, rejectsWith, TRANSIT, READER, type Env } from './helpers.ts';
import { DeviceUpdater } from '../../src/updates/client.ts';
import { FixedClock } from '../../src/core/clock.ts';

const REPO = 'transit-fw';
const DAY = 86_400_000;

async function released(env: Env, version = '1.0.0', content = image(4096)): Promise<void> {
  await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version, content });
  await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version });
}

async function nothingInstalled(dir: string, updater: { installed(): Promise<Record<string, unknown>> }): Promise<void> {
  assert.deepEqual(await updater.installed(), {});
  assert.equal(existsSync(join(dir, 'installed', 'firmware')), false);
}

describe('a device under attack', () => {
  it('refuses arbitrary software: a file the mirror serves that no signed metadata lists', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    const d = await device(t, env, REPO);
    d.fetcher.rewrite.set('.evil-9.0.bin', () => image(4096, 9));
    await rejectsWith(d.updater.installTarget('firmware', 'images/reader/evil-9.0.bin'), 'UPDATE_TARGET_UNKNOWN');
    assert.ok(!d.fetcher.requests.some((u) => u.includes('evil')), 'the unsigned file is never even downloaded');
    await nothingInstalled(d.dir, d.updater);
  });

  it('refuses metadata signed by a key the root does not name', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    const d = await device(t, env, REPO);
    const attacker = generateKeyPairSync('ed25519');
    d.fetcher.rewrite.set('/timestamp.json', (b) => {
      const { signed } = parseMetadataFile(b, 'timestamp');
      const forged = { ...signed, version: signed.version + 1 };
      const sig = Buffer.from(cryptoSign(null, canonicalBytes(forged), attacker.privateKey)).toString('hex');
      return metadataFile(forged, [{ keyid: 'a'.repeat(64), sig }]);
    });
    await rejectsWith(d.updater.update(), 'UPDATE_THRESHOLD_NOT_MET');
    await nothingInstalled(d.dir, d.updater);
  });

  it('refuses a rollback to metadata older than it already trusts', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    const old = await env.updates.metadata(REPO, 'timestamp.json');
    await released(env, '1.1.0');
    const d = await device(t, env, REPO);
    assert.equal((await d.updater.update()).action, 'install');
    d.fetcher.rewrite.set('/timestamp.json', () => old);
    await rejectsWith(d.updater.update(), 'UPDATE_METADATA_ROLLBACK');
    assert.equal((await d.updater.installed()).firmware?.version, '1.1.0');
  });

  it('refuses to go back to a lower version even when the release is properly signed', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env, '1.0.0');
    await released(env, '2.0.0');
    const d = await device(t, env, REPO);
    await d.updater.update();
    assert.equal((await d.updater.installed()).firmware?.version, '2.0.0');
    // A compromised server with the targets key re-points the release at the old image.
    await env.store.db.updateTable('update_releases').set({ version: '1.0.0', target_path: 'images/reader/firmware-1.0.0.bin' }).where('repo_id', '=', REPO).execute();
    await env.updates.rollout(TRANSIT, REPO, { deviceClass: 'reader', percent: 100 });
    await rejectsWith(d.updater.update(), 'UPDATE_VERSION_ROLLBACK');
    await rejectsWith(d.updater.installTarget('firmware', 'images/reader/firmware-1.0.0.bin'), 'UPDATE_VERSION_ROLLBACK');
    assert.equal((await d.updater.installed()).firmware?.version, '2.0.0');
  });

  it('refuses a freeze: expired metadata replayed by the mirror', async (t) => {
    const env = await openEnv(t);
    env.clock.set(Date.now() - 3 * DAY); // metadata signed three days ago: the timestamp lived one day
    await standardRepo(env);
    await released(env);
    const frozen = await env.updates.metadata(REPO, 'timestamp.json');
    env.clock.set(Date.now());
    await released(env, '1.0.1');
    const d = await device(t, env, REPO);
    d.fetcher.rewrite.set('/timestamp.json', () => frozen);
    await rejectsWith(d.updater.update(), 'UPDATE_METADATA_EXPIRED');
    await nothingInstalled(d.dir, d.updater);
  });

  it('refuses a freeze by its own clock: metadata the system clock still accepts but the device clock says expired', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    const d = await device(t, env, REPO);
    // tuf-js reads the system clock; this device keeps its own time (injected), two days on.
    const ahead = new DeviceUpdater({ server: 'http://repo.test', repo: REPO, dir: d.dir, device: READER, fetcher: d.fetcher, clock: new FixedClock(Date.now() + 2 * DAY) });
    await assert.rejects(ahead.update(), (e: Error & { code?: string }) => e.code === 'UPDATE_METADATA_EXPIRED' && /device clock/.test(e.message));
    await nothingInstalled(d.dir, d.updater);
    // The same device with a clock inside the lifetime installs.
    const inTime = new DeviceUpdater({ server: 'http://repo.test', repo: REPO, dir: d.dir, device: READER, fetcher: d.fetcher, clock: new FixedClock(Date.now() + DAY / 2) });
    assert.equal((await inTime.update()).action, 'install');
  });

  it('refuses malformed metadata and malformed signatures with specific codes', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    const d = await device(t, env, REPO);
    const cases: [string, (b: Uint8Array) => Uint8Array, string][] = [
      ['not JSON', () => Buffer.from('{"signed":'), 'UPDATE_METADATA_MALFORMED'],
      ['signatures not a list', (b) => Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(b).toString()), signatures: 'none' })), 'UPDATE_METADATA_MALFORMED'],
      ['another role under the name', (b) => Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(b).toString()), signed: { ...JSON.parse(Buffer.from(b).toString()).signed, _type: 'snapshot' } })), 'UPDATE_METADATA_MALFORMED'],
      ['a signature that is not hex', (b) => {
        const doc = JSON.parse(Buffer.from(b).toString()) as { signatures: { keyid: string; sig: string }[] };
        return Buffer.from(JSON.stringify({ ...doc, signatures: doc.signatures.map((x) => ({ ...x, sig: 'zz' })) }));
      }, 'UPDATE_THRESHOLD_NOT_MET'],
    ];
    for (const [what, fn, code] of cases) {
      d.fetcher.rewrite.set('/timestamp.json', fn);
      await assert.rejects(d.updater.update(), (e: Error & { code?: string }) => e.code === code, what);
    }
    await nothingInstalled(d.dir, d.updater);
    // Enrolment refuses a malformed root, and a root whose keys are outside the allow-list.
    await rejectsWith(DeviceUpdater.enrol(join(d.dir, 'other'), Buffer.from('[]')), 'UPDATE_METADATA_MALFORMED');
    const root = JSON.parse(Buffer.from(await env.updates.metadata(REPO, '1.root.json')).toString()) as { signed: { keys: Record<string, unknown> } };
    const [kid] = Object.keys(root.signed.keys);
    root.signed.keys[kid!] = { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: 'x' } };
    await rejectsWith(DeviceUpdater.enrol(join(d.dir, 'other'), Buffer.from(JSON.stringify(root))), 'UPDATE_KEY_TYPE_NOT_ALLOWED');
  });

  it('refuses mix-and-match: a snapshot other than the one the timestamp names', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    const oldSnapshot = await env.updates.metadata(REPO, 'snapshot.json');
    await released(env, '1.1.0');
    const d = await device(t, env, REPO);
    d.fetcher.rewrite.set('.snapshot.json', () => oldSnapshot);
    await rejectsWith(d.updater.update(), 'UPDATE_METADATA_MISMATCH');
    await nothingInstalled(d.dir, d.updater);
  });

  it('refuses mix-and-match: targets metadata of another version than the snapshot names', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    const oldTargets = await env.updates.metadata(REPO, 'targets.json');
    await released(env, '1.1.0');
    const d = await device(t, env, REPO);
    d.fetcher.rewrite.set('.targets.json', () => oldTargets);
    await rejectsWith(d.updater.update(), 'UPDATE_METADATA_MISMATCH');
    await nothingInstalled(d.dir, d.updater);
  });

  it('refuses an image that a compromised manufacturer key signed for another device class', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    // The repository itself refuses: the gate maker's role may not sign reader images.
    const before = await env.updates.metadata(REPO, 'timestamp.json');
    await rejectsWith(env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '3.0.0', content: image(4096, 3), role: 'mfr-gateco' }), 'UPDATE_DELEGATION_PATH_FORBIDDEN');
    assert.deepEqual(await env.updates.metadata(REPO, 'timestamp.json'), before, 'nothing was published');
    // A compromised server holding the gate maker's key signs one anyway, and a release names it.
    await env.store.db
      .insertInto('update_targets')
      .values({ repo_id: REPO, path: 'images/reader/firmware-3.0.0.bin', role: 'mfr-gateco', length: 4096, sha256: createHash('sha256').update(image(4096, 3)).digest('hex'), custom: JSON.stringify({ deviceClass: 'reader', kind: 'image', name: 'firmware', version: '3.0.0' }), content: image(4096, 3), created_at: Date.now(), created_by: 'attacker' })
      .execute();
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'gate', version: '1.0.0', content: image(2048, 5) }); // re-signs mfr-gateco
    await env.store.db.updateTable('update_releases').set({ version: '3.0.0', target_path: 'images/reader/firmware-3.0.0.bin' }).where('repo_id', '=', REPO).execute();
    await env.updates.rollout(TRANSIT, REPO, { deviceClass: 'reader', percent: 100 });
    const gateMeta = parseMetadataFile(await env.updates.metadata(REPO, 'mfr-gateco.json'), 'targets');
    assert.ok('images/reader/firmware-3.0.0.bin' in (gateMeta.signed.targets as object), 'the gate maker really signed the reader image');
    const d = await device(t, env, REPO);
    await rejectsWith(d.updater.update(), 'UPDATE_TARGET_NOT_DELEGATED');
    await nothingInstalled(d.dir, d.updater);
  });

  it('refuses a tampered image: same length, other bytes', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    const d = await device(t, env, REPO);
    d.fetcher.rewrite.set('.firmware-1.0.0.bin', (b) => {
      const x = new Uint8Array(b);
      x[100] = x[100]! ^ 0x01;
      return x;
    });
    await rejectsWith(d.updater.update(), 'UPDATE_TARGET_HASH_MISMATCH');
    await nothingInstalled(d.dir, d.updater);
  });

  it('refuses endless data: an image longer than its signed length', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    const d = await device(t, env, REPO);
    d.fetcher.stretchTargets = 1024 * 1024;
    await rejectsWith(d.updater.update(), 'UPDATE_TARGET_TOO_LARGE');
    await nothingInstalled(d.dir, d.updater);
  });

  it('refuses endless data on metadata: a timestamp beyond its size bound', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    const d = await device(t, env, REPO);
    d.fetcher.rewrite.set('/timestamp.json', () => Buffer.alloc(100_000, 0x20));
    await rejectsWith(d.updater.update(), 'UPDATE_TARGET_TOO_LARGE');
  });

  it('refuses a new root that brings a key type outside the allow-list, even signed by the trusted root', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    const d = await device(t, env, REPO);
    // The root key is in the vault; a compromised operator signs root v2 adding an RSA key.
    const v1 = parseMetadataFile(await env.updates.metadata(REPO, '1.root.json'), 'root');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaKey = { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString() } };
    const roles = v1.signed.roles as Record<'root' | 'targets' | 'snapshot' | 'timestamp', RoleKeys>;
    const keys = { ...(v1.signed.keys as Record<string, never>), ['b'.repeat(64)]: rsaKey as never };
    const v2 = rootSigned({ version: 2, expires: Date.now() + 30 * DAY, keys, roles: { ...roles, timestamp: { keyids: ['b'.repeat(64)], threshold: 1 } } });
    const rootKeyRow = await env.store.db.selectFrom('update_keys').selectAll().where('repo_id', '=', REPO).where('keyid', '=', roles.root.keyids[0]!).executeTakeFirstOrThrow();
    const sig = await env.vault.sign({ actor: 'attacker', tenant: 'transit' }, rootKeyRow.vault_key_id!, canonicalBytes(v2));
    d.fetcher.rewrite.set('/2.root.json', () => metadataFile(v2, [{ keyid: rootKeyRow.keyid, sig: Buffer.from(sig.signature).toString('hex') }]));
    await rejectsWith(d.updater.update(), 'UPDATE_KEY_TYPE_NOT_ALLOWED');
    await nothingInstalled(d.dir, d.updater);
  });

  it('refuses a timestamp signed later with a revoked key', async (t) => {
    const env = await openEnv(t);
    await standardRepo(env);
    await released(env);
    const repo = await env.updates.getRepo(TRANSIT, REPO);
    const tsKeyid = repo.roles.find((r) => r.name === 'timestamp')!.keyids[0]!;
    const tsRow = await env.store.db.selectFrom('update_keys').selectAll().where('repo_id', '=', REPO).where('keyid', '=', tsKeyid).executeTakeFirstOrThrow();
    await env.updates.revokeKey(TRANSIT, REPO, tsKeyid);
    const d = await device(t, env, REPO);
    assert.equal((await d.updater.update()).action, 'install', 'the device follows the rotation to the new timestamp key');
    // Whoever stole the revoked key signs a fresh, higher timestamp.
    d.fetcher.rewrite.set('/timestamp.json', async (b) => {
      const { signed } = parseMetadataFile(b, 'timestamp');
      const forged = timestampSigned({ version: signed.version + 100, expires: Date.now() + DAY, snapshot: (signed.meta as Record<string, never>)['snapshot.json'] });
      const sig = await env.vault.sign({ actor: 'thief', tenant: 'transit' }, tsRow.vault_key_id!, canonicalBytes(forged));
      return metadataFile(forged, [{ keyid: tsKeyid, sig: Buffer.from(sig.signature).toString('hex') }]);
    });
    await rejectsWith(d.updater.check(), 'UPDATE_THRESHOLD_NOT_MET');
  });
});
