/**
 * The KeyVault contract: one suite, run against every backend (software in the unit suite,
 * SoftHSM2 in test/services). Results are checked with node:crypto against the public keys
 * the vault reports, never with the vault itself.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, verify as nodeVerify } from 'node:crypto';
import type { KeyVault, VaultCaller } from '../../src/vault/index.ts';
import { rejectsWith } from './helpers.ts';

export interface ContractSubject {
  vault: KeyVault;
  /** Two callers of different tenants, and a city caller. */
  city: VaultCaller;
  tenantA: VaultCaller;
  tenantB: VaultCaller;
  close(): Promise<void>;
}

export interface ContractOptions {
  /** Whether the backend offers wrapKey/unwrapKey (the PKCS#11 backend does not). */
  wrap: boolean;
}

const enc = (s: string) => new TextEncoder().encode(s);

export function keyVaultContract(backend: string, setup: () => Promise<ContractSubject>, options: ContractOptions): void {
  describe(`KeyVault contract (${backend})`, () => {
    let s: ContractSubject;
    before(async () => {
      s = await setup();
    });
    after(async () => {
      await s.close();
    });

    describe('ECDSA keys', () => {
      for (const [type, hash, n] of [
        ['ec-p256', 'sha256', 32],
        ['ec-p384', 'sha384', 48],
      ] as const) {
        it(`signs with a ${type} key in P1363 and DER, both verifiable against the reported SPKI`, async () => {
          const key = await s.vault.createKey(s.tenantA, { type, label: `${type} signer` });
          assert.match(key.id, /^vk_[0-9a-f]{32}$/);
          assert.deepEqual([...key.usages], ['sign', 'verify']);
          assert.equal(key.extractable, false);
          const pub = await s.vault.publicKey(s.tenantA, key.id);
          assert.equal(pub.raw.length, 1 + 2 * n);
          assert.equal(pub.raw[0], 4);
          const spki = createPublicKey({ key: Buffer.from(pub.spki), format: 'der', type: 'spki' });
          const data = enc('meter 42 reading 1234.5 kWh');
          const p1363 = await s.vault.sign(s.tenantA, key.id, data, { format: 'p1363' });
          assert.equal(p1363.signature.length, 2 * n);
          assert.equal(p1363.version, 1);
          assert.ok(nodeVerify(hash, data, { key: spki, dsaEncoding: 'ieee-p1363' }, p1363.signature));
          const der = await s.vault.sign(s.tenantA, key.id, data, { format: 'der' });
          assert.equal(der.signature[0], 0x30);
          assert.ok(nodeVerify(hash, data, { key: spki, dsaEncoding: 'der' }, der.signature));
          assert.equal(await s.vault.verify(s.tenantA, key.id, data, p1363.signature, { format: 'p1363' }), true);
          assert.equal(await s.vault.verify(s.tenantA, key.id, data, der.signature, { format: 'der' }), true);
          // The format is never guessed: a DER signature checked as P1363 does not verify.
          assert.equal(await s.vault.verify(s.tenantA, key.id, data, der.signature, { format: 'p1363' }), false);
          assert.equal(await s.vault.verify(s.tenantA, key.id, enc('other'), p1363.signature, { format: 'p1363' }), false);
        });
      }

      it('refuses to sign ECDSA without an explicit signature format', async () => {
        const key = await s.vault.createKey(s.tenantA, { type: 'ec-p256', label: 'no format' });
        await rejectsWith(s.vault.sign(s.tenantA, key.id, enc('x')), 'INPUT_INVALID');
      });

      it('derives the same HKDF output as the peer does with ECDH on its side', async () => {
        const key = await s.vault.createKey(s.tenantA, { type: 'ec-p256', label: 'ecdh', usages: ['derive'] });
        const pub = await s.vault.publicKey(s.tenantA, key.id);
        const peer = createECDH('prime256v1');
        peer.generateKeys();
        const salt = enc('transcript-hash');
        const info = enc('citytrust tap v1');
        const ours = await s.vault.deriveKey(s.tenantA, key.id, { peerPublicKey: new Uint8Array(peer.getPublicKey()), salt, info, length: 32 });
        const z = peer.computeSecret(Buffer.from(pub.raw));
        const theirs = new Uint8Array(hkdfSync('sha256', z, salt, info, 32));
        assert.deepEqual(ours, theirs);
        // SPKI input gives the same answer.
        const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const viaSpki = await s.vault.deriveKey(s.tenantA, key.id, { peerPublicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })), info, length: 16 });
        const z2 = diffieHellman({ privateKey, publicKey: createPublicKey({ key: Buffer.from(pub.spki), format: 'der', type: 'spki' }) });
        assert.deepEqual(viaSpki, new Uint8Array(hkdfSync('sha256', z2, new Uint8Array(0), info, 16)));
      });

      it('refuses a peer key on another curve or off the curve', async () => {
        const key = await s.vault.createKey(s.tenantA, { type: 'ec-p256', label: 'ecdh-bad', usages: ['derive'] });
        const p384 = createECDH('secp384r1');
        p384.generateKeys();
        await rejectsWith(s.vault.deriveKey(s.tenantA, key.id, { peerPublicKey: new Uint8Array(p384.getPublicKey()), info: enc('i'), length: 32 }), 'VAULT_PUBLIC_KEY_INVALID');
        const offCurve = new Uint8Array(65);
        offCurve[0] = 4;
        offCurve[64] = 1;
        await rejectsWith(s.vault.deriveKey(s.tenantA, key.id, { peerPublicKey: offCurve, info: enc('i'), length: 32 }), 'VAULT_PUBLIC_KEY_INVALID');
      });
    });

    it('signs with Ed25519 (RFC 8032) verifiable against the raw 32-byte key', async () => {
      const key = await s.vault.createKey(s.city, { type: 'ed25519', label: 'checkpoints' });
      const pub = await s.vault.publicKey(s.city, key.id);
      assert.equal(pub.raw.length, 32);
      const data = enc('citytrust.local/audit\n42\n');
      const sig = await s.vault.sign(s.city, key.id, data);
      assert.equal(sig.signature.length, 64);
      const jwkKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub.raw).toString('base64url') }, format: 'jwk' });
      assert.ok(nodeVerify(null, data, jwkKey, sig.signature));
      assert.equal(await s.vault.verify(s.city, key.id, data, sig.signature), true);
    });

    describe('AES-256-GCM keys', () => {
      it('encrypts and decrypts with additional data, refusing a different AAD', async () => {
        const key = await s.vault.createKey(s.tenantA, { type: 'aes-256-gcm', label: 'personal data' });
        const aad = enc('residents/7/email');
        const ct = await s.vault.encrypt(s.tenantA, key.id, enc('alice@example.org'), aad);
        assert.equal(ct.iv.length, 12);
        assert.equal(ct.ciphertext.length, 17 + 16);
        assert.deepEqual(await s.vault.decrypt(s.tenantA, key.id, ct, aad), enc('alice@example.org'));
        await rejectsWith(s.vault.decrypt(s.tenantA, key.id, ct, enc('residents/8/email')), 'VAULT_DECRYPT_FAILED');
      });

      it('names truncated ciphertexts and altered tags with their own codes', async () => {
        const key = await s.vault.createKey(s.tenantA, { type: 'aes-256-gcm', label: 'truncation' });
        const ct = await s.vault.encrypt(s.tenantA, key.id, enc('0123456789'));
        await rejectsWith(s.vault.decrypt(s.tenantA, key.id, { ...ct, ciphertext: ct.ciphertext.subarray(0, 15) }), 'VAULT_CIPHERTEXT_MALFORMED');
        await rejectsWith(s.vault.decrypt(s.tenantA, key.id, { ...ct, iv: ct.iv.subarray(0, 8) }), 'VAULT_CIPHERTEXT_MALFORMED');
        const altered = new Uint8Array(ct.ciphertext);
        altered[altered.length - 1]! ^= 1;
        await rejectsWith(s.vault.decrypt(s.tenantA, key.id, { ...ct, ciphertext: altered }), 'VAULT_DECRYPT_FAILED');
        await rejectsWith(s.vault.decrypt(s.tenantA, key.id, { ...ct, ciphertext: ct.ciphertext.subarray(0, ct.ciphertext.length - 1) }), 'VAULT_DECRYPT_FAILED');
        // The genuine ciphertext still opens: failed attempts changed nothing.
        assert.deepEqual(await s.vault.decrypt(s.tenantA, key.id, ct), enc('0123456789'));
      });
    });

    it('computes HMAC-SHA256 (RFC 2104) and verifies tags', async () => {
      const key = await s.vault.createKey(s.tenantA, { type: 'hmac-sha256', label: 'pseudonyms' });
      const tag = await s.vault.mac(s.tenantA, key.id, enc('resident-123'));
      assert.equal(tag.length, 32);
      assert.deepEqual(await s.vault.mac(s.tenantA, key.id, enc('resident-123')), tag);
      assert.equal(await s.vault.verifyMac(s.tenantA, key.id, enc('resident-123'), tag), true);
      assert.equal(await s.vault.verifyMac(s.tenantA, key.id, enc('resident-124'), tag), false);
      assert.equal(await s.vault.verifyMac(s.tenantA, key.id, enc('resident-123'), tag.subarray(0, 16)), false);
    });

    describe('usages', () => {
      it('refuses an operation outside the key usages with VAULT_USAGE_DENIED', async () => {
        const verifyOnly = await s.vault.createKey(s.tenantA, { type: 'ec-p256', label: 'verify only', usages: ['verify'] });
        await rejectsWith(s.vault.sign(s.tenantA, verifyOnly.id, enc('x'), { format: 'der' }), 'VAULT_USAGE_DENIED');
        const aes = await s.vault.createKey(s.tenantA, { type: 'aes-256-gcm', label: 'encrypt only', usages: ['encrypt'] });
        const ct = await s.vault.encrypt(s.tenantA, aes.id, enc('x'));
        await rejectsWith(s.vault.decrypt(s.tenantA, aes.id, ct), 'VAULT_USAGE_DENIED');
        const sign = await s.vault.createKey(s.tenantA, { type: 'ec-p256', label: 'no derive' });
        await rejectsWith(s.vault.deriveKey(s.tenantA, sign.id, { peerPublicKey: new Uint8Array(65), info: enc('i'), length: 32 }), 'VAULT_USAGE_DENIED');
        await rejectsWith(s.vault.encrypt(s.tenantA, sign.id, enc('x')), 'VAULT_USAGE_DENIED');
        await rejectsWith(s.vault.mac(s.tenantA, aes.id, enc('x')), 'VAULT_USAGE_DENIED');
      });

      it('refuses usages a key type cannot have, creating nothing', async () => {
        const before = (await s.vault.listKeys(s.tenantB)).length;
        await rejectsWith(s.vault.createKey(s.tenantB, { type: 'ed25519', label: 'x', usages: ['encrypt'] }), 'VAULT_USAGE_INVALID');
        await rejectsWith(s.vault.createKey(s.tenantB, { type: 'aes-256-gcm', label: 'x', usages: [] }), 'VAULT_USAGE_INVALID');
        await rejectsWith(s.vault.createKey(s.tenantB, { type: 'rsa-2048' as never, label: 'x' }), 'INPUT_INVALID');
        await rejectsWith(s.vault.createKey(s.tenantB, { type: 'ed25519', label: '' }), 'INPUT_INVALID');
        await rejectsWith(s.vault.createKey(s.tenantB, { type: 'ed25519', label: 'bell\u0007' }), 'INPUT_INVALID');
        assert.equal((await s.vault.listKeys(s.tenantB)).length, before);
      });
    });

    describe('tenancy', () => {
      it("answers another tenant's key exactly like an unknown key", async () => {
        const key = await s.vault.createKey(s.tenantA, { type: 'ed25519', label: 'tenant A only' });
        await rejectsWith(s.vault.sign(s.tenantB, key.id, enc('x')), 'VAULT_KEY_NOT_FOUND');
        await rejectsWith(s.vault.publicKey(s.tenantB, key.id), 'VAULT_KEY_NOT_FOUND');
        await rejectsWith(s.vault.destroyKey(s.tenantB, key.id), 'VAULT_KEY_NOT_FOUND');
        await rejectsWith(s.vault.rotateKey(s.city, key.id), 'VAULT_KEY_NOT_FOUND');
        await rejectsWith(s.vault.sign(s.tenantB, `vk_${'0'.repeat(32)}`, enc('x')), 'VAULT_KEY_NOT_FOUND');
        await rejectsWith(s.vault.sign(s.tenantB, 'not-a-key-id', enc('x')), 'INPUT_INVALID');
        assert.ok(!(await s.vault.listKeys(s.tenantB)).some((k) => k.id === key.id));
        assert.ok((await s.vault.listKeys(s.tenantA)).some((k) => k.id === key.id));
        // Still usable by its owner after all that.
        assert.equal((await s.vault.sign(s.tenantA, key.id, enc('x'))).signature.length, 64);
      });
    });

    describe('rotation', () => {
      it('signs with the new version and keeps old versions for verification only', async () => {
        const key = await s.vault.createKey(s.tenantA, { type: 'ec-p256', label: 'rotating' });
        const data = enc('before rotation');
        const old = await s.vault.sign(s.tenantA, key.id, data, { format: 'p1363' });
        const oldPub = await s.vault.publicKey(s.tenantA, key.id);
        const rotated = await s.vault.rotateKey(s.tenantA, key.id);
        assert.equal(rotated.currentVersion, 2);
        assert.deepEqual(
          rotated.versions.map((v) => [v.version, v.state]),
          [
            [1, 'retired'],
            [2, 'active'],
          ],
        );
        const fresh = await s.vault.sign(s.tenantA, key.id, data, { format: 'p1363' });
        assert.equal(fresh.version, 2);
        const newPub = await s.vault.publicKey(s.tenantA, key.id);
        assert.notDeepEqual(newPub.raw, oldPub.raw);
        assert.deepEqual((await s.vault.publicKey(s.tenantA, key.id, 1)).raw, oldPub.raw);
        assert.equal(await s.vault.verify(s.tenantA, key.id, data, old.signature, { format: 'p1363', version: 1 }), true);
        assert.equal(await s.vault.verify(s.tenantA, key.id, data, old.signature, { format: 'p1363' }), false);
      });

      it('decrypts old ciphertexts after rotation and encrypts with the new version', async () => {
        const key = await s.vault.createKey(s.tenantA, { type: 'aes-256-gcm', label: 'kek' });
        const ct1 = await s.vault.encrypt(s.tenantA, key.id, enc('v1 data'));
        await s.vault.rotateKey(s.tenantA, key.id);
        const ct2 = await s.vault.encrypt(s.tenantA, key.id, enc('v2 data'));
        assert.equal(ct2.version, 2);
        assert.deepEqual(await s.vault.decrypt(s.tenantA, key.id, ct1), enc('v1 data'));
        assert.deepEqual(await s.vault.decrypt(s.tenantA, key.id, ct2), enc('v2 data'));
        await rejectsWith(s.vault.decrypt(s.tenantA, key.id, { ...ct1, version: 3 }), 'VAULT_KEY_NOT_FOUND');
      });
    });

    it('destroys a key: every operation then fails and the id stays listed as destroyed', async () => {
      const key = await s.vault.createKey(s.tenantA, { type: 'ed25519', label: 'short-lived' });
      await s.vault.destroyKey(s.tenantA, key.id);
      await rejectsWith(s.vault.sign(s.tenantA, key.id, enc('x')), 'VAULT_KEY_DESTROYED');
      await rejectsWith(s.vault.publicKey(s.tenantA, key.id), 'VAULT_KEY_DESTROYED');
      await rejectsWith(s.vault.destroyKey(s.tenantA, key.id), 'VAULT_KEY_DESTROYED');
      assert.ok(!(await s.vault.listKeys(s.tenantA)).some((k) => k.id === key.id));
      const all = await s.vault.listKeys(s.tenantA, { includeDestroyed: true });
      assert.ok(all.find((k) => k.id === key.id)?.destroyedAt !== undefined);
    });

    it('refuses oversized inputs with INPUT_TOO_LARGE', async () => {
      const key = await s.vault.createKey(s.tenantA, { type: 'hmac-sha256', label: 'limits' });
      await rejectsWith(s.vault.mac(s.tenantA, key.id, new Uint8Array(16 * 1024 * 1024 + 1)), 'INPUT_TOO_LARGE');
      const aes = await s.vault.createKey(s.tenantA, { type: 'aes-256-gcm', label: 'aad limits' });
      await rejectsWith(s.vault.encrypt(s.tenantA, aes.id, enc('x'), new Uint8Array(64 * 1024 + 1)), 'INPUT_TOO_LARGE');
    });

    if (options.wrap) {
      it('wraps an extractable key and unwraps it as a new key that signs the same', async () => {
        const kek = await s.vault.createKey(s.tenantA, { type: 'aes-256-gcm', label: 'transport', usages: ['wrap', 'unwrap'] });
        const key = await s.vault.createKey(s.tenantA, { type: 'ed25519', label: 'movable', extractable: true });
        const wrapped = await s.vault.wrapKey(s.tenantA, kek.id, key.id);
        const copy = await s.vault.unwrapKey(s.tenantA, kek.id, wrapped, { label: 'moved' });
        assert.notEqual(copy.id, key.id);
        assert.deepEqual((await s.vault.publicKey(s.tenantA, copy.id)).raw, (await s.vault.publicKey(s.tenantA, key.id)).raw);
        const locked = await s.vault.createKey(s.tenantA, { type: 'ed25519', label: 'locked' });
        await rejectsWith(s.vault.wrapKey(s.tenantA, kek.id, locked.id), 'VAULT_KEY_NOT_EXTRACTABLE');
        const tampered = new Uint8Array(wrapped);
        tampered[tampered.length - 1]! ^= 1;
        await rejectsWith(s.vault.unwrapKey(s.tenantA, kek.id, tampered, { label: 'x' }), 'VAULT_DECRYPT_FAILED');
        await rejectsWith(s.vault.unwrapKey(s.tenantA, kek.id, wrapped.subarray(0, 20), { label: 'x' }), 'VAULT_CIPHERTEXT_MALFORMED');
      });
    } else {
      it('reports wrap and unwrap as unsupported', async () => {
        const kek = await s.vault.createKey(s.tenantA, { type: 'aes-256-gcm', label: 'transport', usages: ['wrap', 'unwrap'] });
        const key = await s.vault.createKey(s.tenantA, { type: 'ed25519', label: 'movable', extractable: true });
        await rejectsWith(s.vault.wrapKey(s.tenantA, kek.id, key.id), 'VAULT_UNSUPPORTED');
      });
    }

    it('lists keys of the caller tenant with their metadata', async () => {
      const key = await s.vault.createKey(s.tenantB, { type: 'hmac-sha256', label: 'listed' });
      const got = await s.vault.getKey(s.tenantB, key.id);
      assert.equal(got.label, 'listed');
      assert.equal(got.tenant, s.tenantB.tenant);
      const list = await s.vault.listKeys(s.tenantB);
      assert.ok(list.every((k) => k.tenant === s.tenantB.tenant));
      assert.ok(list.some((k) => k.id === key.id));
    });

  });
}
