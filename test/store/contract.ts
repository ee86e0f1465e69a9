/**
 * The store contract: one suite, run against SQLite in `npm test` (sqlite.test.ts) and
 * against PostgreSQL in `npm run test:services` (test/services/store-postgres.test.ts).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Store } from '../../src/store/index.ts';
import { FixedClock, silentLogger } from '../../src/core/index.ts';
import { AuditLog } from '../../src/audit/log.ts';
import { ed25519NoteSigner } from '../../src/audit/note-signer.ts';
import { verifyInclusion, verifyConsistency } from '../../src/audit/merkle.ts';
import { openCheckpoint } from '../../src/audit/checkpoint.ts';
import { verifyAuditLog } from '../../src/audit/verify.ts';
import { Tenants } from '../../src/access/tenants.ts';

export interface StoreTarget {
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

export function storeContract(name: string, target: () => Promise<StoreTarget>): void {
  describe(`store contract on ${name}`, () => {
    let t: StoreTarget;
    let store: Store;
    before(async () => {
      t = await target();
      store = await t.open();
    });
    after(async () => {
      await store.close();
      await t.cleanup();
    });

    it('applies migrations once and opens again without re-applying them', async () => {
      const again = await t.open();
      const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(again.db);
      assert.ok(rows.rows.length >= 1);
      assert.equal(new Set(rows.rows.map((r) => r.name)).size, rows.rows.length);
      await again.close();
    });

    it('round-trips binary columns, large integers and nulls exactly', async () => {
      const bytes = new Uint8Array([0, 1, 2, 255, 0, 128]);
      const big = 2 ** 52 + 7;
      await store.db.insertInto('audit_checkpoints').values({ size: big, root: bytes, note: 'n', created_at: big }).execute();
      const r = await store.db.selectFrom('audit_checkpoints').selectAll().where('size', '=', big).executeTakeFirstOrThrow();
      assert.equal(typeof r.size, 'number');
      assert.equal(r.size, big);
      assert.deepEqual(new Uint8Array(r.root), bytes);
      await store.db.deleteFrom('audit_checkpoints').where('size', '=', big).execute();
    });

    it('rolls a failed transaction back completely', async () => {
      await assert.rejects(
        store.transaction(async (trx) => {
          await trx.insertInto('tenants').values({ id: 'rollback-me', name: 'x', status: 'active', created_at: 1 }).execute();
          throw new Error('boom');
        }),
        /boom/,
      );
      const r = await store.db.selectFrom('tenants').select('id').where('id', '=', 'rollback-me').executeTakeFirst();
      assert.equal(r, undefined);
    });

    it('refuses a duplicate tenant with TENANT_EXISTS and keeps the first', async () => {
      const audit = { append: async () => ({ index: 0 }) };
      const tenants = new Tenants({ store, clock: new FixedClock(), audit });
      await tenants.create({ id: 'dup-tenant', name: 'First' }, 'test');
      await assert.rejects(tenants.create({ id: 'dup-tenant', name: 'Second' }, 'test'), { code: 'TENANT_EXISTS' });
      assert.equal((await tenants.get('dup-tenant')).name, 'First');
    });

    it('keeps an audit log whose proofs and checkpoints verify, under concurrent appends', async () => {
      const signer = ed25519NoteSigner('contract.test/audit');
      const log = await AuditLog.open({ store, signer, clock: new FixedClock(), logger: silentLogger(), origin: 'contract.test/audit' });
      const receipts = await Promise.all(
        Array.from({ length: 300 }, (_, i) => log.append({ actor: 'test', tenant: i % 2 ? 'a' : null, action: 'test.append', subject: `s${i}` })),
      );
      const indices = receipts.map((r) => r.index).sort((a, b) => a - b);
      const base = indices[0]!;
      assert.deepEqual(indices, Array.from({ length: 300 }, (_, i) => base + i), 'dense sequence numbers');
      const cp = await log.checkpoint();
      assert.ok(cp);
      const opened = openCheckpoint(cp.note, log.verifier);
      assert.equal(opened.size, cp.size);
      const p = await log.inclusionProof(base + 17, cp.size);
      verifyInclusion(p.leafHash, base + 17, cp.size, p.proof, opened.rootHash);
      await log.append({ actor: 'test', tenant: null, action: 'test.append', subject: 'later' });
      const cp2 = await log.checkpoint();
      assert.ok(cp2);
      verifyConsistency(cp.size, cp2.size, await log.consistencyProof(cp.size, cp2.size), cp.root, cp2.root);
      const report = await verifyAuditLog(store, { verifier: log.verifier });
      assert.equal(report.ok, true, JSON.stringify(report.problems));
      assert.equal(report.size, cp2.size);
      await log.close();
    });
  });
}
