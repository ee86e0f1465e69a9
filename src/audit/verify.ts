/**
 * `citytrust audit verify`: re-derives the whole log from the stored event rows and checks
 * it against the signed checkpoints.
 *
 * Nothing stored is trusted: leaf hashes are recomputed from the event columns, the tree is
 * rebuilt from those, and every checkpoint's signature is checked against the log key the
 * caller supplies (from the vault, or a vkey an auditor pinned elsewhere) — never against a
 * key read from the same database an attacker might have edited. Any edited, deleted,
 * inserted or reordered row changes a recomputed root that a signed checkpoint fixed.
 *
 * Events after the newest checkpoint are covered only by the unsigned head row until the
 * next checkpoint (at most one checkpoint interval); the report says how many.
 */
import type { Store } from '../store/db.ts';
import { bytesEqual, toHex } from '../core/bytes.ts';
import { CityTrustError } from '../core/errors.ts';
import { hashLeaf } from './merkle.ts';
import { MerkleTree } from './tree.ts';
import { openCheckpoint } from './checkpoint.ts';
import { leafBytes } from './leaf.ts';

export type ProblemKind =
  | 'sequence-gap'
  | 'leaf-hash-mismatch'
  | 'checkpoint-signature'
  | 'checkpoint-root-mismatch'
  | 'checkpoint-beyond-log'
  | 'head-mismatch'
  | 'external-checkpoint-mismatch';

export interface Problem {
  kind: ProblemKind;
  /** The event sequence number or checkpoint size concerned. */
  at: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  size: number;
  root: string;
  checkpointsVerified: number;
  latestCheckpointSize: number | null;
  /** Events newer than the newest signed checkpoint. */
  uncheckpointed: number;
  problems: Problem[];
}

export interface VerifyOptions {
  /** The trusted log key (name + raw Ed25519 public key). */
  verifier: { name: string; publicKey: Uint8Array };
  /** The log's origin line; a checkpoint of another log signed with the same key is refused. */
  origin?: string;
  /** A checkpoint note kept outside the database (by an auditor or witness). */
  externalCheckpoint?: string;
  /** Stop listing after this many problems (the check itself always runs to the end). */
  maxProblems?: number;
}

const CHUNK = 20_000;

export async function verifyAuditLog(store: Store, opts: VerifyOptions): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const max = opts.maxProblems ?? 100;
  const report = (p: Problem) => {
    if (problems.length < max) problems.push(p);
  };

  const originCheck = opts.origin !== undefined ? { origin: opts.origin } : {};
  const tree = new MerkleTree();
  let expected = 0;
  let lastSeq = -1;
  for (;;) {
    const rows = await store.db.selectFrom('audit_events').selectAll().where('seq', '>', lastSeq).orderBy('seq').limit(CHUNK).execute();
    if (rows.length === 0) break;
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seq !== expected) {
        report({ kind: 'sequence-gap', at: expected, message: `event ${expected} is missing (next stored is ${seq})` });
        expected = seq;
      }
      const recomputed = hashLeaf(
        leafBytes({ seq, ts: Number(r.ts), tenant: r.tenant, actor: r.actor, action: r.action, subject: r.subject, details: r.details }),
      );
      if (!bytesEqual(recomputed, r.leaf_hash)) {
        report({ kind: 'leaf-hash-mismatch', at: seq, message: `event ${seq} does not hash to its stored leaf hash: the row was edited` });
      }
      // The rebuilt tree uses what the row says now, so edits also surface as root mismatches.
      tree.append(recomputed);
      expected = seq + 1;
      lastSeq = seq;
    }
  }
  const size = tree.size;

  const head = await store.db.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
  if (!head || Number(head.size) !== size || !bytesEqual(head.root, tree.root(size))) {
    report({ kind: 'head-mismatch', at: size, message: `the head row (size ${head ? Number(head.size) : 'missing'}) does not match the ${size} stored events` });
  }

  const checkpoints = await store.db.selectFrom('audit_checkpoints').selectAll().orderBy('size').execute();
  let verified = 0;
  let latest: number | null = null;
  for (const c of checkpoints) {
    const at = Number(c.size);
    let parsed;
    try {
      parsed = openCheckpoint(c.note, opts.verifier, originCheck);
    } catch {
      report({ kind: 'checkpoint-signature', at, message: `checkpoint at size ${at} does not carry a valid signature of ${opts.verifier.name}` });
      continue;
    }
    if (parsed.size !== at || !bytesEqual(parsed.rootHash, c.root)) {
      report({ kind: 'checkpoint-root-mismatch', at, message: `checkpoint row at size ${at} differs from its signed note` });
      continue;
    }
    if (at > size) {
      report({ kind: 'checkpoint-beyond-log', at, message: `a signed checkpoint covers ${at} events but only ${size} are stored: events were deleted` });
      continue;
    }
    if (!bytesEqual(tree.root(at), parsed.rootHash)) {
      report({ kind: 'checkpoint-root-mismatch', at, message: `the stored events no longer produce the root signed at size ${at}: rows were edited, deleted, inserted or reordered` });
      continue;
    }
    verified++;
    latest = at;
  }

  if (opts.externalCheckpoint !== undefined) {
    let ext;
    try {
      ext = openCheckpoint(opts.externalCheckpoint, opts.verifier, originCheck);
    } catch (e) {
      throw new CityTrustError('AUDIT_CHECKPOINT_INVALID', 'the external checkpoint does not verify with the log key', { cause: e });
    }
    if (ext.size > size || !bytesEqual(tree.root(ext.size), ext.rootHash)) {
      report({ kind: 'external-checkpoint-mismatch', at: ext.size, message: `the log is not consistent with the external checkpoint at size ${ext.size}` });
    }
  }

  return {
    ok: problems.length === 0,
    size,
    root: toHex(tree.root(size)),
    checkpointsVerified: verified,
    latestCheckpointSize: latest,
    uncheckpointed: size - (latest ?? 0),
    problems,
  };
}
