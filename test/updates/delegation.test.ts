/**
 * Manufacturers signing offline with their own keys: the server never holds the key; it
 * prepares the next version of the manufacturer's role, the manufacturer signs it on its own
 * machine, and the server publishes it only after checking the delegated keys, the threshold,
 * the role's paths (its device classes) and the uploaded hashes. A compromised manufacturer key
 * cannot get an image of another class published, and every refusal changes nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sign as cryptoSign, createPrivateKey } from 'node:crypto';
import { canonicalBytes, type Signed } from '../../src/updates/metadata.ts';
import { generateOfflineKey, parseDelegationDraft, signDelegationDraft, mergeSignedFiles } from '../../src/updates/ceremony.ts';
import { openEnv, device, image, rejectsWith, throwsWith, TRANSIT, READER, type Env } from './helpers.ts';

const REPO = 'transit-fw';

async function setUp(t: { after: (fn: () => void | Promise<void>) => void }): Promise<{ env: Env; maker: ReturnType<typeof generateOfflineKey> }> {
  const env = await openEnv(t);
  await env.updates.createRepo(TRANSIT, { id: REPO, tenant: 'transit', deviceClasses: ['reader', 'gate'] });
  const maker = generateOfflineKey('ed25519'); // on the reader maker's own machine
  const repo = await env.updates.addDelegation(TRANSIT, REPO, { name: 'mfr-readerco', deviceClasses: ['reader'], offlineKeys: [maker.publicKey] });
  assert.deepEqual(repo.keys.filter((k) => k.keyid === maker.keyid).map((k) => k.custody), ['offline']);
  await env.updates.addDelegation(TRANSIT, REPO, { name: 'mfr-gateco', deviceClasses: ['gate'] }); // the vault-held option stays
  return { env, maker };
}

/** What the manufacturer does offline: review the draft and sign it. */
async function manufacturerSigns(env: Env, pem: string): Promise<{ signed: Signed; signatures: { keyid: string; sig: string }[] }> {
  const draft = await env.updates.delegationDraft(TRANSIT, REPO, 'mfr-readerco');
  return signDelegationDraft(parseDelegationDraft(JSON.stringify(draft)), pem);
}

function resign(signed: Signed, pem: string, keyid: string): { signed: Signed; signatures: { keyid: string; sig: string }[] } {
  return { signed, signatures: [{ keyid, sig: Buffer.from(cryptoSign(null, canonicalBytes(signed), createPrivateKey(pem))).toString('hex') }] };
}

describe('a manufacturer signing offline', () => {
  it('publishes an image only after the manufacturer signed it with its own key, and a reader installs it', async (t) => {
    const { env, maker } = await setUp(t);
    const up = await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '2.0.0', content: image(5000) });
    assert.equal(up.pending, true);
    assert.equal(up.role, 'mfr-readerco');
    // Uploaded but unsigned: not releasable, not served.
    await rejectsWith(env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '2.0.0' }), 'UPDATE_RELEASE_NOT_FOUND');
    await rejectsWith(env.updates.target(REPO, `images/reader/${up.sha256}.firmware-2.0.0.bin`), 'NOT_FOUND');

    const draft = await env.updates.delegationDraft(TRANSIT, REPO, 'mfr-readerco');
    assert.deepEqual(draft.pending, ['images/reader/firmware-2.0.0.bin']);
    assert.deepEqual(draft.paths, ['images/reader/*']);
    const signed = await manufacturerSigns(env, maker.privateKeyPem);
    const r = await env.updates.submitDelegatedMetadata(TRANSIT, REPO, 'mfr-readerco', mergeSignedFiles([signed]));
    assert.deepEqual(r, { role: 'mfr-readerco', version: 1, targets: ['images/reader/firmware-2.0.0.bin'] });
    assert.equal((await env.updates.listTargets(TRANSIT, REPO)).find((x) => x.path === 'images/reader/firmware-2.0.0.bin')?.pending, undefined);
    assert.ok(env.audit.events.some((e) => e.action === 'updates.delegation.publish'));

    await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '2.0.0' });
    const d = await device(t, env, REPO, READER);
    assert.equal((await d.updater.update()).action, 'install');
    assert.equal((await d.updater.installed()).firmware?.version, '2.0.0');

    // Next image: the next version of the role, signed again offline.
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '2.1.0', content: image(5000, 2) });
    await env.updates.submitDelegatedMetadata(TRANSIT, REPO, 'mfr-readerco', await manufacturerSigns(env, maker.privateKeyPem));
    await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '2.1.0' });
    assert.equal((await d.updater.update()).action, 'install');
    assert.equal((await d.updater.installed()).firmware?.version, '2.1.0');
  });

  it('refuses metadata a compromised manufacturer key signs for another class, and nothing is published', async (t) => {
    const { env, maker } = await setUp(t);
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'gate', version: '1.0.0', content: image(3000, 5) });
    const gate = (await env.updates.listTargets(TRANSIT, REPO)).find((x) => x.path === 'images/gate/firmware-1.0.0.bin')!;
    const before = await env.updates.metadata(REPO, 'timestamp.json');
    // The reader maker's key signs a gate image (path of the gate class).
    const forged = { _type: 'targets', spec_version: '1.0.31', version: 1, expires: new Date(env.clock.now() + 30 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), targets: { [gate.path]: { length: gate.length, hashes: { sha256: gate.sha256 }, custom: gate.custom } } } as Signed;
    await rejectsWith(env.updates.submitDelegatedMetadata(TRANSIT, REPO, 'mfr-readerco', resign(forged, maker.privateKeyPem, maker.keyid)), 'UPDATE_DELEGATION_PATH_FORBIDDEN');
    // Or a reader path whose custom fields claim another class.
    const disguised = { ...forged, targets: { 'images/reader/firmware-9.0.0.bin': { length: gate.length, hashes: { sha256: gate.sha256 }, custom: { ...gate.custom, version: '9.0.0' } } } } as Signed;
    await rejectsWith(env.updates.submitDelegatedMetadata(TRANSIT, REPO, 'mfr-readerco', resign(disguised, maker.privateKeyPem, maker.keyid)), 'UPDATE_DELEGATION_PATH_FORBIDDEN');
    // The manufacturer's own tool refuses to sign a draft outside its paths.
    const draft = await env.updates.delegationDraft(TRANSIT, REPO, 'mfr-readerco');
    throwsWith(() => parseDelegationDraft(JSON.stringify({ ...draft, signed: forged, canonical: Buffer.from(canonicalBytes(forged)).toString('base64') })), 'UPDATE_DELEGATION_PATH_FORBIDDEN');
    assert.deepEqual(await env.updates.metadata(REPO, 'timestamp.json'), before);
    await rejectsWith(env.updates.metadata(REPO, '1.mfr-readerco.json'), 'NOT_FOUND');
  });

  it('refuses bad signatures, unknown keys, thresholds not met, non-matching hashes and malformed metadata, publishing nothing', async (t) => {
    const { env, maker } = await setUp(t);
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '2.0.0', content: image(5000) });
    const good = await manufacturerSigns(env, maker.privateKeyPem);
    const before = await env.updates.metadata(REPO, 'timestamp.json');
    const submit = (body: unknown) => env.updates.submitDelegatedMetadata(TRANSIT, REPO, 'mfr-readerco', body);
    const stranger = generateOfflineKey('ed25519');
    await rejectsWith(submit(resign(good.signed, stranger.privateKeyPem, stranger.keyid)), 'UPDATE_KEY_NOT_FOUND');
    const flipped = good.signatures[0]!.sig.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    await rejectsWith(submit({ signed: good.signed, signatures: [{ keyid: maker.keyid, sig: flipped }] }), 'UPDATE_SIGNATURE_INVALID');
    await rejectsWith(submit({ signed: good.signed, signatures: [] }), 'UPDATE_THRESHOLD_NOT_MET');
    const path = 'images/reader/firmware-2.0.0.bin';
    const targets = good.signed.targets as Record<string, { length: number; hashes: { sha256: string }; custom: Record<string, unknown> }>;
    const otherHash = { ...good.signed, targets: { [path]: { ...targets[path]!, hashes: { sha256: 'ab'.repeat(32) } } } } as Signed;
    await rejectsWith(submit(resign(otherHash, maker.privateKeyPem, maker.keyid)), 'UPDATE_HASH_MISMATCH');
    const notUploaded = { ...good.signed, targets: { ...targets, 'images/reader/firmware-3.0.0.bin': targets[path]! } } as Signed;
    await rejectsWith(submit(resign(notUploaded, maker.privateKeyPem, maker.keyid)), 'UPDATE_RELEASE_NOT_FOUND');
    await rejectsWith(submit(resign({ ...good.signed, _type: 'snapshot' } as Signed, maker.privateKeyPem, maker.keyid)), 'UPDATE_METADATA_MALFORMED');
    await rejectsWith(submit(resign({ ...good.signed, delegations: { keys: {}, roles: [] } } as Signed, maker.privateKeyPem, maker.keyid)), 'UPDATE_METADATA_MALFORMED');
    await rejectsWith(submit(resign({ ...good.signed, expires: '2099-01-01T00:00:00Z' } as Signed, maker.privateKeyPem, maker.keyid)), 'UPDATE_METADATA_MALFORMED');
    await rejectsWith(submit({ signed: 'x', signatures: 'y' }), 'UPDATE_METADATA_MALFORMED');
    await rejectsWith(submit(resign({ ...good.signed, version: 7 } as Signed, maker.privateKeyPem, maker.keyid)), 'CONFLICT');
    await rejectsWith(env.updates.addDelegation(TRANSIT, REPO, { name: 'mfr-rsa', deviceClasses: ['gate'], offlineKeys: [{ keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: 'x' } }] }), 'UPDATE_KEY_TYPE_NOT_ALLOWED');
    // The vault-held role takes no offline submission.
    await rejectsWith(env.updates.submitDelegatedMetadata(TRANSIT, REPO, 'mfr-gateco', good), 'CONFLICT');
    assert.deepEqual(await env.updates.metadata(REPO, 'timestamp.json'), before);
    assert.equal((await env.updates.listTargets(TRANSIT, REPO)).find((x) => x.path === path)?.pending, true);
    // The genuine file still goes through afterwards.
    assert.equal((await submit(good)).version, 1);
  });

  it('needs k of n manufacturer keys, and replaces a compromised key before revoking it', async (t) => {
    const env = await openEnv(t);
    await env.updates.createRepo(TRANSIT, { id: REPO, tenant: 'transit', deviceClasses: ['reader'] });
    const a = generateOfflineKey('ed25519');
    const b = generateOfflineKey('ecdsa-sha2-nistp256');
    await env.updates.addDelegation(TRANSIT, REPO, { name: 'mfr-readerco', deviceClasses: ['reader'], offlineKeys: [a.publicKey, b.publicKey], threshold: 2 });
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '1.0.0', content: image(1000) });
    const draft = parseDelegationDraft(JSON.stringify(await env.updates.delegationDraft(TRANSIT, REPO, 'mfr-readerco')));
    const sa = signDelegationDraft(draft, a.privateKeyPem);
    await rejectsWith(env.updates.submitDelegatedMetadata(TRANSIT, REPO, 'mfr-readerco', sa), 'UPDATE_THRESHOLD_NOT_MET');
    await env.updates.submitDelegatedMetadata(TRANSIT, REPO, 'mfr-readerco', mergeSignedFiles([sa, signDelegationDraft(draft, b.privateKeyPem)]));

    // Key a is compromised: revoking it first would leave the role below its threshold.
    await rejectsWith(env.updates.revokeKey(TRANSIT, REPO, a.keyid), 'UPDATE_THRESHOLD_INVALID');
    const c = generateOfflineKey('ed25519');
    await env.updates.addDelegationKeys(TRANSIT, REPO, 'mfr-readerco', { offlineKeys: [c.publicKey] });
    await env.updates.revokeKey(TRANSIT, REPO, a.keyid);
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '1.1.0', content: image(1000, 3) });
    const next = parseDelegationDraft(JSON.stringify(await env.updates.delegationDraft(TRANSIT, REPO, 'mfr-readerco')));
    assert.ok(!next.keyids.includes(a.keyid));
    // The revoked key counts for nothing; b and c sign.
    await rejectsWith(env.updates.submitDelegatedMetadata(TRANSIT, REPO, 'mfr-readerco', mergeSignedFiles([{ signed: next.signed, signatures: [{ keyid: a.keyid, sig: '00' }] }, signDelegationDraft(next, b.privateKeyPem)])), 'UPDATE_KEY_NOT_FOUND');
    const r = await env.updates.submitDelegatedMetadata(TRANSIT, REPO, 'mfr-readerco', mergeSignedFiles([signDelegationDraft(next, b.privateKeyPem), signDelegationDraft(next, c.privateKeyPem)]));
    assert.equal(r.version, 2);
    await env.updates.release(TRANSIT, REPO, { deviceClass: 'reader', version: '1.1.0' });
    const d = await device(t, env, REPO, READER);
    assert.equal((await d.updater.update()).action, 'install');
  });

  it('never re-signs a manufacturer role itself: the refresher leaves it to the manufacturer', async (t) => {
    const { env, maker } = await setUp(t);
    await env.updates.publish(TRANSIT, REPO, { deviceClass: 'reader', version: '2.0.0', content: image(5000) });
    await env.updates.submitDelegatedMetadata(TRANSIT, REPO, 'mfr-readerco', await manufacturerSigns(env, maker.privateKeyPem));
    env.clock.set(env.clock.now() + 50 * 86_400_000); // past half of the 90-day targets lifetime
    const done = await env.updates.refresh();
    assert.deepEqual(done.map((r) => r.roles.includes('mfr-readerco')), [false]);
    assert.ok(done[0]!.roles.includes('mfr-gateco'), 'the vault-held role is re-signed');
    assert.equal((await env.updates.getRepo(TRANSIT, REPO)).versions['mfr-readerco'], 1);
  });
});
