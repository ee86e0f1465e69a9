import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, verify as nodeVerify } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeShare, encodeShare, CHECKPOINT_ACTOR } from '../../src/vault/index.ts';
import { CITY, TRANSIT, openFresh, reopen, rejectsWith, tempDir, MemoryAudit } from './helpers.ts';
import { SoftwareVault } from '../../src/vault/index.ts';
import { FixedClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/log.ts';

const enc = (s: string) => new TextEncoder().encode(s);

/** A share with the right set id and a valid checksum but wrong y bytes: passes parsing, spoils the key. */
function forge(text: string): string {
  const s = decodeShare(text);
  const y = new Uint8Array(s.y);
  y[0]! ^= 0x55;
  return encodeShare({ ...s, y });
}

describe('software vault: sealing', () => {
  it('starts uninitialised and refuses operations with VAULT_NOT_INITIALISED', async (t) => {
    const dir = tempDir(t);
    const v = await SoftwareVault.open({ dataDir: dir, clock: new FixedClock(), logger: silentLogger(), audit: new MemoryAudit(), usageFlushMs: 0 });
    assert.equal(v.status().state, 'uninitialised');
    await rejectsWith(v.createKey(CITY, { type: 'ed25519', label: 'x' }), 'VAULT_NOT_INITIALISED');
    await rejectsWith(v.unseal('cts1-aaaa'), 'VAULT_NOT_INITIALISED');
  });

  it('refuses a second init and an init by a tenant', async (t) => {
    const o = await openFresh(t);
    await rejectsWith(o.vault.init(CITY, { shares: 5, threshold: 3 }), 'VAULT_ALREADY_INITIALISED');
    const fresh = await SoftwareVault.open({ dataDir: tempDir(t), clock: o.clock, logger: silentLogger(), audit: o.audit, usageFlushMs: 0 });
    await rejectsWith(fresh.init(TRANSIT, { shares: 5, threshold: 3 }), 'AUTH_FORBIDDEN');
    await rejectsWith(fresh.init(CITY, { shares: 2, threshold: 3 }), 'INPUT_INVALID');
  });

  it('is sealed after a restart and fails every operation with VAULT_SEALED', async (t) => {
    const o = await openFresh(t);
    const key = await o.vault.createKey(TRANSIT, { type: 'aes-256-gcm', label: 'k' });
    await o.vault.close();
    const v = await reopen(o);
    t.after(() => v.close());
    assert.equal(v.status().state, 'sealed');
    assert.deepEqual(v.status().unseal, { threshold: 3, received: 0 });
    const ops: (() => Promise<unknown>)[] = [
      () => v.createKey(TRANSIT, { type: 'ed25519', label: 'x' }),
      () => v.getKey(TRANSIT, key.id),
      () => v.listKeys(TRANSIT),
      () => v.publicKey(TRANSIT, key.id),
      () => v.sign(TRANSIT, key.id, enc('x')),
      () => v.verify(TRANSIT, key.id, enc('x'), new Uint8Array(64)),
      () => v.encrypt(TRANSIT, key.id, enc('x')),
      () => v.decrypt(TRANSIT, key.id, { version: 1, iv: new Uint8Array(12), ciphertext: new Uint8Array(16) }),
      () => v.deriveKey(TRANSIT, key.id, { peerPublicKey: new Uint8Array(65), info: enc('i'), length: 32 }),
      () => v.mac(TRANSIT, key.id, enc('x')),
      () => v.verifyMac(TRANSIT, key.id, enc('x'), new Uint8Array(32)),
      () => v.wrapKey(TRANSIT, key.id, key.id),
      () => v.unwrapKey(TRANSIT, key.id, new Uint8Array(40), { label: 'x' }),
      () => v.rotateKey(TRANSIT, key.id),
      () => v.destroyKey(TRANSIT, key.id),
      () => v.backup(CITY, { shares: 3, threshold: 2 }),
      () => v.restore(CITY, new Uint8Array(100), []),
      () => v.seal(CITY),
    ];
    for (const op of ops) await rejectsWith(op, 'VAULT_SEALED');
  });

  it('unseals with threshold shares entered one at a time, in any order', async (t) => {
    const o = await openFresh(t);
    const key = await o.vault.createKey(TRANSIT, { type: 'ed25519', label: 'survives restarts' });
    const sig = await o.vault.sign(TRANSIT, key.id, enc('m'));
    await o.vault.close();
    const v = await reopen(o);
    t.after(() => v.close());
    assert.deepEqual(await v.unseal(o.shares[4]!), { threshold: 3, received: 1, unsealed: false });
    // Bad shares of every kind are refused and leave the progress as it was.
    await rejectsWith(v.unseal(o.shares[4]!), 'VAULT_SHARE_DUPLICATE');
    await rejectsWith(v.unseal('cts1-notashare'), 'VAULT_SHARE_MALFORMED');
    const typo = o.shares[1]!.slice(0, 20) + (o.shares[1]![20] === 'a' ? 'b' : 'a') + o.shares[1]!.slice(21);
    await rejectsWith(v.unseal(typo), 'VAULT_SHARE_CORRUPT');
    const other = await openFresh(t);
    await rejectsWith(v.unseal(other.shares[0]!), 'VAULT_SHARE_MISMATCH');
    assert.deepEqual(v.status().unseal, { threshold: 3, received: 1 });
    assert.equal((await v.unseal(o.shares[0]!)).unsealed, false);
    assert.equal((await v.unseal(o.shares[2]!)).unsealed, true);
    assert.equal(v.status().state, 'unsealed');
    assert.equal(await v.verify(TRANSIT, key.id, enc('m'), sig.signature), true);
    assert.ok(o.audit.actions().includes('vault.unseal'));
    await rejectsWith(v.unseal(o.shares[3]!), 'VAULT_ALREADY_UNSEALED');
  });

  it('refuses shares that combine to a wrong key and zeroizes after repeated failures', async (t) => {
    const o = await openFresh(t, { maxUnsealFailures: 3 });
    await o.vault.close();
    const v = await reopen(o, { maxUnsealFailures: 3 });
    t.after(() => v.close());
    for (let attempt = 1; attempt <= 2; attempt++) {
      await v.unseal(o.shares[0]!);
      await v.unseal(o.shares[1]!);
      await rejectsWith(v.unseal(forge(o.shares[2]!)), 'VAULT_UNSEAL_FAILED');
      assert.equal(v.status().state, 'sealed');
      assert.deepEqual(v.status().unseal, { threshold: 3, received: 0 });
    }
    // The count survives a restart: an attacker cannot reset it by restarting the process.
    const again = await reopen(o, { maxUnsealFailures: 3 });
    await again.unseal(o.shares[0]!);
    await again.unseal(o.shares[1]!);
    await rejectsWith(again.unseal(forge(o.shares[2]!)), 'VAULT_ZEROIZED');
    assert.equal(again.status().state, 'tampered');
    assert.equal(again.status().tamper?.source, 'unseal-failures');
    assert.deepEqual(o.audit.actions().filter((a) => a === 'vault.unseal.fail').length, 3);
    assert.ok(o.audit.actions().includes('vault.tamper'));
    // The genuine shares no longer help: the keystore is gone.
    await rejectsWith(again.unseal(o.shares[0]!), 'VAULT_ZEROIZED');
  });

  it('resets the failure count after a successful unseal', async (t) => {
    const o = await openFresh(t, { maxUnsealFailures: 2 });
    await o.vault.close();
    const v = await reopen(o, { maxUnsealFailures: 2 });
    t.after(() => v.close());
    await v.unseal(o.shares[0]!);
    await v.unseal(o.shares[1]!);
    await rejectsWith(v.unseal(forge(o.shares[2]!)), 'VAULT_UNSEAL_FAILED');
    for (const s of o.shares.slice(0, 3)) await v.unseal(s);
    await v.seal(CITY);
    await v.unseal(o.shares[0]!);
    await v.unseal(o.shares[1]!);
    await rejectsWith(v.unseal(forge(o.shares[2]!)), 'VAULT_UNSEAL_FAILED');
    assert.equal(v.status().state, 'sealed');
  });

  it('seals on demand, wiping keys from memory until the next unseal', async (t) => {
    const o = await openFresh(t);
    const key = await o.vault.createKey(TRANSIT, { type: 'hmac-sha256', label: 'm' });
    const tag = await o.vault.mac(TRANSIT, key.id, enc('x'));
    await rejectsWith(o.vault.seal({ actor: '', tenant: null }), 'INPUT_INVALID');
    await o.vault.seal(CITY);
    await rejectsWith(o.vault.mac(TRANSIT, key.id, enc('x')), 'VAULT_SEALED');
    for (const s of o.shares.slice(1, 4)) await o.vault.unseal(s);
    assert.deepEqual(await o.vault.mac(TRANSIT, key.id, enc('x')), tag);
    assert.ok(o.audit.actions().includes('vault.seal'));
  });

  it('unseals unattended from a development key file', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'dev-unseal.key');
    const audit = new MemoryAudit();
    const v = await SoftwareVault.open({ dataDir: dir, clock: new FixedClock(), logger: silentLogger(), audit, usageFlushMs: 0 });
    await v.init(CITY, { shares: 1, threshold: 1, devUnsealKeyFile: file });
    const key = await v.createKey(CITY, { type: 'ed25519', label: 'demo' });
    await v.close();
    const again = await SoftwareVault.open({ dataDir: dir, clock: new FixedClock(), logger: silentLogger(), audit, usageFlushMs: 0, devUnsealKeyFile: file });
    t.after(() => again.close());
    assert.equal(again.status().state, 'unsealed');
    assert.equal((await again.sign(CITY, key.id, enc('x'))).signature.length, 64);
    assert.equal(audit.events.at(-1)?.details?.how, 'dev-key-file');
  });
});

describe('software vault: keystore', () => {
  it('writes one sealed file per key with no plaintext material in it', async (t) => {
    const o = await openFresh(t);
    const secret = randomBytes(32);
    const key = await o.vault.importKey(TRANSIT, { type: 'aes-256-gcm', label: 'imported', pkcs8OrRaw: secret });
    const bytes = readFileSync(join(o.dir, 'vault', 'keys', `${key.id}.key`));
    assert.equal(bytes.subarray(0, 4).toString('latin1'), 'CTVK');
    assert.equal(bytes.indexOf(secret), -1);
    assert.ok(bytes.includes(Buffer.from(key.id)));
  });

  it('makes a key whose file was altered unavailable and keeps the others', async (t) => {
    const o = await openFresh(t);
    const good = await o.vault.createKey(TRANSIT, { type: 'ed25519', label: 'good' });
    const bad = await o.vault.createKey(TRANSIT, { type: 'ed25519', label: 'bad' });
    await o.vault.close();
    const path = join(o.dir, 'vault', 'keys', `${bad.id}.key`);
    const bytes = readFileSync(path);
    // Change the label inside the metadata: the file MAC catches it.
    writeFileSync(path, Buffer.from(bytes.toString('latin1').replace('"bad"', '"BAD"'), 'latin1'));
    const v = await reopen(o);
    t.after(() => v.close());
    for (const s of o.shares.slice(0, 3)) await v.unseal(s);
    assert.equal((await v.sign(TRANSIT, good.id, enc('x'))).signature.length, 64);
    await rejectsWith(v.sign(TRANSIT, bad.id, enc('x')), 'VAULT_KEY_NOT_FOUND');
  });

  it('imports a PKCS#8 key that then signs verifiably, refusing material of another type', async (t) => {
    const o = await openFresh(t);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pkcs8 = new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }));
    const key = await o.vault.importKey(CITY, { type: 'ec-p256', label: 'legacy CA', pkcs8OrRaw: pkcs8 });
    const sig = await o.vault.sign(CITY, key.id, enc('tbs'), { format: 'der' });
    assert.ok(nodeVerify('sha256', enc('tbs'), publicKey, sig.signature));
    await rejectsWith(o.vault.importKey(CITY, { type: 'ec-p384', label: 'wrong', pkcs8OrRaw: pkcs8 }), 'INPUT_INVALID');
    await rejectsWith(o.vault.importKey(CITY, { type: 'aes-256-gcm', label: 'short', pkcs8OrRaw: new Uint8Array(16) }), 'INPUT_INVALID');
    assert.equal((await o.vault.listKeys(CITY)).length, 1);
    assert.ok(o.audit.actions().includes('vault.key.import'));
  });

  it('wraps keys in the documented format, which plain AES-GCM opens', async (t) => {
    const o = await openFresh(t);
    const kekBytes = randomBytes(32);
    const kek = await o.vault.importKey(TRANSIT, { type: 'aes-256-gcm', label: 'kek', usages: ['wrap', 'unwrap'], pkcs8OrRaw: kekBytes });
    const key = await o.vault.createKey(TRANSIT, { type: 'ed25519', label: 'movable', extractable: true });
    const wrapped = Buffer.from(await o.vault.wrapKey(TRANSIT, kek.id, key.id));
    assert.equal(wrapped.subarray(0, 4).toString('latin1'), 'CTVW');
    assert.equal(wrapped[5], 3); // type code of ed25519
    const d = createDecipheriv('aes-256-gcm', kekBytes, wrapped.subarray(10, 22));
    d.setAAD(wrapped.subarray(0, 10));
    d.setAuthTag(wrapped.subarray(wrapped.length - 16));
    const pkcs8 = Buffer.concat([d.update(wrapped.subarray(22, wrapped.length - 16)), d.final()]);
    const pub = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
    assert.equal(Buffer.from(pub.export({ format: 'jwk' }).x!, 'base64url').toString('hex'), Buffer.from((await o.vault.publicKey(TRANSIT, key.id)).raw).toString('hex'));
  });
});

describe('software vault: audit', () => {
  it('appends each lifecycle event on its own', async (t) => {
    const o = await openFresh(t);
    const key = await o.vault.createKey(TRANSIT, { type: 'ec-p256', label: 'audited' });
    await o.vault.rotateKey(TRANSIT, key.id);
    await o.vault.destroyKey(TRANSIT, key.id);
    const mine = o.audit.events.filter((e) => e.subject === key.id);
    assert.deepEqual(
      mine.map((e) => [e.action, e.actor, e.tenant]),
      [
        ['vault.key.create', TRANSIT.actor, 'transit'],
        ['vault.key.rotate', TRANSIT.actor, 'transit'],
        ['vault.key.destroy', TRANSIT.actor, 'transit'],
      ],
    );
    assert.equal(o.audit.actions()[0], 'vault.init');
    // Audit events carry no key material.
    assert.ok(!JSON.stringify(o.audit.events).match(/PRIVATE|BEGIN/));
  });

  it('counts key use in memory and appends the counts per key and actor when flushed', async (t) => {
    const o = await openFresh(t);
    const key = await o.vault.createKey(TRANSIT, { type: 'aes-256-gcm', label: 'counted' });
    const before = o.audit.events.length;
    for (let i = 0; i < 5; i++) await o.vault.encrypt(TRANSIT, key.id, enc('x'));
    const ct = await o.vault.encrypt(TRANSIT, key.id, enc('x'));
    await o.vault.decrypt(TRANSIT, key.id, ct);
    assert.equal(o.audit.events.length, before, 'no audit I/O per operation');
    await o.vault.flushUsage();
    const use = o.audit.events.slice(before);
    assert.deepEqual(use, [{ actor: TRANSIT.actor, tenant: 'transit', action: 'vault.key.use', subject: key.id, details: { counts: { encrypt: 6, decrypt: 1 } } }]);
    await o.vault.flushUsage();
    assert.equal(o.audit.events.length, before + 1, 'nothing appended when there was no use');
  });

  it('keeps counts when the audit sink fails and appends them on the next flush', async (t) => {
    const o = await openFresh(t);
    const key = await o.vault.createKey(TRANSIT, { type: 'hmac-sha256', label: 'counted' });
    await o.vault.mac(TRANSIT, key.id, enc('a'));
    o.audit.failing = true;
    await o.vault.flushUsage();
    o.audit.failing = false;
    await o.vault.mac(TRANSIT, key.id, enc('b'));
    await o.vault.flushUsage();
    assert.deepEqual(o.audit.events.at(-1)?.details, { counts: { mac: 2 } });
  });

  it('does not count checkpoint signatures, which the log itself records', async (t) => {
    const o = await openFresh(t);
    const key = await o.vault.createKey(CITY, { type: 'ed25519', label: 'checkpoints' });
    const before = o.audit.events.length;
    await o.vault.sign({ actor: CHECKPOINT_ACTOR, tenant: null }, key.id, enc('checkpoint'));
    await o.vault.flushUsage();
    assert.equal(o.audit.events.length, before);
  });

  it('flushes on its own timer at least once a second', async (t) => {
    const dir = tempDir(t);
    const audit = new MemoryAudit();
    const v = await SoftwareVault.open({ dataDir: dir, clock: new FixedClock(), logger: silentLogger(), audit, usageFlushMs: 20 });
    t.after(() => v.close());
    await v.init(CITY, { shares: 1, threshold: 1 });
    const key = await v.createKey(CITY, { type: 'hmac-sha256', label: 'timer' });
    await v.mac(CITY, key.id, enc('x'));
    const deadline = Date.now() + 2000;
    while (!audit.actions().includes('vault.key.use') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(audit.actions().includes('vault.key.use'));
    assert.deepEqual(readdirSync(join(dir, 'vault')).sort(), ['keys', 'vault.meta']);
  });
});
