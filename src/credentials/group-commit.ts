/**
 * Group commit for issuance: concurrent callers' rows share one transaction, so a burst of
 * issuances costs one durable commit per batch instead of one per credential (SQLite with
 * synchronous=FULL fsyncs every commit). A job must not fail for a reason of its own inside the
 * transaction — validation happens before it is queued — so a failure is the store's, and every
 * job of that batch is rejected with it and nothing of the batch is kept.
 */
import type { Transaction } from 'kysely';
import type { Store } from '../store/db.ts';
import type { Database } from '../store/schema.ts';

interface Pending<J, R> {
  job: J;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit<J, R> {
  readonly #store: Store;
  readonly #run: (trx: Transaction<Database>, jobs: readonly J[]) => Promise<R[]>;
  readonly #maxBatch: number;
  #queue: Pending<J, R>[] = [];
  #running = false;

  constructor(store: Store, run: (trx: Transaction<Database>, jobs: readonly J[]) => Promise<R[]>, maxBatch = 512) {
    this.#store = store;
    this.#run = run;
    this.#maxBatch = maxBatch;
  }

  submit(job: J): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        // Let the callers of this tick queue their jobs before the first batch starts.
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      try {
        const results = await this.#store.transaction((trx) => this.#run(trx, batch.map((p) => p.job)));
        batch.forEach((p, i) => p.resolve(results[i] as R));
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
    this.#running = false;
  }
}
