/**
 * The KeyVault contract against SoftHSM2, plus interop with OpenSC's pkcs11-tool and openssl.
 * Needs the token from .ci/softhsm2-setup.sh (CITYTRUST_PKCS11_* variables); skips without it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pkcs11Vault } from '../../src/vault/index.ts';
import { FixedClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/log.ts';
import { keyVaultContract } from '../vault/contract.ts';
import { CITY, TRANSIT, UTILITY, MemoryAudit, rejectsWith } from '../vault/helpers.ts';

const env = {
  library: process.env.CITYTRUST_PKCS11_LIBRARY,
  tokenLabel: process.env.CITYTRUST_PKCS11_TOKEN,
  pin: process.env.CITYTRUST_PKCS11_PIN,
};
const available = env.library !== undefined && env.tokenLabel !== undefined && env.pin !== undefined;
const enc = (s: string) => new TextEncoder().encode(s);

async function openToken(audit = new MemoryAudit()): Promise<Pkcs11Vault> {
  return Pkcs11Vault.open({ library: env.library!, tokenLabel: env.tokenLabel!, pin: env.pin!, clock: new FixedClock(), logger: silentLogger(), audit, usageFlushMs: 0 });
}

if (!available) {
  describe('PKCS#11 backend (SoftHSM2)', () => {
    it('is skipped: run `. .ci/softhsm2-setup.sh` first', { skip: 'CITYTRUST_PKCS11_* not set' }, () => {});
  });
} else {
  keyVaultContract(
    'pkcs11 / SoftHSM2',
    async () => {
      const vault = await openToken();
      return { vault, city: CITY, tenantA: TRANSIT, tenantB: UTILITY, close: () => vault.close() };
    },
    { wrap: false },
  );

  describe('PKCS#11 backend (SoftHSM2)', () => {
    let vault: Pkcs11Vault;
    let dir: string;
    before(async () => {
      vault = await openToken();
      dir = mkdtempSync(join(tmpdir(), 'citytrust-p11-'));
    });
    after(async () => {
      await vault.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps keys on the token across sessions: a second process-level open sees them', async () => {
      const key = await vault.createKey(TRANSIT, { type: 'ec-p256', label: 'persistent' });
      const pub = await vault.publicKey(TRANSIT, key.id);
      await vault.close();
      vault = await openToken();
      assert.deepEqual((await vault.publicKey(TRANSIT, key.id)).raw, pub.raw);
      assert.equal((await vault.getKey(TRANSIT, key.id)).label, 'persistent');
    });

    it('creates keys that OpenSC pkcs11-tool lists as sensitive, non-extractable token objects', async () => {
      const key = await vault.createKey(CITY, { type: 'ec-p256', label: 'listed by opensc' });
      const out = execFileSync('pkcs11-tool', ['--module', env.library!, '--token-label', env.tokenLabel!, '--login', '--pin', env.pin!, '--list-objects'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const block = out.split(/\n(?=\S)/).find((b) => b.includes(`${key.id}.v1`) && b.startsWith('Private Key'));
      assert.ok(block, 'the private key is listed');
      assert.match(block, /sensitive/);
      assert.match(block, /never extractable/);
      assert.match(block, /Usage:\s+sign/);
    });

    it('makes ECDSA signatures that openssl verifies against the public key citytrust reports', async () => {
      const key = await vault.createKey(CITY, { type: 'ec-p256', label: 'openssl interop' });
      const pub = await vault.publicKey(CITY, key.id);
      const data = enc('certificate to be signed');
      const sig = await vault.sign(CITY, key.id, data, { format: 'der' });
      writeFileSync(join(dir, 'pub.der'), pub.spki);
      writeFileSync(join(dir, 'data'), data);
      writeFileSync(join(dir, 'sig'), sig.signature);
      const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'pub.der'), '-keyform', 'DER', '-signature', join(dir, 'sig'), join(dir, 'data')], { encoding: 'utf8' });
      assert.match(out, /Verified OK/);
    });

    it('runs operations concurrently over the session pool', async () => {
      // Signing on worker threads while the main thread starts more: crashed the process before
      // C_Initialize asked for CKF_OS_LOCKING_OK.
      const signer = await vault.createKey(TRANSIT, { type: 'ec-p256', label: 'pool signer' });
      for (let round = 0; round < 5; round++) {
        const sigs = await Promise.all(Array.from({ length: 40 }, () => vault.sign(TRANSIT, signer.id, enc('m'), { format: 'p1363' })));
        assert.ok(sigs.every((s) => s.signature.length === 64));
      }
      const key = await vault.createKey(TRANSIT, { type: 'aes-256-gcm', label: 'pool' });
      const results = await Promise.all(Array.from({ length: 32 }, (_, i) => vault.encrypt(TRANSIT, key.id, enc(`record ${i}`))));
      const opened = await Promise.all(results.map((ct) => vault.decrypt(TRANSIT, key.id, ct)));
      assert.deepEqual(opened.map((b) => new TextDecoder().decode(b)), Array.from({ length: 32 }, (_, i) => `record ${i}`));
    });

    it('refuses a wrong PIN with VAULT_BACKEND_ERROR', async () => {
      await rejectsWith(Pkcs11Vault.open({ library: env.library!, tokenLabel: env.tokenLabel!, pin: 'wrong-pin', clock: new FixedClock(), logger: silentLogger(), audit: new MemoryAudit() }), 'VAULT_BACKEND_ERROR');
    });

    it('destroys its token objects on tamper and then refuses everything with VAULT_ZEROIZED', async () => {
      const audit = new MemoryAudit();
      const v = await openToken(audit);
      const key = await v.createKey(UTILITY, { type: 'ed25519', label: 'tamper target' });
      await v.tamper(CITY, 'api', 'test');
      await rejectsWith(v.sign(UTILITY, key.id, enc('x')), 'VAULT_ZEROIZED');
      assert.equal(audit.events.at(-1)?.action, 'vault.tamper');
      await v.close();
      await vault.close();
      vault = await openToken();
      await rejectsWith(vault.getKey(UTILITY, key.id), 'VAULT_KEY_NOT_FOUND');
    });
  });
}
