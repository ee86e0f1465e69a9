/**
 * Issuance, sync, revocation and status-list publication against a store: the same scenarios run
 * on SQLite (test/credentials/store.test.ts) and PostgreSQL (test/services/credentials-postgres.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromBase64Url } from '../../src/core/bytes.ts';
import { isCityTrustError } from '../../src/core/errors.ts';
import { CredentialTrust, credentialStatus, verifyCredential, verifyStatusListToken } from '../../src/credentials/index.ts';
import { openEnv, secondInstance, TestWallet, type Env, type EnvOptions } from './service-helpers.ts';

type T = { after: (fn: () => void | Promise<void>) => void };

async function trustOf(env: Env): Promise<CredentialTrust> {
  const root = await env.svc.root.get();
  return CredentialTrust.fromTrustList((await env.svc.trustLists.current()).token, { root: root.verifier, now: Math.floor(env.clock.now() / 1000) });
}

const grants = { zones: ['A', 'B'], class: 2 };

export function credentialStoreScenarios(name: string, options: () => Promise<EnvOptions & { cleanup?: () => Promise<void> }>): void {
  const open = async (t: T, settings: EnvOptions['settings'] = {}): Promise<Env> => {
    const o = await options();
    if (o.cleanup) t.after(o.cleanup);
    return openEnv(t, ['metro'], { ...o, settings: { sealWorkers: 1, ...o.settings, ...settings } });
  };
  const until = (env: Env) => Math.floor(env.clock.now() / 1000) + 3600;

  describe(`credentials on ${name}`, () => {
    it('issues concurrently to many wallets with distinct slots and gap-free queues, and sync delivers each credential once', async (t) => {
      const env = await open(t);
      const wallets = await Promise.all([0, 1, 2].map(() => new TestWallet(env, 'metro').register()));
      const issued = await Promise.all(Array.from({ length: 45 }, (_, i) => env.svc.issuer.issue('metro', { walletId: wallets[i % 3]!.id, grants, validUntil: until(env) }, 'test')));
      assert.equal(new Set(issued.map((c) => `${c.statusList}/${c.statusIndex}`)).size, 45);
      const rows = await env.store.db.selectFrom('wallet_deliveries').select(['wallet_id', 'seq']).orderBy('wallet_id').orderBy('seq').execute();
      for (const w of wallets) assert.deepEqual(rows.filter((r) => r.wallet_id === w.id).map((r) => Number(r.seq)), Array.from({ length: 15 }, (_, i) => i + 1));
      const trust = await trustOf(env);
      for (const w of wallets) {
        const first = await env.svc.wallets.sync(w.id, await w.signedSync(0));
        const again = await env.svc.wallets.sync(w.id, await w.signedSync(0)); // the answer was lost: same deliveries again
        assert.deepEqual(again.deliveries, first.deliveries);
        const got = await w.sync();
        assert.equal(got.length, 15);
        for (const m of got) assert.equal(m.kind === 'credential' && verifyCredential(m.credential, { trust, now: env.clock.now() }).claims.iss, 'metro');
        assert.deepEqual(await w.sync(), [], 'acked deliveries do not come again');
        assert.equal((await env.svc.wallets.get('metro', w.id)).pendingDeliveries, 0);
      }
    });

    it('refuses only the credentials of a wallet deactivated meanwhile, not the rest of their batch', async (t) => {
      const env = await open(t);
      const good = await new TestWallet(env, 'metro').register();
      const gone = await new TestWallet(env, 'metro').register();
      await env.svc.issuer.issue('metro', { walletId: gone.id, grants, validUntil: until(env) }, 'test'); // its key is cached now
      // Another instance deactivates it: this one still holds its sealing key for a few seconds.
      await env.store.db.updateTable('wallets').set({ state: 'inactive' }).where('id', '=', gone.id).execute();
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => env.svc.issuer.issue('metro', { walletId: (i % 2 === 0 ? good : gone).id, grants, validUntil: until(env) }, 'test')));
      results.forEach((r, i) => {
        if (i % 2 === 0) assert.equal(r.status, 'fulfilled');
        else assert.ok(r.status === 'rejected' && isCityTrustError(r.reason, 'WALLET_INACTIVE'), `credential ${i}`);
      });
      const rows = await env.store.db.selectFrom('credentials').select('wallet_id').execute();
      assert.equal(rows.filter((r) => r.wallet_id === good.id).length, 5);
      assert.equal(rows.filter((r) => r.wallet_id === gone.id).length, 1);
      assert.equal((await env.store.db.selectFrom('wallet_deliveries').select('seq').where('wallet_id', '=', gone.id).execute()).length, 1);
    });

    it('publishes revocation and suspension in the next status list version and tells the wallet', async (t) => {
      const env = await open(t);
      const w = await new TestWallet(env, 'metro').register();
      const [a, b, c] = await Promise.all([0, 1, 2].map(() => env.svc.issuer.issue('metro', { walletId: w.id, grants, validUntil: until(env) }, 'test')));
      const changes: number[] = [];
      t.after(env.svc.statusLists.subscribe((ch) => changes.push(ch.version)));
      await env.svc.issuer.revoke('metro', a!.id, 'test', 'refund');
      await env.svc.issuer.suspend('metro', b!.id, 'test');
      const trust = await trustOf(env);
      const published = await env.svc.statusLists.publish(a!.statusList);
      assert.equal(published.version, 2);
      assert.deepEqual(changes, [1, 2]);
      const list = verifyStatusListToken(published.token, { trust, uri: `ct:${a!.statusList}`, issuer: 'metro', now: env.clock.now() });
      const status = async (id: string) => credentialStatus(verifyCredential(fromBase64Url((await env.svc.issuer.get('metro', id)).credential!), { trust, now: env.clock.now() }), list);
      assert.deepEqual([await status(a!.id), await status(b!.id), await status(c!.id)], ['revoked', 'suspended', 'valid']);
      const got = await w.sync();
      assert.deepEqual(got.map((m) => (m.kind === 'status' ? `${m.credentialId}:${m.status}` : 'credential')).filter((x) => x !== 'credential'), [`${a!.id}:revoked`, `${b!.id}:suspended`]);
      const updated = await env.svc.issuer.update('metro', c!.id, { grants: { zones: ['A', 'B', 'C'] } }, 'test');
      assert.equal((await env.svc.issuer.get('metro', c!.id)).status, 'revoked');
      assert.equal(updated.replaces, c!.id);
    });

    it('opens a new list when one is full, and two instances share a list without reusing a slot', async (t) => {
      const env = await open(t, { statusListSize: 64, statusListFill: 0.5 });
      const other = secondInstance(t, env, { statusListSize: 64, statusListFill: 0.5, sealWorkers: 0 });
      const w = await new TestWallet(env, 'metro').register();
      const issued = await Promise.all(Array.from({ length: 48 }, (_, i) => (i % 2 === 0 ? env : other).svc.issuer.issue('metro', { walletId: w.id, grants, validUntil: until(env) }, 'test')));
      assert.equal(new Set(issued.map((c) => `${c.statusList}/${c.statusIndex}`)).size, 48);
      const lists = await env.store.db.selectFrom('status_lists').select(['id', 'state', 'allocated']).execute();
      assert.ok(lists.length >= 2, 'a second list opened');
      assert.equal(lists.reduce((n, l) => n + Number(l.allocated), 0), 48);
      for (const l of lists) assert.ok(Number(l.allocated) <= 64);
      assert.deepEqual((await env.store.db.selectFrom('wallet_deliveries').select('seq').where('wallet_id', '=', w.id).orderBy('seq').execute()).map((r) => Number(r.seq)), Array.from({ length: 48 }, (_, i) => i + 1));
    });
  });
}
