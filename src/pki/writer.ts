/**
 * Group commit for issued certificates. Each issuance waits until its row is durable, but
 * the rows of concurrent issuances share one transaction (one fsync on SQLite, one WAL flush
 * on PostgreSQL) — the way the audit log commits its events. Each row runs inside its own
 * SAVEPOINT together with its hook (a bootstrap token spent, a device activated), so one
 * request that loses a race (a token used twice) fails alone and the others commit.
 */
import { sql, type Transaction } from 'kysely';
import type { Store } from '../store/db.ts';
import type { Database, PkiCertificatesTable } from '../store/schema.ts';

interface Pending {
  row: PkiCertificatesTable;
  hook: ((trx: Transaction<Database>) => Promise<void>) | undefined;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Rows per multi-row INSERT: 18 columns each stays far below SQLite's and PostgreSQL's parameter limits. */
const BULK_ROWS = 64;

export class CertificateWriter {
  readonly #store: Store;
  readonly #maxBatch: number;
  #pending: Pending[] = [];
  #draining: Promise<void> | undefined;

  constructor(store: Store, maxBatch = 256) {
    this.#store = store;
    this.#maxBatch = maxBatch;
  }

  /** Resolves once the row (and what the hook wrote) is committed; rejects with the hook's or the insert's error. */
  write(row: PkiCertificatesTable, hook?: (trx: Transaction<Database>) => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ row, hook, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, this.#maxBatch);
        const failed = new Map<Pending, unknown>();
        try {
          await this.#store.transaction(async (trx) => {
            // Rows without a hook go in with one multi-row INSERT; should it fail (a serial
            // collision, say), it is rolled back and those rows retried one by one below so that
            // only the failing row fails.
            const plain = batch.filter((p) => !p.hook);
            let plainDone = false;
            if (plain.length > 1) {
              await sql`savepoint cert_bulk`.execute(trx);
              try {
                for (let i = 0; i < plain.length; i += BULK_ROWS) await trx.insertInto('pki_certificates').values(plain.slice(i, i + BULK_ROWS).map((p) => p.row)).execute();
                await sql`release savepoint cert_bulk`.execute(trx);
                plainDone = true;
              } catch {
                await sql`rollback to savepoint cert_bulk`.execute(trx);
                await sql`release savepoint cert_bulk`.execute(trx);
              }
            }
            for (const p of batch) {
              if (plainDone && !p.hook) continue;
              // One name for every row: each savepoint is released before the next opens, and one
              // SQL text per statement keeps the store's prepared-statement cache warm.
              const sp = sql.raw('cert_row');
              await sql`savepoint ${sp}`.execute(trx);
              try {
                if (p.hook) await p.hook(trx);
                await trx.insertInto('pki_certificates').values(p.row).execute();
                await sql`release savepoint ${sp}`.execute(trx);
              } catch (e) {
                await sql`rollback to savepoint ${sp}`.execute(trx);
                await sql`release savepoint ${sp}`.execute(trx);
                failed.set(p, e);
              }
            }
          });
        } catch (e) {
          for (const p of batch) p.reject(e);
          continue;
        }
        for (const p of batch) {
          if (failed.has(p)) p.reject(failed.get(p));
          else p.resolve();
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }
}
