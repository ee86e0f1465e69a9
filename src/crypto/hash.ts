/** SHA-2 digests, HMAC-SHA256 and HKDF-SHA256 over node:crypto. */
import { createHash, createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { constantTimeEqual } from '../core/bytes.ts';
import {
  HASH_ALGORITHMS,
  HKDF_SHA256_MAX_LENGTH,
  HMAC_SHA256_MIN_KEY_LENGTH,
  HMAC_SHA256_TAG_LENGTHS,
  isOneOf,
  type HashAlgorithm,
  type HmacTagLength,
} from './algorithms.ts';
import { assertBytes, u8 } from './internal.ts';

const HKDF_INFO_MAX_LENGTH = 1024;

const NODE_HASH: Readonly<Record<HashAlgorithm, string>> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384' };

export function digest(alg: HashAlgorithm, data: Uint8Array): Uint8Array {
  if (!isOneOf(HASH_ALGORITHMS, alg)) throw new CityTrustError('CRYPTO_ALG_NOT_ALLOWED', 'hash algorithm is not on the allow-list');
  assertBytes('data', data);
  return u8(createHash(NODE_HASH[alg]).update(data).digest());
}

export function sha256(data: Uint8Array): Uint8Array {
  return digest('SHA-256', data);
}

export function sha384(data: Uint8Array): Uint8Array {
  return digest('SHA-384', data);
}

/** Wrap secret bytes in a KeyObject once, for keys used on hot paths (HMAC, AES-GCM). */
export function secretKey(bytes: Uint8Array): KeyObject {
  assertBytes('secret key', bytes);
  if (bytes.length === 0) throw new CityTrustError('CRYPTO_KEY_SIZE_UNSUPPORTED', 'a secret key is not empty');
  return createSecretKey(bytes);
}

export type SecretKeyInput = Uint8Array | KeyObject;

/** Length in bytes of a secret key given as bytes or as a secret KeyObject. */
export function secretKeyLength(key: SecretKeyInput): number {
  if (key instanceof Uint8Array) return key.length;
  if (key !== null && typeof key === 'object' && key.type === 'secret' && typeof key.symmetricKeySize === 'number') {
    return key.symmetricKeySize;
  }
  throw new CityTrustError('CRYPTO_KEY_INVALID', 'expected secret key bytes or a secret KeyObject');
}

function hmacKey(key: SecretKeyInput): SecretKeyInput {
  if (secretKeyLength(key) < HMAC_SHA256_MIN_KEY_LENGTH) {
    throw new CityTrustError('CRYPTO_KEY_SIZE_UNSUPPORTED', `an HMAC-SHA256 key has at least ${HMAC_SHA256_MIN_KEY_LENGTH} bytes`);
  }
  return key;
}

/** HMAC-SHA256 (RFC 2104) with a key of at least 32 bytes; returns the full 32-byte tag. */
export function hmacSha256(key: SecretKeyInput, data: Uint8Array): Uint8Array {
  assertBytes('data', data);
  return u8(createHmac('sha256', hmacKey(key)).update(data).digest());
}

/**
 * Verify an HMAC-SHA256 tag in constant time. `tagLength` is 32 (full) or 8 (COSE HMAC 256/64);
 * a tag of any other length than the one the caller fixed is refused with CRYPTO_MAC_LENGTH,
 * never compared as a prefix.
 */
export function verifyHmacSha256(key: SecretKeyInput, data: Uint8Array, tag: Uint8Array, tagLength: HmacTagLength = 32): boolean {
  if (!isOneOf(HMAC_SHA256_TAG_LENGTHS, tagLength)) throw new CityTrustError('CRYPTO_MAC_LENGTH', 'HMAC tag length is not on the allow-list');
  assertBytes('tag', tag);
  if (tag.length !== tagLength) throw new CityTrustError('CRYPTO_MAC_LENGTH', `expected a ${tagLength}-byte HMAC tag`);
  const full = hmacSha256(key, data);
  return constantTimeEqual(full.subarray(0, tagLength), tag);
}

/** HKDF-SHA256 (RFC 5869): extract with `salt` (empty means HashLen zeros, §2.2), expand to `length` bytes. */
export function hkdfSha256(ikm: SecretKeyInput, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  assertBytes('salt', salt);
  assertBytes('info', info);
  if (!(ikm instanceof Uint8Array)) secretKeyLength(ikm);
  // node:crypto caps info at 1024 bytes; every context this platform builds is far shorter.
  if (info.length > HKDF_INFO_MAX_LENGTH) throw new CityTrustError('CRYPTO_INPUT_INVALID', `HKDF info is at most ${HKDF_INFO_MAX_LENGTH} bytes`);
  if (!Number.isInteger(length) || length < 1 || length > HKDF_SHA256_MAX_LENGTH) {
    throw new CityTrustError('CRYPTO_HKDF_LENGTH', `HKDF-SHA256 output is 1 to ${HKDF_SHA256_MAX_LENGTH} bytes`);
  }
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}
