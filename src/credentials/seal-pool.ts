/**
 * Seals provisioning envelopes on a small pool of worker threads (or inline with 0 workers).
 *
 * An envelope costs an ephemeral key generation, an ECDH and an HKDF: more CPU than the issuer
 * signature, the row and the audit event together. It needs no secret of the server (only the
 * wallet's public key), so it can run on another core while the main thread signs through the
 * vault and commits. Jobs queued in the same turn of the event loop travel as one message per
 * worker, so the hand-off costs little per envelope. Workers start on first use and keep the
 * process alive only while they have work.
 */
import { Worker } from 'node:worker_threads';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CityTrustError, allErrorCodes, type ErrorCode } from '../core/errors.ts';
import { SealTargets, type SealReply, type SealRequest } from './seal-targets.ts';

interface Pending {
  readonly job: SealRequest;
  readonly resolve: (envelope: Uint8Array) => void;
  readonly reject: (e: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly inFlight: Map<number, Pending[]>;
  jobs: number;
}

const MAX_BATCH = 256;
const KNOWN_CODES = new Set<string>(allErrorCodes());
// The worker file next to this one, in the same form (.ts from source, .js from dist).
const WORKER_URL = new URL(`./seal-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

export class SealPool {
  readonly #size: number;
  readonly #inline = new SealTargets();
  readonly #slots: Slot[] = [];
  #queue: Pending[] = [];
  #scheduled = false;
  #nextBatch = 0;
  #closed = false;

  /** `workers` = 0 seals on the calling thread. */
  constructor(workers: number) {
    if (!Number.isSafeInteger(workers) || workers < 0 || workers > 64) throw new CityTrustError('CONFIG_INVALID', 'seal workers is 0..64');
    this.#size = workers;
  }

  get workers(): number {
    return this.#size;
  }

  seal(job: SealRequest): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new CityTrustError('UNAVAILABLE', 'the credential service is shutting down'));
    if (this.#size === 0) {
      try {
        return Promise.resolve(this.#inline.seal(job));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#dispatch());
      }
    });
  }

  #dispatch(): void {
    this.#scheduled = false;
    while (this.#queue.length > 0 && !this.#closed) {
      let slot: Slot;
      try {
        slot = this.#leastBusy();
      } catch (cause) {
        // No worker could start (a broken installation): the queued jobs fail, nothing hangs.
        const err = new CityTrustError('UNAVAILABLE', 'no seal worker could be started', { cause });
        for (const p of this.#queue.splice(0)) p.reject(err);
        return;
      }
      const jobs = this.#queue.splice(0, Math.max(1, Math.min(MAX_BATCH, Math.ceil(this.#queue.length / this.#size))));
      const batch = this.#nextBatch++;
      slot.inFlight.set(batch, jobs);
      slot.jobs += jobs.length;
      slot.worker.ref();
      slot.worker.postMessage({ batch, jobs: jobs.map((p) => p.job) });
    }
  }

  #leastBusy(): Slot {
    if (this.#slots.length < this.#size) return this.#spawn();
    let best = this.#slots[0] as Slot;
    for (const s of this.#slots) if (s.jobs < best.jobs) best = s;
    return best;
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_URL);
    const slot: Slot = { worker, inFlight: new Map(), jobs: 0 };
    worker.unref();
    worker.on('message', (m: { batch: number; results: SealReply[] }) => {
      const jobs = slot.inFlight.get(m.batch);
      if (!jobs) return;
      slot.inFlight.delete(m.batch);
      slot.jobs -= jobs.length;
      if (slot.jobs === 0) worker.unref();
      jobs.forEach((p, i) => settle(p, m.results[i]));
    });
    const fail = (cause: unknown) => this.#lose(slot, cause);
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`seal worker exited with code ${code}`)));
    this.#slots.push(slot);
    return slot;
  }

  /** A worker that died takes only its own jobs with it; the next dispatch starts a new one. */
  #lose(slot: Slot, cause: unknown): void {
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    const err = new CityTrustError('UNAVAILABLE', 'an envelope could not be sealed; retry', { cause });
    for (const jobs of slot.inFlight.values()) for (const p of jobs) p.reject(err);
    slot.inFlight.clear();
    slot.jobs = 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const err = new CityTrustError('UNAVAILABLE', 'the credential service is shutting down');
    for (const p of this.#queue.splice(0)) p.reject(err);
    const slots = this.#slots.splice(0);
    for (const s of slots) {
      for (const jobs of s.inFlight.values()) for (const p of jobs) p.reject(err);
      s.inFlight.clear();
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

function settle(p: Pending, r: SealReply | undefined): void {
  if (r === undefined) p.reject(new CityTrustError('INTERNAL', 'the seal worker answered fewer results than jobs'));
  else if (r.ok) p.resolve(r.envelope);
  else p.reject(new CityTrustError(KNOWN_CODES.has(r.code) ? (r.code as ErrorCode) : 'INTERNAL', r.message));
}
