/** The parts issuance is made of: in-memory status slots, pooled random ids, the seal worker pool, and the settings the server passes in. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCbor, exportRawPublicKey, generateKeyPair, keyObjectAgreement, type CborTag } from '../../src/crypto/index.ts';
import { loadConfig } from '../../src/core/config.ts';
import { credentialSettingsFromConfig, openEnvelope, SealPool, StatusSlots, createCredentialServices } from '../../src/credentials/index.ts';
import { rejectsCode, throwsCode } from './helpers.ts';
import { randomId } from '../../src/credentials/random-pool.ts';

describe('status slots', () => {
  it('draw distinct random free slots, never one already taken, and free them again', () => {
    const slots = new StatusSlots(1024, [0, 1, 2, 3]);
    const drawn = Array.from({ length: 500 }, () => slots.take());
    assert.equal(new Set(drawn).size, 500);
    assert.ok(drawn.every((i) => i >= 4 && i < 1024));
    assert.notDeepEqual(drawn.slice(0, 20), [...drawn.slice(0, 20)].sort((a, b) => a - b), 'not in order');
    assert.equal(slots.taken, 504);
    slots.release(drawn[0]!);
    assert.equal(slots.has(drawn[0]!), false);
    assert.equal(slots.taken, 503);
  });

  it('fill up completely and then refuse, and refuse indices outside the list', () => {
    const slots = new StatusSlots(16);
    assert.deepEqual(Array.from({ length: 16 }, () => slots.take()).sort((a, b) => a - b), Array.from({ length: 16 }, (_, i) => i));
    throwsCode(() => slots.take(), 'UNAVAILABLE');
    throwsCode(() => slots.mark(16), 'STATUS_LIST_INDEX_OUT_OF_RANGE');
    throwsCode(() => slots.mark(-1), 'STATUS_LIST_INDEX_OUT_OF_RANGE');
  });
});

describe('pooled random identifiers', () => {
  it('hand out each byte once, across refills, and refuse sizes outside 1..256', () => {
    const seen = new Set<string>();
    let total = 0;
    for (let i = 0; i < 1000; i++) {
      const id = randomId(i % 2 === 0 ? 8 : 16);
      assert.equal(id.length, i % 2 === 0 ? 8 : 16);
      total += id.length;
      seen.add(Buffer.from(id).toString('hex'));
    }
    assert.ok(total > 4096 * 2, 'several refills of the 4 KiB pool');
    assert.equal(seen.size, 1000);
    const a = randomId(256);
    assert.notDeepEqual(a, new Uint8Array(256));
    for (const n of [0, 257, 1.5, -1]) assert.throws(() => randomId(n), RangeError);
  });
});

describe('the seal pool', () => {
  const wallet = generateKeyPair('P-256');
  const request = (plaintext: Uint8Array) => ({ walletId: 'w_0123', point: exportRawPublicKey(wallet.publicKey), kid: new Uint8Array(8), plaintext });
  const ephemeral = (env: Uint8Array) => (((decodeCbor(env, { maxBytes: 4096, maxDepth: 6, maxItems: 64, allowedTags: [16] }) as CborTag).value as unknown[])[1] as Map<number, unknown>).get(-1);

  for (const workers of [0, 2]) {
    it(`seals with ${workers} worker(s): each envelope opens with the wallet key and has its own ephemeral key`, async () => {
      const pool = new SealPool(workers);
      try {
        const texts = Array.from({ length: 40 }, (_, i) => new TextEncoder().encode(`credential ${i}`));
        const envs = await Promise.all(texts.map((p) => pool.seal(request(p))));
        for (let i = 0; i < envs.length; i++) assert.deepEqual(await openEnvelope(envs[i]!, { walletId: 'w_0123', agreement: keyObjectAgreement(wallet.privateKey) }), texts[i]);
        assert.equal(new Set(envs.map((e) => JSON.stringify([...(ephemeral(e) as Map<number, unknown>).entries()].map(([k, v]) => [k, v instanceof Uint8Array ? [...v] : v])))).size, 40);
        await rejectsCode(pool.seal({ ...request(texts[0]!), point: new Uint8Array(65) }), 'WALLET_KEY_INVALID');
      } finally {
        await pool.close();
      }
      await rejectsCode(pool.seal(request(new Uint8Array(1))), 'UNAVAILABLE');
    });
  }

  it('refuses a size outside 0..64', () => {
    throwsCode(() => new SealPool(-1), 'CONFIG_INVALID');
    throwsCode(() => new SealPool(65), 'CONFIG_INVALID');
  });
});

describe('credential settings', () => {
  it('come from the server configuration with their defaults', () => {
    const s = credentialSettingsFromConfig(loadConfig({ env: {}, overrides: { dataDir: '/nonexistent' } }).credentials);
    assert.equal(s.statusListSize, 131072);
    assert.equal(s.statusListFill, 0.5);
    assert.equal(s.sealWorkers, 1);
    const env = loadConfig({ env: { CITYTRUST_CREDENTIALS_STATUS_TTL_S: '60', CITYTRUST_CREDENTIALS_SEAL_WORKERS: '0' }, overrides: { dataDir: '/nonexistent' } }).credentials;
    assert.equal(credentialSettingsFromConfig(env).statusTtlSeconds, 60);
    assert.equal(credentialSettingsFromConfig(env).sealWorkers, 0);
    throwsCode(() => loadConfig({ env: { CITYTRUST_CREDENTIALS_STATUS_LIST_SIZE: '1024' }, overrides: { dataDir: '/nonexistent' } }), 'CONFIG_INVALID');
  });

  it('refuse combinations that cannot work', () => {
    const deps = (settings: object) => ({ store: {} as never, vault: {} as never, audit: {} as never, clock: {} as never, settings });
    throwsCode(() => createCredentialServices(deps({ statusListSize: 1001 })), 'CONFIG_INVALID');
    throwsCode(() => createCredentialServices(deps({ statusListFill: 0.95 })), 'CONFIG_INVALID');
    throwsCode(() => createCredentialServices(deps({ statusTtlSeconds: 86400, statusTokenSeconds: 3600 })), 'CONFIG_INVALID');
    throwsCode(() => createCredentialServices(deps({ maxValiditySeconds: 10 ** 9 })), 'CONFIG_INVALID');
    throwsCode(() => createCredentialServices(deps({ sealWorkers: 1.5 })), 'CONFIG_INVALID');
  });
});
