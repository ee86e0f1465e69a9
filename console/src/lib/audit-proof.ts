/**
 * What the console checks about one audit event, step by step, in the person's browser:
 *   1. leaf       the row as shown hashes (RFC 9162 §2.1.1) to the leaf hash the log stored;
 *   2. signature  the latest checkpoint is signed by the log's Ed25519 key (signed-note), and,
 *                 when the person pinned a verifier key, that key is the pinned one;
 *   3. inclusion  the inclusion proof leads from the recomputed leaf hash to the root inside
 *                 the signed checkpoint (RFC 9162 §2.1.3.2) — not to a root the proof answer names.
 * And, for a log watched over time, that each new checkpoint extends the previous one
 * (RFC 9162 §2.1.4.2 consistency). The fetches are parameters, so node tests run the same code.
 */
import { bytesEqual, fromBase64, toBase64 } from './bytes.ts';
import { encodeVerifierKey, openCheckpoint, type VerifiedCheckpoint } from './checkpoint.ts';
import { leafHashOf, type AuditEventRow } from './leaf.ts';
import { verifyConsistency, verifyInclusion } from './merkle.ts';
import { isVerifyError } from './verify-error.ts';

export interface CheckpointAnswer {
  size: number;
  root: string;
  note: string;
  origin: string;
  keyName: string;
  publicKey: string;
  /** When the server signed it (ms); older servers omit it. */
  createdAt?: number | null;
}

export interface InclusionAnswer {
  leafHash: string;
  root: string;
  proof: string[];
}

export interface ProofSource {
  checkpoint(): Promise<CheckpointAnswer>;
  inclusion(index: number, size: number): Promise<InclusionAnswer>;
  consistency(from: number, to: number): Promise<{ proof: string[] }>;
}

export type StepId = 'leaf' | 'signature' | 'inclusion';
export type StepState = 'ok' | 'failed' | 'waiting';

export interface Step {
  id: StepId;
  state: StepState;
  /** What was checked, in words a person can follow. */
  detail: string;
  code?: string;
}

export interface EventVerification {
  ok: boolean;
  steps: Step[];
  checkpoint?: { origin: string; size: number; root: string; vkey: string };
}

function describe(e: unknown): { detail: string; code?: string } {
  if (isVerifyError(e)) return { detail: e.message, code: e.code };
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : undefined;
  return { detail: typeof err?.message === 'string' ? err.message : String(e), ...(code ? { code } : {}) };
}

function decodeAll(list: readonly string[]): Uint8Array[] {
  return list.map((s) => fromBase64(s));
}

/** Verifies a signed checkpoint answer; `pinnedVkey` (signed-note vkey text) must match the server's key when given. */
export async function verifyCheckpointAnswer(c: CheckpointAnswer, pinnedVkey?: string): Promise<{ checkpoint: VerifiedCheckpoint; vkey: string }> {
  const key = { name: c.keyName, publicKey: fromBase64(c.publicKey) };
  const vkey = await encodeVerifierKey(key);
  if (pinnedVkey !== undefined && pinnedVkey.trim() !== '' && pinnedVkey.trim() !== vkey) {
    throw Object.assign(new Error(`the server's log key ${vkey} is not the key you pinned`), { code: 'AUDIT_KEY_INVALID' });
  }
  const checkpoint = await openCheckpoint(c.note, key, c.origin);
  return { checkpoint, vkey };
}

export async function verifyEvent(event: AuditEventRow & { leafHash: string }, src: ProofSource, pinnedVkey?: string): Promise<EventVerification> {
  const steps: Step[] = [];
  const fail = (id: StepId, e: unknown): EventVerification => {
    steps.push({ id, state: 'failed', ...describe(e) });
    return { ok: false, steps };
  };

  let leafHash: Uint8Array;
  try {
    leafHash = await leafHashOf(event);
    if (!bytesEqual(leafHash, fromBase64(event.leafHash))) {
      return fail('leaf', Object.assign(new Error('the event as shown does not hash to the leaf hash the log stored'), { code: 'AUDIT_LEAF_MISMATCH' }));
    }
    steps.push({ id: 'leaf', state: 'ok', detail: `SHA-256(0x00 ‖ leaf bytes) of the row as shown = ${toBase64(leafHash)}` });
  } catch (e) {
    return fail('leaf', e);
  }

  let cp: VerifiedCheckpoint;
  let vkey: string;
  try {
    ({ checkpoint: cp, vkey } = await verifyCheckpointAnswer(await src.checkpoint(), pinnedVkey));
    steps.push({ id: 'signature', state: 'ok', detail: `checkpoint of ${cp.size} events signed with Ed25519 by ${vkey}` });
  } catch (e) {
    return fail('signature', e);
  }
  const checkpoint = { origin: cp.origin, size: cp.size, root: toBase64(cp.rootHash), vkey };

  if (event.seq >= cp.size) {
    steps.push({ id: 'inclusion', state: 'waiting', detail: `event ${event.seq} is newer than the latest checkpoint (${cp.size} events); the next checkpoint will cover it` });
    return { ok: false, steps, checkpoint };
  }
  try {
    const p = await src.inclusion(event.seq, cp.size);
    const proof = decodeAll(p.proof);
    // The root comes from the signed note: the proof answer's own root is not trusted.
    await verifyInclusion(leafHash, event.seq, cp.size, proof, cp.rootHash);
    steps.push({ id: 'inclusion', state: 'ok', detail: `${proof.length} proof hashes lead from leaf ${event.seq} to the signed root of ${cp.size} events` });
  } catch (e) {
    const r = fail('inclusion', e);
    return { ...r, checkpoint };
  }
  return { ok: true, steps, checkpoint };
}

export interface WatchedHead {
  size: number;
  root: Uint8Array;
}

/**
 * Checks that a newer signed checkpoint extends the one seen before (RFC 9162 §2.1.4.2): a log
 * that rewrote or dropped history since the last look fails here. Resolves to the new head.
 */
export async function verifyAdvance(prev: WatchedHead | undefined, next: VerifiedCheckpoint, src: ProofSource): Promise<WatchedHead> {
  const head = { size: next.size, root: next.rootHash };
  if (prev === undefined || prev.size === 0) return head;
  if (next.size < prev.size) throw Object.assign(new Error(`the log shrank from ${prev.size} to ${next.size} events`), { code: 'AUDIT_PROOF_INVALID' });
  const proof = next.size === prev.size ? [] : decodeAll((await src.consistency(prev.size, next.size)).proof);
  await verifyConsistency(prev.size, next.size, proof, prev.root, next.rootHash);
  return head;
}
