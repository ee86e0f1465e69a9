import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { EnvelopeCipher, ENVELOPE_OVERHEAD, vaultNoteSigner } from '../../src/vault/index.ts';
import { CITY, TRANSIT, UTILITY, openFresh, rejectsWith } from './helpers.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('envelope encryption', () => {
  it('seals records under fresh data keys and opens them with the same additional data', async (t) => {
    const o = await openFresh(t);
    const kek = await o.vault.createKey(TRANSIT, { type: 'aes-256-gcm', label: 'personal data KEK' });
    const env = new EnvelopeCipher(o.vault, TRANSIT, kek.id);
    const aad = enc('residents/42/phone');
    const a = await env.seal(enc('+41 79 000 00 00'), aad);
    const b = await env.seal(enc('+41 79 000 00 00'), aad);
    assert.equal(a.length, ENVELOPE_OVERHEAD + 16);
    assert.notDeepEqual(a, b);
    assert.deepEqual(await env.open(a, aad), enc('+41 79 000 00 00'));
    await rejectsWith(env.open(a, enc('residents/43/phone')), 'VAULT_DECRYPT_FAILED');
    await rejectsWith(env.open(a.subarray(0, 100), aad), 'VAULT_CIPHERTEXT_MALFORMED');
    const flipped = new Uint8Array(a);
    flipped[flipped.length - 1]! ^= 1;
    await rejectsWith(env.open(flipped, aad), 'VAULT_DECRYPT_FAILED');
    // Another tenant cannot open it, even knowing the KEK id.
    await rejectsWith(new EnvelopeCipher(o.vault, UTILITY, kek.id).open(a, aad), 'VAULT_KEY_NOT_FOUND');
  });

  it('rewraps data keys under a rotated KEK without touching the record ciphertext', async (t) => {
    const o = await openFresh(t);
    const kek = await o.vault.createKey(TRANSIT, { type: 'aes-256-gcm', label: 'kek' });
    const env = new EnvelopeCipher(o.vault, TRANSIT, kek.id);
    const sealed = await env.seal(enc('record'), enc('r/1'));
    await o.vault.rotateKey(TRANSIT, kek.id);
    const rewrapped = await env.rewrap(sealed, enc('r/1'));
    assert.equal(Buffer.from(rewrapped).readUInt32BE(40), 2);
    assert.deepEqual(rewrapped.subarray(104), sealed.subarray(104));
    assert.deepEqual(await env.open(rewrapped, enc('r/1')), enc('record'));
    assert.deepEqual(await env.open(sealed, enc('r/1')), enc('record'));
  });
});

describe('vaultNoteSigner', () => {
  it('signs checkpoints with a vault Ed25519 key whose raw public key it reports', async (t) => {
    const o = await openFresh(t);
    const key = await o.vault.createKey(CITY, { type: 'ed25519', label: 'audit checkpoints' });
    const signer = await vaultNoteSigner(o.vault, key.id, 'citytrust.local/audit');
    assert.equal(signer.name, 'citytrust.local/audit');
    assert.equal(signer.publicKey.length, 32);
    const note = enc('citytrust.local/audit\n7\nq6rQ4rDhDjfX3ZUnFoUuGTxQ/6oYJ8+4pQ2zWxVqKl0=\n');
    const sig = await signer.sign(note);
    const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(signer.publicKey).toString('base64url') }, format: 'jwk' });
    assert.ok(nodeVerify(null, note, pub, sig));
  });

  it('refuses a key that is not an Ed25519 signing key, and a rotated key', async (t) => {
    const o = await openFresh(t);
    const ec = await o.vault.createKey(CITY, { type: 'ec-p256', label: 'not ed25519' });
    await rejectsWith(vaultNoteSigner(o.vault, ec.id, 'n'), 'VAULT_USAGE_DENIED');
    const tenantKey = await o.vault.createKey(TRANSIT, { type: 'ed25519', label: 'tenant' });
    await rejectsWith(vaultNoteSigner(o.vault, tenantKey.id, 'n'), 'VAULT_KEY_NOT_FOUND');
    const key = await o.vault.createKey(CITY, { type: 'ed25519', label: 'cp' });
    const signer = await vaultNoteSigner(o.vault, key.id, 'n');
    await o.vault.rotateKey(CITY, key.id);
    await rejectsWith(signer.sign(enc('x')), 'VAULT_USAGE_DENIED');
  });
});
