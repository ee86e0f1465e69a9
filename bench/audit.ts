/**
 * npm run bench -- audit [--json] [--entries 1000000] [--seconds 3]
 *
 * 1. Durable appends/s through AuditLog on SQLite (synchronous=FULL, group commit) with a
 *    signed checkpoint every second, against two raw node:sqlite baselines in the same run:
 *    one durable commit per row (what an append costs without group commit) and the same
 *    rows inserted in large transactions (the floor our batches can approach).
 * 2. Inclusion and consistency proofs/s on a log of --entries events (default 1,000,000),
 *    through AuditLog, against the raw in-memory MerkleTree.
 */
import { DatabaseSync } from 'node:sqlite';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore, SQLITE_FILE } from '../src/store/index.ts';
import { systemClock, silentLogger } from '../src/core/index.ts';
import { AuditLog } from '../src/audit/log.ts';
import { ed25519NoteSigner } from '../src/audit/note-signer.ts';
import { hashLeaf } from '../src/audit/merkle.ts';
import { leafBytes } from '../src/audit/leaf.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { argValue, report } from './lib.ts';

const seconds = argValue('seconds', 3);
const entries = argValue('entries', 1_000_000);
const tmp = tempDir('citytrust-bench-');

async function appendsPerSecond(): Promise<{ perS: number; checkpoints: number }> {
  const store = await openStore({ dataDir: join(tmp.dir, 'appends') });
  const log = await AuditLog.open({ store, signer: ed25519NoteSigner('bench/audit'), clock: systemClock, logger: silentLogger(), origin: 'bench/audit', checkpointIntervalMs: 1000 });
  log.startCheckpointing();
  const inFlight = 8192;
  let done = 0;
  let stop = false;
  const start = performance.now();
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      await log.append({ actor: `device:gate-${w % 97}`, tenant: 'metro', action: 'reader.tap.granted', subject: `cred-${w}-${i}`, details: { site: 'central', lane: w % 8 } });
      done++;
    }
  };
  const workers = Array.from({ length: inFlight }, (_, w) => worker(w));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop = true;
  const elapsed = (performance.now() - start) / 1000;
  const counted = done;
  await Promise.all(workers);
  const checkpoints = await store.db.selectFrom('audit_checkpoints').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  await log.close();
  await store.close();
  return { perS: counted / elapsed, checkpoints: Number(checkpoints.n) };
}

function rawDb(name: string): DatabaseSync {
  const db = new DatabaseSync(join(tmp.dir, `${name}.sqlite`));
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
  db.exec('create table ev (seq integer primary key, ts integer, tenant text, actor text, action text, subject text, details text, leaf_hash blob)');
  return db;
}

function rawRow(seq: number) {
  const e = { seq, ts: Date.now(), tenant: 'metro', actor: 'device:gate-1', action: 'reader.tap.granted', subject: `cred-${seq}`, details: '{"lane":1,"site":"central"}' };
  return { ...e, leaf_hash: hashLeaf(leafBytes(e)) };
}

function rawPerRowCommit(): number {
  const db = rawDb('per-row');
  const ins = db.prepare('insert into ev values (?, ?, ?, ?, ?, ?, ?, ?)');
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    const r = rawRow(n);
    ins.run(r.seq, r.ts, r.tenant, r.actor, r.action, r.subject, r.details, r.leaf_hash); // autocommit: one fsync each
    n++;
  }
  const perS = (n * 1000) / (performance.now() - start);
  db.close();
  return perS;
}

function rawBatchInsert(): number {
  const db = rawDb('batch');
  const ins = db.prepare('insert into ev values (?, ?, ?, ?, ?, ?, ?, ?)');
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    db.exec('begin immediate');
    for (let i = 0; i < 4096; i++, n++) {
      const r = rawRow(n);
      ins.run(r.seq, r.ts, r.tenant, r.actor, r.action, r.subject, r.details, r.leaf_hash);
    }
    db.exec('commit');
  }
  const perS = (n * 1000) / (performance.now() - start);
  db.close();
  return perS;
}

/** Writes `entries` events straight into a fresh store (fast path for building the big log). */
async function buildBigLog(): Promise<{ dir: string; buildS: number }> {
  const dir = join(tmp.dir, 'big');
  const store = await openStore({ dataDir: dir });
  await store.close();
  const t0 = performance.now();
  const db = new DatabaseSync(join(dir, SQLITE_FILE));
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
  const ins = db.prepare('insert into audit_events (seq, ts, tenant, actor, action, subject, details, leaf_hash) values (?, ?, ?, ?, ?, ?, ?, ?)');
  db.exec('begin');
  for (let i = 0; i < entries; i++) {
    const r = rawRow(i);
    ins.run(r.seq, r.ts, r.tenant, r.actor, r.action, r.subject, r.details, r.leaf_hash);
  }
  db.prepare('update audit_head set size = ? where id = 1').run(entries);
  db.exec('commit');
  db.close();
  return { dir, buildS: (performance.now() - t0) / 1000 };
}

async function proofsPerSecond(dir: string) {
  const store = await openStore({ dataDir: dir });
  const t0 = performance.now();
  const log = await AuditLog.open({ store, signer: ed25519NoteSigner('bench/audit'), clock: systemClock, logger: silentLogger(), origin: 'bench/audit' });
  const openMs = performance.now() - t0;
  const size = await log.size();
  const rnd = () => randomBytes(4).readUInt32BE() % size;
  const ms = seconds * 1000;
  const measure = async (fn: () => Promise<unknown>) => {
    let n = 0;
    const s = performance.now();
    while (performance.now() - s < ms) {
      for (let i = 0; i < 256; i++) await fn();
      n += 256;
    }
    return (n * 1000) / (performance.now() - s);
  };
  const inclusion = await measure(() => log.inclusionProof(rnd(), size));
  const consistency = await measure(() => log.consistencyProof(1 + rnd(), size));
  // Baseline: the same proofs from a bare in-memory tree, with no store or async layer.
  const { MerkleTree } = await import('../src/audit/tree.ts');
  const bare = new MerkleTree();
  const leaf = createHash('sha256').digest();
  for (let i = 0; i < size; i++) bare.append(leaf);
  const rawInclusion = await measure(async () => bare.inclusionProof(rnd(), size));
  await log.close();
  await store.close();
  return { openMs, inclusion, consistency, rawInclusion, size };
}

try {
  const appends = await appendsPerSecond();
  const perRow = rawPerRowCommit();
  const batch = rawBatchInsert();
  const big = await buildBigLog();
  const proofs = await proofsPerSecond(big.dir);
  report(
    {
      bench: 'audit',
      figures: {
        append_durable_per_s: appends.perS,
        raw_sqlite_commit_per_row_per_s: perRow,
        raw_sqlite_batched_insert_per_s: batch,
        checkpoints_signed: appends.checkpoints,
        log_entries: proofs.size,
        log_open_ms: proofs.openMs,
        inclusion_proof_per_s: proofs.inclusion,
        consistency_proof_per_s: proofs.consistency,
        raw_tree_inclusion_proof_per_s: proofs.rawInclusion,
      },
      ratios: {
        append_vs_raw_batched_insert: appends.perS / batch,
        append_vs_raw_commit_per_row: appends.perS / perRow,
        inclusion_vs_raw_tree: proofs.inclusion / proofs.rawInclusion,
      },
    },
    [`${seconds}s per figure; proofs on a ${proofs.size}-entry log (built in ${big.buildS.toFixed(1)} s)`, 'goals: >= 10,000 durable appends/s, >= 20,000 inclusion proofs/s'],
  );
} finally {
  tmp.remove();
}
