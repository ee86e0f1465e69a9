/**
 * Entry point of a seal worker (./seal-pool.ts). It seals provisioning envelopes — ephemeral
 * P-256 key, ECDH, HKDF, AES-GCM — so that work runs beside the issuer's main thread. It holds no
 * secret of the server: it sees wallet public keys and the plaintext the server already has, and
 * every ephemeral key lives and dies inside one sealTo call.
 */
import { parentPort } from 'node:worker_threads';
import { SealTargets, type SealRequest } from './seal-targets.ts';

interface Batch {
  readonly batch: number;
  readonly jobs: readonly SealRequest[];
}

const targets = new SealTargets();
const port = parentPort;
if (port === null) throw new Error('seal-worker runs as a worker thread');
port.on('message', (m: Batch) => {
  port.postMessage({ batch: m.batch, results: m.jobs.map((j) => targets.reply(j)) });
});
