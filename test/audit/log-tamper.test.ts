/**
 * `audit verify` must detect any edited, deleted, inserted or reordered row. Each case edits
 * the SQLite database directly, behind the application's back, as an attacker with file
 * access would.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createHash } from 'node:crypto';
import { openStore, SQLITE_FILE, type Store } from '../../src/store/index.ts';
import { FixedClock, silentLogger } from '../../src/core/index.ts';
import { AuditLog } from '../../src/audit/log.ts';
import { ed25519NoteSigner } from '../../src/audit/note-signer.ts';
import { signCheckpoint } from '../../src/audit/checkpoint.ts';
import { verifyAuditLog, type VerifyReport } from '../../src/audit/verify.ts';
import type { NoteSigner } from '../../src/audit/types.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('audit verify on a log edited behind its back', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  let signer: NoteSigner;
  let log: AuditLog;
  let firstCheckpoint: string;

  beforeEach(async () => {
    tmp = tempDir();
    store = await openStore({ dataDir: tmp.dir });
    signer = ed25519NoteSigner('tamper.test/audit');
    log = await AuditLog.open({ store, signer, clock: new FixedClock(), logger: silentLogger(), origin: 'tamper.test/audit' });
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.append({ actor: 'token:t', tenant: 'metro', action: 'test.event', subject: `e${i}` })));
    firstCheckpoint = (await log.checkpoint())!.note;
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.append({ actor: 'token:t', tenant: 'metro', action: 'test.event', subject: `f${i}` })));
    await log.checkpoint();
    await log.close();
    await store.close();
  });
  afterEach(() => tmp.remove());

  const raw = (fn: (db: DatabaseSync) => void) => {
    const db = new DatabaseSync(join(tmp.dir, SQLITE_FILE));
    try {
      fn(db);
    } finally {
      db.close();
    }
  };
  const verify = async (external?: string): Promise<VerifyReport> => {
    const s = await openStore({ dataDir: tmp.dir });
    try {
      return await verifyAuditLog(s, { verifier: { name: signer.name, publicKey: signer.publicKey }, ...(external ? { externalCheckpoint: external } : {}) });
    } finally {
      await s.close();
    }
  };
  const kinds = (r: VerifyReport) => new Set(r.problems.map((p) => p.kind));

  it('accepts the untouched log', async () => {
    const r = await verify(firstCheckpoint);
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.equal(r.size, 20);
    assert.equal(r.checkpointsVerified, 2);
    assert.equal(r.uncheckpointed, 0);
  });

  it('detects an edited row', async () => {
    raw((db) => db.exec("update audit_events set subject = 'nothing to see' where seq = 3"));
    const r = await verify();
    assert.equal(r.ok, false);
    assert.ok(kinds(r).has('leaf-hash-mismatch'));
    assert.ok(kinds(r).has('checkpoint-root-mismatch'));
  });

  it('detects an edited row whose stored leaf hash was recomputed to match', async () => {
    // The attacker also fixes leaf_hash (and the head): only the signed checkpoints catch this.
    raw((db) => {
      const row = db.prepare('select * from audit_events where seq = 4').get() as Record<string, unknown>;
      const subject = 'forged';
      const leaf = `{"action":${JSON.stringify(row.action)},"actor":${JSON.stringify(row.actor)},"details":${row.details},"seq":4,"subject":"${subject}","tenant":${JSON.stringify(row.tenant)},"ts":${row.ts},"v":1}`;
      const h = createHash('sha256').update(Buffer.from([0])).update(leaf).digest();
      db.prepare('update audit_events set subject = ?, leaf_hash = ? where seq = 4').run(subject, h);
    });
    const r = await verify();
    assert.equal(r.ok, false);
    assert.ok(kinds(r).has('checkpoint-root-mismatch'));
    assert.ok(!kinds(r).has('leaf-hash-mismatch'));
  });

  it('detects a deleted row', async () => {
    raw((db) => db.exec('delete from audit_events where seq = 7'));
    const r = await verify();
    assert.equal(r.ok, false);
    assert.ok(kinds(r).has('sequence-gap'));
  });

  it('detects the deletion of the newest rows (truncation)', async () => {
    raw((db) => db.exec('delete from audit_events where seq >= 15; update audit_head set size = 15'));
    const r = await verify();
    assert.equal(r.ok, false);
    assert.ok(kinds(r).has('checkpoint-beyond-log'));
  });

  it('detects an inserted row', async () => {
    raw((db) => {
      db.exec('update audit_events set seq = seq + 1000 where seq >= 5');
      db.exec('update audit_events set seq = seq - 999 where seq >= 1005');
      db.exec("insert into audit_events (seq, ts, tenant, actor, action, subject, details, leaf_hash) select 5, ts, tenant, actor, action, 'inserted', details, leaf_hash from audit_events where seq = 4");
    });
    const r = await verify();
    assert.equal(r.ok, false);
    assert.ok(kinds(r).has('checkpoint-root-mismatch'));
  });

  it('detects two rows swapped (reordering)', async () => {
    raw((db) => {
      db.exec('update audit_events set seq = -1 where seq = 2');
      db.exec('update audit_events set seq = 2 where seq = 6');
      db.exec('update audit_events set seq = 6 where seq = -1');
    });
    const r = await verify();
    assert.equal(r.ok, false);
    assert.ok(kinds(r).has('leaf-hash-mismatch'), 'seq is part of the leaf');
    assert.ok(kinds(r).has('checkpoint-root-mismatch'));
  });

  it('detects a checkpoint signed by another key', async () => {
    const mallory = ed25519NoteSigner('tamper.test/audit');
    raw((db) => db.exec('delete from audit_checkpoints'));
    const s = await openStore({ dataDir: tmp.dir });
    const root = (await s.db.selectFrom('audit_head').select('root').executeTakeFirstOrThrow()).root;
    const note = await signCheckpoint({ origin: 'tamper.test/audit', size: 20, rootHash: new Uint8Array(root) }, mallory);
    await s.db.insertInto('audit_checkpoints').values({ size: 20, root: new Uint8Array(root), note, created_at: 0 }).execute();
    await s.close();
    const r = await verify();
    assert.equal(r.ok, false);
    assert.ok(kinds(r).has('checkpoint-signature'));
  });

  it('detects a rewritten history against a checkpoint kept outside the database', async () => {
    // Wipe everything and write a different history with no checkpoints: only the external copy remembers.
    raw((db) => db.exec("delete from audit_checkpoints; update audit_events set subject = 'rewritten'"));
    const r = await verify(firstCheckpoint);
    assert.equal(r.ok, false);
    assert.ok(kinds(r).has('external-checkpoint-mismatch'));
  });
});
