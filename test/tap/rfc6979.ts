/**
 * Deterministic ECDSA P-256/SHA-256 (RFC 6979 §3.2), for the tap test vector only: node's ECDSA
 * draws k at random, so a vector with fixed bytes needs signatures that are a function of key and
 * message. k·G is computed by node (the public key of k as a private scalar); only the modular
 * arithmetic is here. Checked against RFC 6979 A.2.5 by test/tap/vector.test.ts.
 */
import { createHash, createHmac } from 'node:crypto';
import { exportRawPublicKey, importRawPrivateKey, publicKeyOf, type CoseSigner } from '../../src/crypto/index.ts';

export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

export function toBig(b: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
}

export function to32(x: bigint): Uint8Array {
  return new Uint8Array(Buffer.from(x.toString(16).padStart(64, '0'), 'hex'));
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [((a % m) + m) % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}

const hmac = (k: Uint8Array, ...parts: Uint8Array[]): Uint8Array => {
  const h = createHmac('sha256', k);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** RFC 6979 §3.2 with qlen = hlen = 256: the nonce k for private scalar x and message hash h1. */
export function rfc6979Nonce(x: bigint, h1: Uint8Array): bigint {
  const xo = to32(x);
  const ho = to32(toBig(h1) % P256_N);
  let v: Uint8Array = new Uint8Array(32).fill(1);
  let k: Uint8Array = new Uint8Array(32);
  k = hmac(k, v, Uint8Array.of(0), xo, ho);
  v = hmac(k, v);
  k = hmac(k, v, Uint8Array.of(1), xo, ho);
  v = hmac(k, v);
  for (;;) {
    v = hmac(k, v);
    const t = toBig(v);
    if (t >= 1n && t < P256_N) return t;
    k = hmac(k, v, Uint8Array.of(0));
    v = hmac(k, v);
  }
}

/** ES256 signature r ‖ s over `message` with private scalar x, deterministic. */
export function deterministicSign(x: bigint, message: Uint8Array): Uint8Array {
  const h1 = new Uint8Array(createHash('sha256').update(message).digest());
  const k = rfc6979Nonce(x, h1);
  const point = exportRawPublicKey(publicKeyOf(importRawPrivateKey('P-256', to32(k))));
  const r = toBig(point.subarray(1, 33)) % P256_N;
  const s = (modInverse(k, P256_N) * (toBig(h1) + x * r)) % P256_N;
  return new Uint8Array([...to32(r), ...to32(s)]);
}

/** A CoseSigner (ES256) whose signatures are reproducible. */
export function deterministicSigner(x: bigint): CoseSigner {
  return { alg: 'ES256', sign: (tbs) => deterministicSign(x, tbs) };
}

/** A private scalar in [1, n−1] from a label: SHA-256("citytrust tap vector: " ‖ label) mod (n−1) + 1. */
export function scalarFromLabel(label: string): bigint {
  return (toBig(new Uint8Array(createHash('sha256').update(`citytrust tap vector: ${label}`).digest())) % (P256_N - 1n)) + 1n;
}
