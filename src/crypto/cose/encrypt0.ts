/** COSE_Encrypt0 (RFC 9052 §5.2) with AES-GCM, and AES-CCM-16-64-128 on explicit opt-in. */
import { CityTrustError } from '../../core/errors.ts';
import { randomBytes } from '../aead.ts';
import { assertBytes } from '../internal.ts';
import { encodeCbor } from '../cbor/codec.ts';
import { CONTENT_ALG_PARAMS, COSE_ALGORITHM_IDS, COSE_CONTENT_ALGORITHMS, type CoseContentAlgorithm } from './algorithms.ts';
import { chooseAlgorithm, decodeHeaders, HEADER, kidOf, requireAlgorithm, senderHeaders, type HeaderMap } from './headers.ts';
import { COSE_TAG, decodeEnvelope, encodeEnvelope } from './message.ts';
import { encStructure } from './structures.ts';
import { resolveKey, type KeyResolver } from './resolve.ts';
import { ivFromPartial, openContent, receivedIv, sealContent, type CoseContentKey } from './content.ts';
import type { VerifySign1Options } from './sign1.ts';

const EMPTY = new Uint8Array(0);

export interface CreateEncrypt0Options {
  readonly plaintext: Uint8Array;
  readonly key: CoseContentKey;
  /**
   * The full IV to send (header 5). Default: fresh random bytes, which is what every caller
   * without a counter should use. Never reuse an IV under one key.
   */
  readonly iv?: Uint8Array;
  /** Send a Partial IV (header 6) instead, combined with the key's Base IV (e.g. a frame counter). */
  readonly partialIv?: Uint8Array;
  readonly protectedHeaders?: HeaderMap;
  readonly unprotectedHeaders?: HeaderMap;
  readonly externalAad?: Uint8Array;
  readonly tagged?: boolean;
}

export function createCoseEncrypt0(opts: CreateEncrypt0Options): Uint8Array {
  const { alg, key } = opts.key;
  requireAlgorithm(alg, COSE_CONTENT_ALGORITHMS, COSE_CONTENT_ALGORITHMS);
  assertBytes('plaintext', opts.plaintext);
  const aad = opts.externalAad ?? EMPTY;
  assertBytes('externalAad', aad);
  const unprotected = new Map(opts.unprotectedHeaders ?? []);
  if (unprotected.has(HEADER.iv) || unprotected.has(HEADER.partialIv)) {
    throw new CityTrustError('COSE_HEADER_INVALID', 'pass the IV as the iv or partialIv option');
  }
  let iv: Uint8Array;
  if (opts.partialIv !== undefined) {
    if (opts.iv !== undefined) throw new CityTrustError('COSE_HEADER_INVALID', 'IV and Partial IV must not both be present');
    if (opts.key.baseIv === undefined) throw new CityTrustError('COSE_HEADER_INVALID', 'a Partial IV needs a key with a Base IV');
    assertBytes('partialIv', opts.partialIv);
    iv = ivFromPartial(opts.key.baseIv, opts.partialIv);
    unprotected.set(HEADER.partialIv, opts.partialIv);
  } else {
    iv = opts.iv ?? randomBytes(CONTENT_ALG_PARAMS[alg].nonceLength);
    assertBytes('iv', iv);
    if (iv.length !== CONTENT_ALG_PARAMS[alg].nonceLength) {
      throw new CityTrustError('CRYPTO_IV_LENGTH', `${alg} takes a ${CONTENT_ALG_PARAMS[alg].nonceLength}-byte IV`);
    }
    unprotected.set(HEADER.iv, iv);
  }
  const { protectedMap, unprotectedMap } = senderHeaders(COSE_ALGORITHM_IDS[alg], opts.protectedHeaders, unprotected, {});
  const protectedBytes = encodeCbor(protectedMap);
  const ciphertext = sealContent(alg, key, iv, opts.plaintext, encStructure('Encrypt0', protectedBytes, aad));
  return encodeEnvelope(COSE_TAG.Encrypt0, [protectedBytes, unprotectedMap, ciphertext], opts.tagged !== false);
}

export interface DecryptEncrypt0Options extends Omit<VerifySign1Options, 'key' | 'algorithms' | 'detachedPayload'> {
  readonly key: CoseContentKey | KeyResolver<CoseContentKey>;
  /** Content algorithms accepted. AES-CCM-16-64-128 is accepted only when listed here. */
  readonly algorithms: readonly CoseContentAlgorithm[];
  /** Context IV for Partial-IV messages; defaults to the key's Base IV. */
  readonly baseIv?: Uint8Array;
}

export interface DecryptedCose {
  readonly plaintext: Uint8Array;
  readonly alg: CoseContentAlgorithm;
  readonly kid: Uint8Array | undefined;
  readonly protectedHeaders: HeaderMap;
  readonly unprotectedHeaders: HeaderMap;
}

export function decryptCoseEncrypt0(bytes: Uint8Array, opts: DecryptEncrypt0Options): DecryptedCose {
  const [prot, unprot, ciphertext] = decodeEnvelope(bytes, COSE_TAG.Encrypt0, 3, opts);
  const h = decodeHeaders(prot, unprot, opts);
  // A nil ciphertext (detached content) is not supported: nothing we exchange is detached.
  if (!(ciphertext instanceof Uint8Array)) throw new CityTrustError('COSE_MALFORMED', 'ciphertext must be a byte string');
  const alg = requireAlgorithm(chooseAlgorithm(h, opts.allowUnprotectedAlg === true).name, COSE_CONTENT_ALGORITHMS, opts.algorithms);
  const kid = kidOf(h);
  const key = resolveKey(opts.key, { alg, kid, protectedHeaders: h.protected, unprotectedHeaders: h.unprotected });
  if (key.alg !== alg) throw new CityTrustError('COSE_ALG_KEY_MISMATCH', 'the message algorithm is not the one the key is bound to');
  const iv = receivedIv(h, alg, opts.baseIv ?? key.baseIv);
  const plaintext = openContent(alg, key.key, iv, ciphertext, encStructure('Encrypt0', h.protectedBytes, opts.externalAad ?? EMPTY));
  return { plaintext, alg, kid, protectedHeaders: h.protected, unprotectedHeaders: h.unprotected };
}
