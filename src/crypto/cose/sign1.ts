/**
 * COSE_Sign1 (RFC 9052 §4.2): create through a signer (a vault key or a software key) and verify
 * against keys the caller trusts, each bound to exactly one algorithm.
 */
import type { KeyObject } from 'node:crypto';
import { CityTrustError } from '../../core/errors.ts';
import { createSignature, keyKindForAlgorithm, verifySignature } from '../signatures.ts';
import { assertKey } from '../keys.ts';
import { assertBytes } from '../internal.ts';
import { encodeCbor, type CborLimits } from '../cbor/codec.ts';
import { COSE_ALGORITHM_IDS, COSE_SIGN_ALGORITHMS, type CoseSignAlgorithm } from './algorithms.ts';
import { chooseAlgorithm, decodeHeaders, kidOf, requireAlgorithm, senderHeaders, type HeaderLabel, type HeaderMap } from './headers.ts';
import { COSE_TAG, decodeEnvelope, encodeEnvelope } from './message.ts';
import { sigStructure1 } from './structures.ts';
import { resolveKey, type KeyResolver } from './resolve.ts';

const EMPTY = new Uint8Array(0);

/** Produces raw signatures (r‖s for ECDSA, RFC 9053 §2.1) over the bytes it is given. May be a vault. */
export interface CoseSigner {
  readonly alg: CoseSignAlgorithm;
  sign(toBeSigned: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** A signer over a software private key (tests, devices without a secure element). */
export function keyObjectSigner(alg: CoseSignAlgorithm, privateKey: KeyObject): CoseSigner {
  requireAlgorithm(alg, COSE_SIGN_ALGORITHMS, COSE_SIGN_ALGORITHMS);
  assertKey(privateKey, keyKindForAlgorithm(alg), 'private');
  return { alg, sign: (tbs) => createSignature(alg, privateKey, tbs, 'raw') };
}

/** A public key a verifier trusts, bound to the one algorithm it may be used with. */
export interface CoseVerifierKey {
  readonly alg: CoseSignAlgorithm;
  readonly key: KeyObject;
  readonly kid?: Uint8Array;
}

/** Binds `publicKey` to `alg` after checking they fit (ES256 ↔ P-256, ES384 ↔ P-384, EdDSA ↔ Ed25519). */
export function coseVerifierKey(alg: CoseSignAlgorithm, publicKey: KeyObject, kid?: Uint8Array): CoseVerifierKey {
  requireAlgorithm(alg, COSE_SIGN_ALGORITHMS, COSE_SIGN_ALGORITHMS);
  assertKey(publicKey, keyKindForAlgorithm(alg), 'public');
  return Object.freeze({ alg, key: publicKey, ...(kid !== undefined && { kid }) });
}

export interface CreateSign1Options {
  /** The payload; with `detached`, it is signed but the message carries nil (RFC 9052 §2). */
  readonly payload: Uint8Array;
  readonly signer: CoseSigner;
  /** alg is added to the protected bucket from the signer; other parameters are the caller's. */
  readonly protectedHeaders?: HeaderMap;
  readonly unprotectedHeaders?: HeaderMap;
  readonly externalAad?: Uint8Array;
  readonly detached?: boolean;
  /** Write CBOR tag 18 (default true). */
  readonly tagged?: boolean;
}

export async function createCoseSign1(opts: CreateSign1Options): Promise<Uint8Array> {
  const alg = requireAlgorithm(opts.signer.alg, COSE_SIGN_ALGORITHMS, COSE_SIGN_ALGORITHMS);
  assertBytes('payload', opts.payload);
  const aad = opts.externalAad ?? EMPTY;
  assertBytes('externalAad', aad);
  const { protectedMap, unprotectedMap } = senderHeaders(COSE_ALGORITHM_IDS[alg], opts.protectedHeaders, opts.unprotectedHeaders, {});
  const protectedBytes = encodeCbor(protectedMap);
  const signature = await opts.signer.sign(sigStructure1(protectedBytes, aad, opts.payload));
  const expected = alg === 'ES384' ? 96 : 64;
  if (!(signature instanceof Uint8Array) || signature.length !== expected) {
    throw new CityTrustError('CRYPTO_SIGNATURE_ENCODING', `the signer returned no raw ${alg} signature`);
  }
  return encodeEnvelope(COSE_TAG.Sign1, [protectedBytes, unprotectedMap, opts.detached === true ? null : opts.payload, signature], opts.tagged !== false);
}

export interface VerifySign1Options {
  /** The trusted key, or a resolver that picks one by kid/alg (return undefined for "unknown"). */
  readonly key: CoseVerifierKey | KeyResolver<CoseVerifierKey>;
  /** Algorithms this verifier accepts; required, so no caller accepts all by accident. */
  readonly algorithms: readonly CoseSignAlgorithm[];
  readonly externalAad?: Uint8Array;
  /** The payload of a detached-payload message. */
  readonly detachedPayload?: Uint8Array;
  /** Accept alg from the unprotected bucket (default false, RFC 9052 §3.1). */
  readonly allowUnprotectedAlg?: boolean;
  readonly criticalHeaders?: readonly HeaderLabel[];
  readonly requireTag?: boolean;
  readonly limits?: CborLimits;
}

export interface VerifiedCoseMessage {
  readonly payload: Uint8Array;
  readonly kid: Uint8Array | undefined;
  readonly protectedHeaders: HeaderMap;
  readonly unprotectedHeaders: HeaderMap;
}

export interface VerifiedSign1 extends VerifiedCoseMessage {
  readonly alg: CoseSignAlgorithm;
}

/** Verify a COSE_Sign1; returns the payload only when the signature verifies under a trusted key. */
export function verifyCoseSign1(bytes: Uint8Array, opts: VerifySign1Options): VerifiedSign1 {
  const [prot, unprot, payloadRaw, signature] = decodeEnvelope(bytes, COSE_TAG.Sign1, 4, opts);
  const h = decodeHeaders(prot, unprot, opts);
  if (!(signature instanceof Uint8Array)) throw new CityTrustError('COSE_MALFORMED', 'signature must be a byte string');
  const payload = detachable(payloadRaw, opts.detachedPayload);
  const choice = chooseAlgorithm(h, opts.allowUnprotectedAlg === true);
  const alg = requireAlgorithm(choice.name, COSE_SIGN_ALGORITHMS, opts.algorithms);
  const kid = kidOf(h);
  const key = resolveKey(opts.key, { alg, kid, protectedHeaders: h.protected, unprotectedHeaders: h.unprotected });
  // The key decides the algorithm; the message may only agree with it (EdDSA ↔ ES256 swaps fail here).
  if (key.alg !== alg) throw new CityTrustError('COSE_ALG_KEY_MISMATCH', 'the message algorithm is not the one the key is bound to');
  const ok = verifySignature(alg, key.key, sigStructure1(h.protectedBytes, opts.externalAad ?? EMPTY, payload), signature, 'raw');
  if (!ok) throw new CityTrustError('COSE_SIGNATURE_INVALID', 'the COSE_Sign1 signature does not verify');
  return { payload, alg, kid, protectedHeaders: h.protected, unprotectedHeaders: h.unprotected };
}

/** The payload field: a byte string, or nil with the payload supplied out of band. */
export function detachable(payloadRaw: unknown, detached: Uint8Array | undefined): Uint8Array {
  if (payloadRaw instanceof Uint8Array) {
    if (detached !== undefined) throw new CityTrustError('COSE_MALFORMED', 'the message carries its payload; none may be supplied');
    return payloadRaw;
  }
  if (payloadRaw !== null) throw new CityTrustError('COSE_MALFORMED', 'payload must be a byte string or nil');
  if (detached === undefined) throw new CityTrustError('COSE_PAYLOAD_MISSING', 'the payload is detached and was not supplied');
  assertBytes('detachedPayload', detached);
  return detached;
}
