/** ECDH over P-256 (SEC 1 §3.3.1): the shared secret is the x-coordinate of d·Q, 32 bytes. */
import { diffieHellman, type KeyObject } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { isOneOf, ECDH_CURVES, type EcdhCurve } from './algorithms.ts';
import { u8 } from './internal.ts';
import { assertKey, generateKeyPair, type KeyPair } from './keys.ts';

/**
 * The raw ECDH shared secret. Both keys must be P-256; the peer key was validated (on the curve,
 * not the identity) when it was imported, which is the only way to obtain a KeyObject here.
 * The result is secret: feed it to HKDF at once and wipe it.
 */
export function ecdhSharedSecret(privateKey: KeyObject, peerPublicKey: KeyObject, curve: EcdhCurve = 'P-256'): Uint8Array {
  if (!isOneOf(ECDH_CURVES, curve)) throw new CityTrustError('CRYPTO_ALG_NOT_ALLOWED', 'ECDH curve is not on the allow-list');
  assertKey(privateKey, curve, 'private');
  assertKey(peerPublicKey, curve, 'public');
  try {
    return u8(diffieHellman({ privateKey, publicKey: peerPublicKey }));
  } catch (cause) {
    throw new CityTrustError('CRYPTO_KEY_INVALID', 'ECDH failed', { cause });
  }
}

/** A fresh P-256 key pair for one key agreement (tap sessions, ECDH-ES envelopes). */
export function generateEphemeralKeyPair(curve: EcdhCurve = 'P-256'): KeyPair {
  if (!isOneOf(ECDH_CURVES, curve)) throw new CityTrustError('CRYPTO_ALG_NOT_ALLOWED', 'ECDH curve is not on the allow-list');
  return generateKeyPair(curve);
}
