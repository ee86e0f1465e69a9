/**
 * Adapts node:sqlite's DatabaseSync to the interface Kysely's SqliteDialect expects
 * (the better-sqlite3 shape), so the embedded store needs no native build.
 *
 * Two deliberate differences from a plain adapter:
 * - Prepared statements are cached by SQL text (bounded), because Kysely prepares on
 *   every call and the audit writer runs the same INSERT thousands of times a second.
 * - Kysely opens transactions with a bare `begin` (DEFERRED). Deferred transactions that
 *   read, then write, can fail with SQLITE_BUSY when a second process (the CLI next to a
 *   running server) holds the write lock; `begin immediate` takes the write lock up front
 *   and then waits politely through busy_timeout instead.
 */
import { DatabaseSync, type StatementSync, type SQLInputValue } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

const MAX_CACHED = 256;

class CachedStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #stmt: StatementSync;
  constructor(stmt: StatementSync) {
    this.#stmt = stmt;
    this.reader = stmt.columns().length > 0;
  }
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#stmt.all(...(parameters as SQLInputValue[]));
  }
  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.#stmt.run(...(parameters as SQLInputValue[]));
  }
  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#stmt.iterate(...(parameters as SQLInputValue[])) as IterableIterator<unknown>;
  }
}

export class NodeSqliteDatabase implements SqliteDatabase {
  readonly raw: DatabaseSync;
  readonly #cache = new Map<string, CachedStatement>();

  constructor(path: string) {
    this.raw = new DatabaseSync(path);
    // WAL lets readers run beside the single writer; synchronous=FULL fsyncs the WAL on
    // every commit, which is what "acknowledged means durable" requires.
    this.raw.exec('PRAGMA journal_mode = WAL');
    this.raw.exec('PRAGMA synchronous = FULL');
    this.raw.exec('PRAGMA foreign_keys = ON');
    this.raw.exec('PRAGMA busy_timeout = 10000');
  }

  prepare(sql: string): SqliteStatement {
    const effective = /^\s*begin\s*$/i.test(sql) ? 'begin immediate' : sql;
    let s = this.#cache.get(effective);
    if (s) return s;
    s = new CachedStatement(this.raw.prepare(effective));
    if (this.#cache.size >= MAX_CACHED) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(effective, s);
    return s;
  }

  close(): void {
    this.#cache.clear();
    if (this.raw.isOpen) this.raw.close();
  }
}
