/**
 * The reader's persisted event queue (docs/reader.md §6). Each event is its own file
 * `events/<seq>.cbor`, written atomically (temporary file, fsync, rename, directory fsync) before the
 * reader answers the tap, so an event the holder saw decided is on disk. Files hold
 * [event, SHA-256(event)]; a file that fails the check is moved to `events/corrupt/` and reported,
 * never silently dropped. Uploading deletes files only after the server acknowledged them and a
 * state snapshot covering them is durable (state.cbor), so a crash at any point loses nothing and
 * counts nothing twice.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CityTrustError } from '../core/errors.ts';
import { bytesEqual } from '../core/bytes.ts';
import { decodeCbor, encodeCbor, randomBytes, sha256 } from '../crypto/index.ts';
import { decodeEvent, encodeEvent, type ReaderEvent } from './events.ts';
import { fsyncDir, writeFileAtomic } from './files.ts';
import { ReaderState } from './state.ts';

export const STATE_FILE = 'state.cbor';
export const INSTANCE_FILE = 'instance';
const INSTANCE = /^[0-9a-f]{16}$/;
const NAME = /^(\d{16})\.cbor$/;

function fileName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.cbor`;
}

export class EventQueue {
  readonly #dir: string;
  readonly #events: string;
  readonly #pending: ReaderEvent[] = [];
  #nextSeq: number;
  /** The fold of every event ever appended (see ReaderState). */
  readonly state: ReaderState;
  /** Files set aside at open because they failed their integrity check. */
  readonly corrupt: number;
  /**
   * Random id of this queue, made when its directory was first used: (reader, instance, seq) names
   * an event uniquely even if the reader's storage is wiped and its sequence starts again at 1.
   */
  readonly instance: string;

  private constructor(dir: string, instance: string, state: ReaderState, pending: ReaderEvent[], corrupt: number, highestName: number) {
    this.#dir = dir;
    this.instance = instance;
    this.#events = join(dir, 'events');
    this.state = state;
    this.#pending = pending;
    this.corrupt = corrupt;
    // A sequence number is never reused, not even one whose file was set aside: the server may
    // already hold it, and would then drop a new event under the same number as a duplicate.
    this.#nextSeq = Math.max(state.lastSeq, pending.at(-1)?.seq ?? 0, highestName) + 1;
  }

  /** Opens (or creates) the queue in `dir`, folding the snapshot and the events after it into `state`. */
  static open(dir: string): EventQueue {
    const events = join(dir, 'events');
    mkdirSync(events, { recursive: true, mode: 0o700 });
    const instanceFile = join(dir, INSTANCE_FILE);
    if (!existsSync(instanceFile)) writeFileAtomic(instanceFile, new TextEncoder().encode(Buffer.from(randomBytes(8)).toString('hex')));
    const instance = readFileSync(instanceFile, 'utf8').trim();
    if (!INSTANCE.test(instance)) throw new CityTrustError('READER_QUEUE_CORRUPT', 'the queue instance id is damaged');
    const stateFile = join(dir, STATE_FILE);
    const state = existsSync(stateFile) ? ReaderState.fromSnapshot(new Uint8Array(readFileSync(stateFile))) : new ReaderState();
    const pending: ReaderEvent[] = [];
    let corrupt = 0;
    const names = readdirSync(events)
      .filter((n) => NAME.test(n))
      .sort();
    for (const n of names) {
      const path = join(events, n);
      try {
        const e = readEventFile(new Uint8Array(readFileSync(path)));
        if (fileName(e.seq) !== n) throw new Error('seq does not match the file name');
        pending.push(e);
      } catch {
        mkdirSync(join(events, 'corrupt'), { recursive: true, mode: 0o700 });
        renameSync(path, join(events, 'corrupt', n));
        corrupt += 1;
      }
    }
    // Temporary files of writes a crash interrupted were never renamed: they are not events.
    for (const n of readdirSync(events)) if (n.endsWith('.tmp')) rmSync(join(events, n), { force: true });
    for (const e of pending) state.apply(e);
    const corruptDir = join(events, 'corrupt');
    const setAside = existsSync(corruptDir) ? readdirSync(corruptDir).filter((n) => NAME.test(n)) : [];
    const highestName = [...names, ...setAside].reduce((m, n) => Math.max(m, Number(n.slice(0, 16))), 0);
    return new EventQueue(dir, instance, state, pending, corrupt, highestName);
  }

  get size(): number {
    return this.#pending.length;
  }

  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Appends an event durably (fsync'd before returning) and folds it into the state. */
  append(e: Omit<ReaderEvent, 'seq'>): ReaderEvent {
    const event = Object.freeze({ ...e, seq: this.#nextSeq }) as ReaderEvent;
    const bytes = encodeEvent(event);
    writeFileAtomic(join(this.#events, fileName(event.seq)), encodeCbor([bytes, sha256(bytes)]));
    this.#nextSeq += 1;
    this.#pending.push(event);
    this.state.apply(event);
    return event;
  }

  /** The oldest `limit` events not yet acknowledged. */
  pending(limit = 500): ReaderEvent[] {
    return this.#pending.slice(0, limit);
  }

  /**
   * The server has every event up to `lastSeq`: make the state snapshot durable first, then delete
   * the files. A crash in between leaves files that the snapshot already covers; they are uploaded
   * again (the server ignores sequences it has) and never folded twice.
   */
  acknowledge(lastSeq: number): number {
    if (!Number.isSafeInteger(lastSeq) || lastSeq < 0) throw new CityTrustError('INPUT_INVALID', 'lastSeq is a sequence number');
    const done = this.#pending.filter((e) => e.seq <= lastSeq);
    if (done.length === 0) return 0;
    writeFileAtomic(join(this.#dir, STATE_FILE), this.state.snapshot());
    for (const e of done) rmSync(join(this.#events, fileName(e.seq)), { force: true });
    fsyncDir(this.#events);
    this.#pending.splice(0, done.length);
    return done.length;
  }

  /** Writes a snapshot now (after pruning); lets a long-running reader bound its replay on restart. */
  checkpoint(): void {
    writeFileAtomic(join(this.#dir, STATE_FILE), this.state.snapshot());
  }
}

function readEventFile(bytes: Uint8Array): ReaderEvent {
  const v = decodeCbor(bytes, { maxBytes: 4096, maxDepth: 2, maxItems: 4, allowedTags: [] });
  if (!Array.isArray(v) || v.length !== 2 || !(v[0] instanceof Uint8Array) || !(v[1] instanceof Uint8Array)) throw new Error('not [event, hash]');
  if (!bytesEqual(sha256(v[0]), v[1])) throw new Error('hash mismatch');
  return decodeEvent(v[0]);
}
