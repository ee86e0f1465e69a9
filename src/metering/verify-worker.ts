/**
 * Worker side of the signature verification pool (./verify-pool.ts): verifies batches of
 * ECDSA P-256 signatures with keys it imports once and keeps. Only public keys and signed
 * bytes cross the thread boundary; no secret ever does.
 */
import { parentPort } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { importSpkiPublicKey, verifySignature } from '../crypto/index.ts';

export interface VerifyRequest {
  readonly id: number;
  readonly key: string;
  /** Present the first time this worker sees the key. */
  readonly spki?: Uint8Array;
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

const keys = new Map<string, KeyObject>();

parentPort?.on('message', (batch: VerifyRequest[]) => {
  const ids = new Float64Array(batch.length);
  const ok = new Uint8Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i]!;
    ids[i] = r.id;
    try {
      let k = keys.get(r.key);
      if (!k && r.spki) {
        k = importSpkiPublicKey('P-256', r.spki);
        keys.set(r.key, k);
      }
      ok[i] = k && verifySignature('ES256', k, r.signed, r.signature, 'raw') ? 1 : 0;
    } catch {
      ok[i] = 0;
    }
  }
  parentPort!.postMessage({ ids, ok }, [ids.buffer, ok.buffer]);
});
