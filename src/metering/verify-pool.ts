/**
 * ECDSA verification on worker threads, so that the event loop (MQTT, SQLite, ingest logic)
 * and the signature checks — the dominant cost of ingest — run on different cores. Requests
 * of one event-loop turn travel as one message per worker; a key is routed to the same worker
 * every time, which imports it once. Falls back to verifying inline when no worker runs.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import { verifySignature } from '../crypto/index.ts';
import type { VerifyRequest } from './verify-worker.ts';

interface Pending {
  readonly key: VerifyKey;
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
  resolve(ok: boolean): void;
}

interface Lane {
  readonly worker: Worker;
  readonly known: Set<string>;
  batch: VerifyRequest[];
}

export interface VerifyKey {
  /** Stable id of the key (e.g. certificate serial). */
  readonly id: string;
  readonly spki: Uint8Array;
  readonly keyObject: KeyObject;
}

export class VerifyPool {
  readonly #lanes: Lane[] = [];
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #scheduled = false;
  #closed = false;

  readonly #threads: number;

  /** `threads` workers (default: one per CPU beyond the event loop's, at least one), started on first use; 0 = verify inline. */
  constructor(threads = Math.max(1, availableParallelism() - 1)) {
    this.#threads = threads;
  }

  #start(): void {
    const here = fileURLToPath(import.meta.url);
    const url = new URL(`./verify-worker${extname(here)}`, import.meta.url);
    for (let i = 0; i < this.#threads; i++) {
      const worker = new Worker(url);
      worker.unref();
      worker.on('message', (m: { ids: Float64Array; ok: Uint8Array }) => {
        for (let j = 0; j < m.ids.length; j++) {
          const id = m.ids[j]!;
          const p = this.#pending.get(id);
          if (p) {
            this.#pending.delete(id);
            p.resolve(m.ok[j] === 1);
          }
        }
      });
      // A worker that dies must not strand frames: verify what it held inline and stop using workers.
      const fail = () => this.#failover();
      worker.once('error', fail);
      worker.once('exit', (code) => code !== 0 && !this.#closed && fail());
      this.#lanes.push({ worker, known: new Set(), batch: [] });
    }
  }

  #failover(): void {
    this.#closed = true;
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.resolve(verifySignature('ES256', p.key.keyObject, p.signed, p.signature, 'raw'));
    }
    for (const l of this.#lanes) void l.worker.terminate();
  }

  get threads(): number {
    return this.#threads;
  }

  /** Resolves true only for a valid ES256 signature (r ‖ s) over `signed` by `key`. */
  verify(key: VerifyKey, signed: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (this.#threads === 0 || this.#closed) return Promise.resolve(verifySignature('ES256', key.keyObject, signed, signature, 'raw'));
    if (this.#lanes.length === 0) this.#start();
    const lane = this.#lanes[laneOf(key.id, this.#lanes.length)]!;
    const id = this.#next++;
    const first = !lane.known.has(key.id);
    if (first) lane.known.add(key.id);
    lane.batch.push({ id, key: key.id, signed, signature, ...(first ? { spki: key.spki } : {}) });
    this.#schedule();
    return new Promise<boolean>((resolve) => this.#pending.set(id, { key, signed, signature, resolve }));
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      for (const lane of this.#lanes) {
        if (lane.batch.length === 0) continue;
        lane.worker.postMessage(lane.batch);
        lane.batch = [];
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Let what is in flight finish before the workers go.
    while (this.#pending.size > 0) await new Promise((r) => setTimeout(r, 5));
    await Promise.all(this.#lanes.map((l) => l.worker.terminate()));
    this.#lanes.length = 0;
  }
}

function laneOf(id: string, n: number): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) | 0;
  return Math.abs(h) % n;
}
