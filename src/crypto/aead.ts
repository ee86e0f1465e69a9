/**
 * AES-GCM (NIST SP 800-38D) with a 96-bit IV and a full 128-bit tag, sealed as ciphertext ‖ tag
 * (the layout of RFC 5116 §5.1 and of COSE, RFC 9053 §4.1). Each way a sealed box can be wrong
 * has its own code: a wrong-length key or IV is a caller bug, a box shorter than its tag was cut
 * in transit, and a tag mismatch means the wrong key/IV/AAD or tampering.
 */
import { createCipheriv, createDecipheriv, randomBytes as nodeRandomBytes, type CipherGCMTypes } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { concatBytes } from '../core/bytes.ts';
import { AES_GCM_IV_LENGTH, AES_GCM_KEY_LENGTHS, AES_GCM_TAG_LENGTH, isOneOf } from './algorithms.ts';
import { assertBytes, u8 } from './internal.ts';
import { secretKeyLength, type SecretKeyInput } from './hash.ts';

const EMPTY = new Uint8Array(0);

function gcmCipher(key: SecretKeyInput): CipherGCMTypes {
  const len = secretKeyLength(key);
  if (!isOneOf(AES_GCM_KEY_LENGTHS, len)) throw new CityTrustError('CRYPTO_KEY_SIZE_UNSUPPORTED', 'AES-GCM keys are 128 or 256 bits');
  return len === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
}

function checkIv(iv: Uint8Array): void {
  assertBytes('iv', iv);
  if (iv.length !== AES_GCM_IV_LENGTH) throw new CityTrustError('CRYPTO_IV_LENGTH', `AES-GCM takes a ${AES_GCM_IV_LENGTH}-byte IV`);
}

/**
 * Encrypt and authenticate. The caller owns IV uniqueness: never reuse an IV with the same key
 * (use `randomBytes(12)` or a counter that never repeats, as the tap protocol does).
 */
export function aesGcmSeal(key: SecretKeyInput, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  const name = gcmCipher(key);
  checkIv(iv);
  assertBytes('plaintext', plaintext);
  assertBytes('aad', aad);
  const c = createCipheriv(name, key, iv, { authTagLength: AES_GCM_TAG_LENGTH });
  c.setAAD(aad);
  return concatBytes(c.update(plaintext), c.final(), c.getAuthTag());
}

/** Verify and decrypt ciphertext ‖ tag. Nothing is returned unless the tag verifies. */
export function aesGcmOpen(key: SecretKeyInput, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  const name = gcmCipher(key);
  checkIv(iv);
  assertBytes('sealed', sealed);
  assertBytes('aad', aad);
  if (sealed.length < AES_GCM_TAG_LENGTH) {
    throw new CityTrustError('CRYPTO_AEAD_TRUNCATED', `sealed data is shorter than the ${AES_GCM_TAG_LENGTH}-byte tag`);
  }
  const split = sealed.length - AES_GCM_TAG_LENGTH;
  const d = createDecipheriv(name, key, iv, { authTagLength: AES_GCM_TAG_LENGTH });
  d.setAuthTag(sealed.subarray(split));
  d.setAAD(aad);
  const body = d.update(sealed.subarray(0, split));
  try {
    return concatBytes(body, d.final());
  } catch (cause) {
    body.fill(0);
    throw new CityTrustError('CRYPTO_AEAD_AUTH_FAILED', 'AES-GCM authentication failed', { cause });
  }
}

/**
 * AES-CCM as COSE's AES-CCM-16-64-128 (RFC 9053 §4.2: L = 16 bits, so a 13-byte nonce, and an
 * 8-byte tag). Internal: exists so the RFC 8392 CWT examples A.5/A.6 can be opened; it is not on
 * the general allow-list and COSE accepts it only when a verifier lists it explicitly.
 */
export function aesCcm16_64_128(mode: 'seal' | 'open', key: SecretKeyInput, nonce: Uint8Array, data: Uint8Array, aad: Uint8Array): Uint8Array {
  if (secretKeyLength(key) !== 16) throw new CityTrustError('CRYPTO_KEY_SIZE_UNSUPPORTED', 'AES-CCM-16-64-128 takes a 128-bit key');
  assertBytes('nonce', nonce);
  if (nonce.length !== 13) throw new CityTrustError('CRYPTO_IV_LENGTH', 'AES-CCM-16-64-128 takes a 13-byte nonce');
  // L = 2 bytes of length field bounds the message (RFC 3610 §2).
  if (data.length > 0xffff + 8) throw new CityTrustError('CRYPTO_INPUT_INVALID', 'AES-CCM-16 messages are shorter than 64 KiB');
  if (mode === 'seal') {
    const c = createCipheriv('aes-128-ccm', key, nonce, { authTagLength: 8 });
    c.setAAD(aad, { plaintextLength: data.length });
    return concatBytes(c.update(data), c.final(), c.getAuthTag());
  }
  if (data.length < 8) throw new CityTrustError('CRYPTO_AEAD_TRUNCATED', 'sealed data is shorter than the 8-byte tag');
  const split = data.length - 8;
  const d = createDecipheriv('aes-128-ccm', key, nonce, { authTagLength: 8 });
  d.setAuthTag(data.subarray(split));
  d.setAAD(aad, { plaintextLength: split });
  // CCM verifies inside update(): a wrong tag surfaces as a throw there, not from final().
  let body: Uint8Array;
  try {
    body = d.update(data.subarray(0, split));
    d.final();
  } catch (cause) {
    throw new CityTrustError('CRYPTO_AEAD_AUTH_FAILED', 'AES-CCM authentication failed', { cause });
  }
  return u8(body);
}

/** Bytes from the OS CSPRNG (for IVs, nonces, salts). */
export function randomBytes(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 65536) throw new CityTrustError('CRYPTO_INPUT_INVALID', 'random length out of range');
  return u8(nodeRandomBytes(length));
}
