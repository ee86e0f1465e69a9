/**
 * ECDSA (P-256/SHA-256, P-384/SHA-384) and Ed25519 signatures over node:crypto.
 *
 * ECDSA signatures come in two encodings: raw r‖s (IEEE P1363, what COSE and JOSE carry,
 * RFC 9053 §2.1) and DER (X.509, CMS, TLS). Verification in DER first converts with a strict
 * parser and then verifies the raw form, so BER leniencies of the underlying library never
 * decide what we accept.
 */
import { sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { isOneOf, SIGNATURE_ALGORITHMS, type KeyKind, type SignatureAlgorithm } from './algorithms.ts';
import { assertBytes, u8 } from './internal.ts';
import { assertKey, ecFieldSize } from './keys.ts';

export type SignatureEncoding = 'raw' | 'der';

interface AlgInfo {
  readonly kind: KeyKind;
  /** node's digest name; null for Ed25519, which hashes internally (RFC 8032 §5.1.6). */
  readonly hash: 'sha256' | 'sha384' | null;
  readonly rawLength: number;
}

const ALGS: Readonly<Record<SignatureAlgorithm, AlgInfo>> = {
  ES256: { kind: 'P-256', hash: 'sha256', rawLength: 64 },
  ES384: { kind: 'P-384', hash: 'sha384', rawLength: 96 },
  EdDSA: { kind: 'Ed25519', hash: null, rawLength: 64 },
};

function algInfo(alg: SignatureAlgorithm): AlgInfo {
  if (!isOneOf(SIGNATURE_ALGORITHMS, alg)) throw new CityTrustError('CRYPTO_ALG_NOT_ALLOWED', 'signature algorithm is not on the allow-list');
  return ALGS[alg];
}

/** The key kind a signature algorithm is bound to (ES256 ↔ P-256, ES384 ↔ P-384, EdDSA ↔ Ed25519). */
export function keyKindForAlgorithm(alg: SignatureAlgorithm): KeyKind {
  return algInfo(alg).kind;
}

function assertEncoding(alg: SignatureAlgorithm, encoding: SignatureEncoding): void {
  if (encoding !== 'raw' && (encoding !== 'der' || alg === 'EdDSA')) {
    throw new CityTrustError('CRYPTO_INPUT_INVALID', `signature encoding ${String(encoding)} does not apply to ${alg}`);
  }
}

/** Sign `data`. ECDSA nonces come from OpenSSL's CSPRNG; Ed25519 is deterministic. */
export function createSignature(alg: SignatureAlgorithm, privateKey: KeyObject, data: Uint8Array, encoding: SignatureEncoding = 'raw'): Uint8Array {
  const info = algInfo(alg);
  assertEncoding(alg, encoding);
  assertKey(privateKey, info.kind, 'private');
  assertBytes('data', data);
  if (info.hash === null) return u8(nodeSign(null, data, privateKey));
  // The KeyObject itself, not an options object, and node's default DER: on Node 24 both the
  // options form and dsaEncoding 'ieee-p1363' add tens of microseconds per call.
  const der = u8(nodeSign(info.hash, data, privateKey));
  return encoding === 'raw' ? ecdsaDerToRaw(der, info.kind as 'P-256' | 'P-384') : der;
}

/**
 * Verify a signature. Returns false for any signature that is wrong or malformed (an attacker
 * controls it); throws only for a wrong key, algorithm or encoding choice, which are caller bugs.
 */
export function verifySignature(
  alg: SignatureAlgorithm,
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
  encoding: SignatureEncoding = 'raw',
): boolean {
  const info = algInfo(alg);
  assertEncoding(alg, encoding);
  assertKey(publicKey, info.kind, 'public');
  assertBytes('data', data);
  assertBytes('signature', signature);
  let raw = signature;
  if (encoding === 'der') {
    try {
      raw = ecdsaDerToRaw(signature, info.kind as 'P-256' | 'P-384');
    } catch {
      return false;
    }
  }
  if (raw.length !== info.rawLength) return false;
  try {
    // ECDSA: raw r‖s re-encoded as minimal DER and verified on the KeyObject itself (see createSignature).
    return info.hash === null
      ? nodeVerify(null, data, publicKey, raw)
      : nodeVerify(info.hash, data, publicKey, ecdsaRawToDer(raw, info.kind as 'P-256' | 'P-384'));
  } catch {
    return false;
  }
}

function encodingError(msg: string): CityTrustError {
  return new CityTrustError('CRYPTO_SIGNATURE_ENCODING', msg);
}

/**
 * Strict DER ECDSA-Sig-Value (RFC 3279 §2.2.3, X.690 §8.3 and §10.1) to raw r‖s.
 * Refuses long-form lengths (never minimal at these sizes), negative or non-minimal integers,
 * integers wider than the curve, and any trailing byte.
 */
export function ecdsaDerToRaw(der: Uint8Array, curve: 'P-256' | 'P-384'): Uint8Array {
  assertBytes('signature', der);
  const size = ecFieldSize(curve);
  if (der.length < 8 || der[0] !== 0x30) throw encodingError('not a DER SEQUENCE');
  const seqLen = der[1] as number;
  // The largest signature (two (size+1)-byte integers) stays below 128 bytes, so a minimal
  // DER length is always the short form.
  if (seqLen >= 0x80 || seqLen !== der.length - 2) throw encodingError('SEQUENCE length is not minimal or does not match');
  const out = new Uint8Array(2 * size);
  let pos = 2;
  for (let i = 0; i < 2; i++) {
    if (der[pos] !== 0x02) throw encodingError('expected an INTEGER');
    const len = der[pos + 1] as number;
    pos += 2;
    if (len === 0 || len >= 0x80 || pos + len > der.length) throw encodingError('INTEGER length is invalid');
    const first = der[pos] as number;
    if (first & 0x80) throw encodingError('INTEGER is negative');
    if (first === 0x00 && len > 1 && ((der[pos + 1] as number) & 0x80) === 0) throw encodingError('INTEGER is not minimally encoded');
    let start = pos;
    let n = len;
    if (first === 0x00 && len > 1) {
      start++;
      n--;
    }
    if (n > size) throw encodingError('INTEGER is wider than the curve order');
    out.set(der.subarray(start, start + n), i * size + (size - n));
    pos += len;
  }
  if (pos !== der.length) throw encodingError('trailing bytes after the signature');
  return out;
}

/** Raw r‖s of the curve's size to minimal DER. */
export function ecdsaRawToDer(raw: Uint8Array, curve: 'P-256' | 'P-384'): Uint8Array {
  assertBytes('signature', raw);
  const size = ecFieldSize(curve);
  if (raw.length !== 2 * size) throw encodingError(`a raw ${curve} signature is ${2 * size} bytes`);
  const ints = [derInteger(raw.subarray(0, size)), derInteger(raw.subarray(size))] as const;
  const body = ints[0].length + ints[1].length;
  const out = new Uint8Array(2 + body);
  out[0] = 0x30;
  out[1] = body;
  out.set(ints[0], 2);
  out.set(ints[1], 2 + ints[0].length);
  return out;
}

function derInteger(v: Uint8Array): Uint8Array {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  const digits = v.subarray(i);
  const pad = ((digits[0] as number) & 0x80) !== 0 ? 1 : 0;
  const out = new Uint8Array(2 + pad + digits.length);
  out[0] = 0x02;
  out[1] = pad + digits.length;
  out.set(digits, 2 + pad);
  return out;
}
