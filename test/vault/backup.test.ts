import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { CITY, TRANSIT, openFresh, rejectsWith } from './helpers.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('backup and restore', () => {
  it('restores the same key ids after zeroization; old signatures still verify with the old public keys', async (t) => {
    const o = await openFresh(t);
    const ca = await o.vault.createKey(CITY, { type: 'ec-p384', label: 'root CA' });
    const issuer = await o.vault.createKey(TRANSIT, { type: 'ed25519', label: 'ticket issuer' });
    const kek = await o.vault.createKey(TRANSIT, { type: 'aes-256-gcm', label: 'kek' });
    const caSig = await o.vault.sign(CITY, ca.id, enc('tbsCertificate'), { format: 'der' });
    const caPub = await o.vault.publicKey(CITY, ca.id);
    await o.vault.rotateKey(TRANSIT, issuer.id);
    await o.vault.sign(TRANSIT, issuer.id, enc("ticket"));
    const issuerV1 = await o.vault.publicKey(TRANSIT, issuer.id, 1);
    const ct = await o.vault.encrypt(TRANSIT, kek.id, enc('resident record'), enc('aad'));

    const { archive, shares, keyCount } = await o.vault.backup(CITY, { shares: 5, threshold: 3 });
    assert.equal(keyCount, 3);
    assert.equal(shares.length, 5);
    assert.equal(Buffer.from(archive.subarray(0, 4)).toString('latin1'), 'CTVB');
    assert.ok(o.audit.actions().includes('vault.backup'));

    await o.vault.tamper(CITY, 'api', 'restore drill');
    await o.vault.init(CITY, { shares: 3, threshold: 2 });
    const restored = await o.vault.restore(CITY, archive, [shares[4]!, shares[1]!, shares[2]!]);
    assert.deepEqual(restored.map((k) => k.id).sort(), [ca.id, issuer.id, kek.id].sort());
    assert.ok(o.audit.actions().includes('vault.restore'));

    // Old signatures verify, with the vault and independently with the old public keys.
    assert.equal(await o.vault.verify(CITY, ca.id, enc('tbsCertificate'), caSig.signature, { format: 'der' }), true);
    assert.deepEqual((await o.vault.publicKey(CITY, ca.id)).raw, caPub.raw);
    const spki = createPublicKey({ key: Buffer.from(caPub.spki), format: 'der', type: 'spki' });
    assert.ok(nodeVerify('sha384', enc('tbsCertificate'), spki, caSig.signature));
    assert.deepEqual((await o.vault.publicKey(TRANSIT, issuer.id, 1)).raw, issuerV1.raw);
    const info = await o.vault.getKey(TRANSIT, issuer.id);
    assert.equal(info.currentVersion, 2);
    assert.equal(info.tenant, 'transit');
    // Data encrypted before the disaster opens again.
    assert.deepEqual(await o.vault.decrypt(TRANSIT, kek.id, ct, enc('aad')), enc('resident record'));
    // Keys keep signing after restore.
    assert.equal((await o.vault.sign(TRANSIT, issuer.id, enc('x'))).version, 2);
  });

  it('refuses too few, foreign and duplicate shares, altered archives and conflicts, changing nothing', async (t) => {
    const o = await openFresh(t);
    const key = await o.vault.createKey(CITY, { type: 'ed25519', label: 'k' });
    const a = await o.vault.backup(CITY, { shares: 3, threshold: 2 });
    const b = await o.vault.backup(CITY, { shares: 3, threshold: 2 });
    await rejectsWith(o.vault.restore(CITY, a.archive, [a.shares[0]!]), 'VAULT_BACKUP_INVALID');
    await rejectsWith(o.vault.restore(CITY, a.archive, [a.shares[0]!, b.shares[1]!]), 'VAULT_SHARE_MISMATCH');
    await rejectsWith(o.vault.restore(CITY, a.archive, [a.shares[0]!, a.shares[0]!]), 'VAULT_SHARE_DUPLICATE');
    await rejectsWith(o.vault.restore(CITY, a.archive, [o.shares[0]!, o.shares[1]!]), 'VAULT_SHARE_MISMATCH');
    const altered = new Uint8Array(a.archive);
    altered[altered.length - 20]! ^= 1;
    await rejectsWith(o.vault.restore(CITY, altered, a.shares), 'VAULT_BACKUP_INVALID');
    await rejectsWith(o.vault.restore(CITY, a.archive.subarray(0, 50), a.shares), 'VAULT_BACKUP_INVALID');
    await rejectsWith(o.vault.restore(CITY, new TextEncoder().encode('not a backup at all, clearly not'.repeat(4)), a.shares), 'VAULT_BACKUP_INVALID');
    // The key is still in the vault, so restoring it again is a conflict.
    await rejectsWith(o.vault.restore(CITY, a.archive, a.shares), 'VAULT_KEY_EXISTS');
    await rejectsWith(o.vault.backup(TRANSIT, { shares: 3, threshold: 2 }), 'AUTH_FORBIDDEN');
    await rejectsWith(o.vault.restore(TRANSIT, a.archive, a.shares), 'AUTH_FORBIDDEN');
    assert.deepEqual((await o.vault.listKeys(CITY)).map((k) => k.id), [key.id]);
    assert.ok(!o.audit.actions().includes('vault.restore'));
  });
});
