/** Content encryption shared by COSE_Encrypt0 and COSE_Encrypt (RFC 9053 §4), and IV handling (RFC 9052 §3.1). */
import type { KeyObject } from 'node:crypto';
import { CityTrustError, isCityTrustError } from '../../core/errors.ts';
import { aesCcm16_64_128, aesGcmOpen, aesGcmSeal } from '../aead.ts';
import { secretKey, secretKeyLength, type SecretKeyInput } from '../hash.ts';
import { CONTENT_ALG_PARAMS, COSE_CONTENT_ALGORITHMS, type CoseContentAlgorithm } from './algorithms.ts';
import { HEADER, header, requireAlgorithm, type DecodedHeaders } from './headers.ts';

/** A content-encryption key bound to one algorithm. */
export interface CoseContentKey {
  readonly alg: CoseContentAlgorithm;
  readonly key: KeyObject;
  readonly kid?: Uint8Array;
  /** Context IV for messages that carry only a Partial IV (RFC 9052 §3.1). */
  readonly baseIv?: Uint8Array;
}

export function coseContentKey(alg: CoseContentAlgorithm, key: SecretKeyInput, opts: { kid?: Uint8Array; baseIv?: Uint8Array } = {}): CoseContentKey {
  requireAlgorithm(alg, COSE_CONTENT_ALGORITHMS, COSE_CONTENT_ALGORITHMS);
  if (secretKeyLength(key) !== CONTENT_ALG_PARAMS[alg].keyLength) {
    throw new CityTrustError('CRYPTO_KEY_SIZE_UNSUPPORTED', `${alg} takes a ${CONTENT_ALG_PARAMS[alg].keyLength * 8}-bit key`);
  }
  if (opts.baseIv !== undefined && (!(opts.baseIv instanceof Uint8Array) || opts.baseIv.length !== CONTENT_ALG_PARAMS[alg].nonceLength)) {
    throw new CityTrustError('CRYPTO_IV_LENGTH', `a ${alg} Base IV is ${CONTENT_ALG_PARAMS[alg].nonceLength} bytes`);
  }
  return Object.freeze({
    alg,
    key: key instanceof Uint8Array ? secretKey(key) : key,
    ...(opts.kid !== undefined && { kid: opts.kid }),
    ...(opts.baseIv !== undefined && { baseIv: opts.baseIv }),
  });
}

export function sealContent(alg: CoseContentAlgorithm, key: SecretKeyInput, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  return alg === 'AES-CCM-16-64-128' ? aesCcm16_64_128('seal', key, iv, plaintext, aad) : aesGcmSeal(key, iv, plaintext, aad);
}

/** Opens content; an authentication failure or a cut ciphertext becomes COSE_DECRYPT_FAILED. */
export function openContent(alg: CoseContentAlgorithm, key: SecretKeyInput, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array {
  try {
    return alg === 'AES-CCM-16-64-128' ? aesCcm16_64_128('open', key, iv, ciphertext, aad) : aesGcmOpen(key, iv, ciphertext, aad);
  } catch (e) {
    if (isCityTrustError(e, 'CRYPTO_AEAD_AUTH_FAILED') || isCityTrustError(e, 'CRYPTO_AEAD_TRUNCATED')) {
      throw new CityTrustError('COSE_DECRYPT_FAILED', 'the COSE ciphertext does not authenticate', { cause: e });
    }
    throw e;
  }
}

/** IV = Base IV XOR Partial IV left-padded with zeros to the Base IV's length (RFC 9052 §3.1). */
export function ivFromPartial(baseIv: Uint8Array, partialIv: Uint8Array): Uint8Array {
  if (partialIv.length > baseIv.length) throw new CityTrustError('COSE_HEADER_INVALID', 'Partial IV is longer than the IV');
  const iv = Uint8Array.from(baseIv);
  const off = baseIv.length - partialIv.length;
  for (let i = 0; i < partialIv.length; i++) iv[off + i] = (iv[off + i] as number) ^ (partialIv[i] as number);
  return iv;
}

/** The nonce a received message asks for: its IV, or its Partial IV combined with the context IV. */
export function receivedIv(h: DecodedHeaders, alg: CoseContentAlgorithm, baseIv: Uint8Array | undefined): Uint8Array {
  const len = CONTENT_ALG_PARAMS[alg].nonceLength;
  const iv = header(h, HEADER.iv) as Uint8Array | undefined;
  const partial = header(h, HEADER.partialIv) as Uint8Array | undefined;
  let out: Uint8Array;
  if (iv !== undefined) out = iv;
  else if (partial !== undefined) {
    if (baseIv === undefined) throw new CityTrustError('COSE_HEADER_INVALID', 'a Partial IV needs a context (Base) IV');
    out = ivFromPartial(baseIv, partial);
  } else throw new CityTrustError('COSE_HEADER_INVALID', 'the message carries no IV');
  if (out.length !== len) throw new CityTrustError('COSE_HEADER_INVALID', `${alg} takes a ${len}-byte IV`);
  return out;
}
