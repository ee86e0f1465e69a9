/** COSE_Mac0 (RFC 9052 §6.2) with HMAC 256/256 and HMAC 256/64 (RFC 9053 §3.1). */
import type { KeyObject } from 'node:crypto';
import { CityTrustError } from '../../core/errors.ts';
import { hmacSha256, secretKey, secretKeyLength, verifyHmacSha256, type SecretKeyInput } from '../hash.ts';
import { assertBytes } from '../internal.ts';
import { HMAC_SHA256_MIN_KEY_LENGTH } from '../algorithms.ts';
import { encodeCbor } from '../cbor/codec.ts';
import { COSE_ALGORITHM_IDS, COSE_MAC_ALGORITHMS, type CoseMacAlgorithm } from './algorithms.ts';
import { chooseAlgorithm, decodeHeaders, kidOf, requireAlgorithm, senderHeaders, type HeaderMap } from './headers.ts';
import { COSE_TAG, decodeEnvelope, encodeEnvelope } from './message.ts';
import { macStructure } from './structures.ts';
import { resolveKey, type KeyResolver } from './resolve.ts';
import { detachable, type VerifiedCoseMessage, type VerifySign1Options } from './sign1.ts';

const EMPTY = new Uint8Array(0);
const TAG_LENGTH: Readonly<Record<CoseMacAlgorithm, 32 | 8>> = { HS256: 32, 'HS256/64': 8 };

/**
 * A MAC key bound to one algorithm. The binding is what stops a forger from relabelling an HS256
 * message as HS256/64 and attacking a 64-bit tag instead of a 256-bit one.
 */
export interface CoseMacKey {
  readonly alg: CoseMacAlgorithm;
  readonly key: KeyObject;
  readonly kid?: Uint8Array;
}

/** Wraps the key once (KeyObject) and checks its size: at least 256 bits (RFC 9053 §3.1). */
export function coseMacKey(alg: CoseMacAlgorithm, key: SecretKeyInput, kid?: Uint8Array): CoseMacKey {
  requireAlgorithm(alg, COSE_MAC_ALGORITHMS, COSE_MAC_ALGORITHMS);
  if (secretKeyLength(key) < HMAC_SHA256_MIN_KEY_LENGTH) {
    throw new CityTrustError('CRYPTO_KEY_SIZE_UNSUPPORTED', `an HMAC key has at least ${HMAC_SHA256_MIN_KEY_LENGTH} bytes`);
  }
  const ko = key instanceof Uint8Array ? secretKey(key) : key;
  return Object.freeze({ alg, key: ko, ...(kid !== undefined && { kid }) });
}

export interface CreateMac0Options {
  readonly payload: Uint8Array;
  readonly key: CoseMacKey;
  readonly protectedHeaders?: HeaderMap;
  readonly unprotectedHeaders?: HeaderMap;
  readonly externalAad?: Uint8Array;
  readonly detached?: boolean;
  readonly tagged?: boolean;
}

export function createCoseMac0(opts: CreateMac0Options): Uint8Array {
  const alg = requireAlgorithm(opts.key.alg, COSE_MAC_ALGORITHMS, COSE_MAC_ALGORITHMS);
  assertBytes('payload', opts.payload);
  const aad = opts.externalAad ?? EMPTY;
  assertBytes('externalAad', aad);
  const { protectedMap, unprotectedMap } = senderHeaders(COSE_ALGORITHM_IDS[alg], opts.protectedHeaders, opts.unprotectedHeaders, {});
  const protectedBytes = encodeCbor(protectedMap);
  const tag = hmacSha256(opts.key.key, macStructure('MAC0', protectedBytes, aad, opts.payload)).slice(0, TAG_LENGTH[alg]);
  return encodeEnvelope(COSE_TAG.Mac0, [protectedBytes, unprotectedMap, opts.detached === true ? null : opts.payload, tag], opts.tagged !== false);
}

export interface VerifyMac0Options extends Omit<VerifySign1Options, 'key' | 'algorithms'> {
  readonly key: CoseMacKey | KeyResolver<CoseMacKey>;
  readonly algorithms: readonly CoseMacAlgorithm[];
}

export interface VerifiedMac0 extends VerifiedCoseMessage {
  readonly alg: CoseMacAlgorithm;
}

export function verifyCoseMac0(bytes: Uint8Array, opts: VerifyMac0Options): VerifiedMac0 {
  const [prot, unprot, payloadRaw, tag] = decodeEnvelope(bytes, COSE_TAG.Mac0, 4, opts);
  const h = decodeHeaders(prot, unprot, opts);
  if (!(tag instanceof Uint8Array)) throw new CityTrustError('COSE_MALFORMED', 'tag must be a byte string');
  const payload = detachable(payloadRaw, opts.detachedPayload);
  const alg = requireAlgorithm(chooseAlgorithm(h, opts.allowUnprotectedAlg === true).name, COSE_MAC_ALGORITHMS, opts.algorithms);
  const kid = kidOf(h);
  const key = resolveKey(opts.key, { alg, kid, protectedHeaders: h.protected, unprotectedHeaders: h.unprotected });
  if (key.alg !== alg) throw new CityTrustError('COSE_ALG_KEY_MISMATCH', 'the message algorithm is not the one the key is bound to');
  // A tag of the wrong length is a wrong tag; it is not compared as a prefix.
  const ok =
    tag.length === TAG_LENGTH[alg] &&
    verifyHmacSha256(key.key, macStructure('MAC0', h.protectedBytes, opts.externalAad ?? EMPTY, payload), tag, TAG_LENGTH[alg]);
  if (!ok) throw new CityTrustError('COSE_MAC_INVALID', 'the COSE_Mac0 tag does not verify');
  return { payload, alg, kid, protectedHeaders: h.protected, unprotectedHeaders: h.unprotected };
}
