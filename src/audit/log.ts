/**
 * The durable, append-only audit log: events in the store, an RFC 9162 Merkle tree over
 * them, and C2SP signed checkpoints.
 *
 * Appends are group-committed: every append made while a commit is running joins the next
 * batch, and one transaction (one fsync on SQLite, one WAL flush on PostgreSQL) makes the
 * whole batch durable. An append's promise resolves only after that commit, so an
 * acknowledged event survives kill -9.
 *
 * Several server instances may share one PostgreSQL database. Each batch locks the single
 * `audit_head` row (SELECT … FOR UPDATE; on SQLite `begin immediate` already serialises
 * writers), catches its in-memory tree up with leaves other instances committed, then
 * appends at the head. Sequence numbers are therefore dense and the tree never forks.
 */
import { sql, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import { Mutex } from '../core/mutex.ts';
import type { Store } from '../store/db.ts';
import type { Database } from '../store/schema.ts';
import { hashLeaf } from './merkle.ts';
import { MerkleTree } from './tree.ts';
import { signCheckpoint } from './checkpoint.ts';
import { leafBytes, normaliseEvent, type StoredEvent } from './leaf.ts';
import type { AuditEventInput, AuditReceipt, AuditSink, NoteSigner } from './types.ts';

type Executor = Transaction<Database> | Store['db'];

export interface AuditLogOptions {
  store: Store;
  signer: NoteSigner;
  clock: Clock;
  logger: Logger;
  /** Checkpoint origin line, e.g. `citytrust.local/audit`. */
  origin: string;
  checkpointIntervalMs?: number;
  maxBatch?: number;
}

export interface StoredCheckpoint {
  size: number;
  root: Uint8Array;
  note: string;
  createdAt: number;
}

export interface AuditEventRecord extends StoredEvent {
  leafHash: Uint8Array;
}

interface Pending {
  event: Omit<StoredEvent, 'seq' | 'ts'>;
  resolve: (r: AuditReceipt) => void;
  reject: (e: unknown) => void;
}

const INSERT_CHUNK = 500;
const LOAD_CHUNK = 50_000;

export class AuditLog implements AuditSink {
  readonly #store: Store;
  readonly #signer: NoteSigner;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #origin: string;
  readonly #interval: number;
  readonly #maxBatch: number;
  #tree = new MerkleTree();
  #treeDirty = false;
  /** Serialises every change to #tree (commits and catch-ups) across awaits. */
  readonly #treeLock = new Mutex();
  #pending: Pending[] = [];
  #draining: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastCheckpointSize = -1;
  #checkpointing: Promise<StoredCheckpoint | undefined> | undefined;
  #closed = false;

  private constructor(o: AuditLogOptions) {
    this.#store = o.store;
    this.#signer = o.signer;
    this.#clock = o.clock;
    this.#log = o.logger;
    this.#origin = o.origin;
    this.#interval = o.checkpointIntervalMs ?? 1000;
    this.#maxBatch = o.maxBatch ?? 4096;
  }

  static async open(o: AuditLogOptions): Promise<AuditLog> {
    const log = new AuditLog(o);
    await log.#ensure(await log.#headSize(o.store.db));
    const last = await log.latestCheckpoint();
    log.#lastCheckpointSize = last?.size ?? -1;
    return log;
  }

  get origin(): string {
    return this.#origin;
  }

  get verifier(): { name: string; publicKey: Uint8Array } {
    return { name: this.#signer.name, publicKey: this.#signer.publicKey };
  }

  /** Starts signing a checkpoint every interval when the log has grown. */
  startCheckpointing(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.checkpoint().catch((e: unknown) => this.#log.error({ err: e }, 'audit checkpoint failed'));
    }, this.#interval);
    this.#timer.unref();
  }

  #lastQueued: Promise<AuditReceipt> | undefined;

  append(event: AuditEventInput): Promise<AuditReceipt> {
    if (this.#closed) return Promise.reject(new CityTrustError('UNAVAILABLE', 'the audit log is closed'));
    let normal: Pending['event'];
    try {
      normal = normaliseEvent(event);
    } catch (e) {
      return Promise.reject(e);
    }
    const receipt = new Promise<AuditReceipt>((resolve, reject) => {
      this.#pending.push({ event: normal, resolve, reject });
      this.#draining ??= this.#drain();
    });
    this.#lastQueued = receipt;
    return receipt;
  }

  /**
   * Resolves when everything appended so far is committed (batches commit in order, so that is
   * when the latest append settles). Appends made after the call are not waited for: under a
   * steady stream of appends, waiting for the queue to run dry would never end.
   */
  async flush(): Promise<void> {
    await this.#lastQueued?.catch(() => undefined);
  }

  async #drain(): Promise<void> {
    try {
      for (;;) {
        // Yield to the event loop before each batch: appends made meanwhile join it, and
        // timers and I/O keep running (node:sqlite is synchronous, so without this yield a
        // steady stream of appends would starve everything else of the macrotask queue).
        await new Promise<void>((r) => setImmediate(r));
        if (this.#pending.length === 0) break;
        const batch = this.#pending.splice(0, this.#maxBatch);
        try {
          const first = await this.#commit(batch.map((p) => p.event));
          for (let i = 0; i < batch.length; i++) batch[i]!.resolve({ index: first + i });
        } catch (e) {
          this.#log.error({ err: e, events: batch.length }, 'audit batch commit failed');
          const err = e instanceof CityTrustError ? e : new CityTrustError('STORE_UNAVAILABLE', 'the audit event could not be stored', { cause: e });
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }

  async #commit(events: Pending['event'][]): Promise<number> {
    return this.#treeLock.run(() => this.#commitLocked(events));
  }

  async #commitLocked(events: Pending['event'][]): Promise<number> {
    const first = await this.#store.transaction(async (trx) => {
      const size = await this.#headSize(trx, true);
      await this.#catchUp(trx, size);
      const ts = this.#clock.now();
      const rows = events.map((e, i) => {
        const stored: StoredEvent = { ...e, seq: size + i, ts };
        return { ...stored, leaf_hash: hashLeaf(leafBytes(stored)) };
      });
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await trx.insertInto('audit_events').values(rows.slice(i, i + INSERT_CHUNK)).execute();
      }
      // The tree runs ahead of the database until commit; if the commit fails it is rebuilt.
      this.#treeDirty = true;
      for (const r of rows) this.#tree.append(r.leaf_hash);
      const root = this.#tree.root();
      await trx.updateTable('audit_head').set({ size: size + rows.length, root }).where('id', '=', 1).execute();
      return size;
    });
    // Only a committed batch makes the tree trustworthy again; a failed one leaves it dirty.
    this.#treeDirty = false;
    return first;
  }

  async #headSize(ex: Executor, lock = false): Promise<number> {
    if (lock && this.#store.dialect === 'postgres') {
      const r = await sql<{ size: number }>`select size from audit_head where id = 1 for update`.execute(ex);
      return Number(r.rows[0]!.size);
    }
    const r = await ex.selectFrom('audit_head').select('size').where('id', '=', 1).executeTakeFirstOrThrow();
    return Number(r.size);
  }

  /** Brings the in-memory tree to `size` leaves from the store (other instances' appends, or a rebuild). */
  async #catchUp(ex: Executor, size: number): Promise<void> {
    if (this.#treeDirty || this.#tree.size > size) {
      this.#tree = new MerkleTree();
      this.#treeDirty = false;
    }
    while (this.#tree.size < size) {
      const from = this.#tree.size;
      const rows = await ex
        .selectFrom('audit_events')
        .select(['seq', 'leaf_hash'])
        .where('seq', '>=', from)
        .where('seq', '<', Math.min(size, from + LOAD_CHUNK))
        .orderBy('seq')
        .execute();
      if (rows.length === 0 || Number(rows[0]!.seq) !== from) {
        throw new CityTrustError('AUDIT_LOG_CORRUPT', `audit event ${from} is missing from the store`);
      }
      for (const r of rows) {
        if (Number(r.seq) !== this.#tree.size) throw new CityTrustError('AUDIT_LOG_CORRUPT', `audit event ${this.#tree.size} is missing from the store`);
        this.#tree.append(new Uint8Array(r.leaf_hash));
      }
    }
  }

  /** Current committed size, catching the tree up with other instances. */
  async size(): Promise<number> {
    await this.flush();
    const size = await this.#headSize(this.#store.db);
    await this.#ensure(size);
    return size;
  }

  async #ensure(size: number): Promise<void> {
    if (size <= this.#tree.size && !this.#treeDirty) return;
    await this.#treeLock.run(async () => {
      if (size <= this.#tree.size && !this.#treeDirty) return;
      const head = await this.#headSize(this.#store.db);
      if (size > head) throw new CityTrustError('AUDIT_RANGE_INVALID', `tree size ${size} is beyond the log's size ${head}`);
      await this.#catchUp(this.#store.db, head);
    });
  }

  async root(size: number): Promise<Uint8Array> {
    await this.#ensure(size);
    return this.#tree.root(size);
  }

  /** RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `size` leaves. */
  async inclusionProof(index: number, size: number): Promise<{ leafHash: Uint8Array; proof: Uint8Array[]; root: Uint8Array }> {
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
      throw new CityTrustError('AUDIT_RANGE_INVALID', 'need 0 <= index < size');
    }
    await this.#ensure(size);
    return { leafHash: this.#tree.leafHash(index), proof: this.#tree.inclusionProof(index, size), root: this.#tree.root(size) };
  }

  /** RFC 9162 §2.1.4.1 consistency proof between two tree sizes. */
  async consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size1 > size2) {
      throw new CityTrustError('AUDIT_RANGE_INVALID', 'need 1 <= size1 <= size2');
    }
    await this.#ensure(size2);
    return this.#tree.consistencyProof(size1, size2);
  }

  /** Signs a checkpoint of the current size if the log grew since the last one. */
  checkpoint(): Promise<StoredCheckpoint | undefined> {
    this.#checkpointing ??= this.#checkpoint().finally(() => {
      this.#checkpointing = undefined;
    });
    return this.#checkpointing;
  }

  async #checkpoint(): Promise<StoredCheckpoint | undefined> {
    const size = await this.#headSize(this.#store.db);
    if (size === this.#lastCheckpointSize) return undefined;
    await this.#ensure(size);
    const root = this.#tree.root(size);
    const note = await signCheckpoint({ origin: this.#origin, size, rootHash: root }, this.#signer);
    const createdAt = this.#clock.now();
    await this.#store.db
      .insertInto('audit_checkpoints')
      .values({ size, root, note, created_at: createdAt })
      .onConflict((oc) => oc.column('size').doNothing())
      .execute();
    this.#lastCheckpointSize = size;
    return { size, root, note, createdAt };
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const r = await this.#store.db.selectFrom('audit_checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
    return r ? { size: Number(r.size), root: new Uint8Array(r.root), note: r.note, createdAt: Number(r.created_at) } : undefined;
  }

  /**
   * A page of events, newest last. `tenant` scopes the page: a tenant's auditor passes its
   * tenant and sees only its own events; only city-wide callers pass `undefined`.
   */
  async events(q: { tenant?: string | undefined; after?: number; limit?: number; action?: string }): Promise<AuditEventRecord[]> {
    let query = this.#store.db.selectFrom('audit_events').selectAll();
    if (q.tenant !== undefined) query = query.where('tenant', '=', q.tenant);
    if (q.after !== undefined) query = query.where('seq', '>', q.after);
    if (q.action !== undefined) query = query.where('action', '=', q.action);
    const rows = await query.orderBy('seq').limit(Math.min(Math.max(q.limit ?? 100, 1), 1000)).execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      ts: Number(r.ts),
      tenant: r.tenant,
      actor: r.actor,
      action: r.action,
      subject: r.subject,
      details: r.details,
      leafHash: new Uint8Array(r.leaf_hash),
    }));
  }

  /** Drains pending appends, signs a final checkpoint and stops the timer. The store stays open. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
    this.#closed = true;
    // Without a signing key (vault sealed) the events stay durable and the next start signs them.
    await this.checkpoint().catch((e: unknown) => this.#log.warn({ err: e }, 'final audit checkpoint not signed'));
  }
}
