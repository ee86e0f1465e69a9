/**
 * The cryptography of meter frames, shared by the meter and the head-end (docs/meter-frames.md):
 * DLMS/COSEM security suite 1 — ECDH P-256, ECDSA P-256 with SHA-256, AES-128-GCM — with two
 * documented deviations: HKDF-SHA256 (RFC 5869) instead of the NIST SP 800-56A concatenation
 * KDF, because the vault's `deriveKey` is ECDH + HKDF; and full 16-byte GCM tags instead of
 * DLMS's 12, because the frames are signed anyway (4 bytes buy nothing worth a truncated tag,
 * SP 800-38D Appendix C) and the crypto layer allows only full tags.
 *
 * Key agreement is DLMS's one-pass Diffie-Hellman C(1e, 1s) (IEC 62056-5-3 §9.2.3.4.6.3): the
 * meter makes an ephemeral key, agrees with the head-end's static key-agreement key, signs the
 * ephemeral public key with its certified identity key and forgets the ephemeral private key.
 * The meter's certificate allows digitalSignature only, so the identity key never does ECDH.
 */
import type { KeyObject } from 'node:crypto';
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { concatBytes, utf8, wipe } from '../core/bytes.ts';
import { aesGcmOpen, aesGcmSeal, createSignature, ecdhSharedSecret, hkdfSha256, secretKey, sha256, verifySignature } from '../crypto/index.ts';
import {
  COMMAND_KEY_ID_LENGTH,
  KEY_ID_LENGTH,
  SC_ENCRYPTED,
  SC_SIGNED,
  SIGNATURE_LENGTH,
  SYSTEM_TITLE_LENGTH,
  TAG_LENGTH,
  encodeUplinkHeader,
  type UplinkFrame,
  type UplinkType,
} from './frame.ts';

/** AES-128-GCM: suite 1's block cipher key size. */
export const SESSION_KEY_LENGTH = 16;
const SYSTEM_TITLE_LABEL = utf8.encode('citytrust/meter/system-title/v1');
const KDF_LABEL = utf8.encode('citytrust/meter/suite1/v1');
const EMPTY = new Uint8Array(0);

/**
 * The meter's DLMS system title, derived from its identity so both sides compute it:
 * SHA-256(label ‖ 0 ‖ tenant ‖ 0 ‖ meter id)[0..8]. It is the fixed half of every GCM IV.
 */
export function systemTitleOf(tenant: string, meterId: string): Uint8Array {
  return sha256(concatBytes(SYSTEM_TITLE_LABEL, new Uint8Array([0]), utf8.encode(tenant), new Uint8Array([0]), utf8.encode(meterId))).slice(0, SYSTEM_TITLE_LENGTH);
}

/** Id of a session key: SHA-256 of the meter's ephemeral public key (uncompressed), first 4 bytes. */
export function sessionKeyId(ephemeralPublicKey: Uint8Array): Uint8Array {
  return sha256(ephemeralPublicKey).slice(0, KEY_ID_LENGTH);
}

/** Id of a head-end public key (key agreement or command signing): SHA-256 of its SPKI, first 8 bytes. */
export function publicKeyId(spki: Uint8Array): Uint8Array {
  return sha256(spki).slice(0, COMMAND_KEY_ID_LENGTH);
}

/** HKDF info: label ‖ 0 ‖ system title ‖ ephemeral public key ‖ head-end key id. The salt is empty (RFC 5869 §2.2). */
export function kdfInfo(systemTitle: Uint8Array, ephemeralPublicKey: Uint8Array, headEndKeyId: Uint8Array): Uint8Array {
  return concatBytes(KDF_LABEL, new Uint8Array([0]), systemTitle, ephemeralPublicKey, headEndKeyId);
}
export const KDF_SALT = EMPTY;

/** Meter side of the agreement: Z = ECDH(ephemeral, head-end), K = HKDF(Z, info). Z is wiped. */
export function deriveMeterSessionKey(ephemeralPrivateKey: KeyObject, headEndPublicKey: KeyObject, info: Uint8Array): Uint8Array {
  const z = ecdhSharedSecret(ephemeralPrivateKey, headEndPublicKey);
  try {
    return hkdfSha256(z, KDF_SALT, info, SESSION_KEY_LENGTH);
  } finally {
    wipe(z);
  }
}

/** IV = system title (8) ‖ invocation counter (4, BE), as DLMS builds it (Green Book §9.2.7.2.4.4). */
export function gcmIv(systemTitle: Uint8Array, counter: number): Uint8Array {
  const iv = new Uint8Array(12);
  iv.set(systemTitle, 0);
  new DataView(iv.buffer).setUint32(8, counter);
  return iv;
}

export interface BuildUplinkOptions {
  readonly type: UplinkType;
  readonly systemTitle: Uint8Array;
  readonly counter: number;
  readonly keyId: Uint8Array;
  readonly plaintext: Uint8Array;
  /** Required for every type but keyEstablishment. */
  readonly sessionKey?: KeyObject;
  /** The meter's identity key. */
  readonly signingKey: KeyObject;
}

/** header ‖ body ‖ signature, the body encrypted under the session key unless it is a key establishment. */
export function buildUplink(o: BuildUplinkOptions): Uint8Array {
  const encrypted = o.type !== 'keyEstablishment';
  const bodyLength = o.plaintext.length + (encrypted ? TAG_LENGTH : 0);
  const header = encodeUplinkHeader({ type: o.type, securityControl: encrypted ? SC_ENCRYPTED : SC_SIGNED, systemTitle: o.systemTitle, counter: o.counter, keyId: o.keyId }, bodyLength);
  let body = o.plaintext;
  if (encrypted) {
    if (!o.sessionKey) throw new CityTrustError('METER_NOT_PROVISIONED', 'no session key is established');
    body = aesGcmSeal(o.sessionKey, gcmIv(o.systemTitle, o.counter), o.plaintext, header);
  }
  const signed = concatBytes(header, body);
  const signature = createSignature('ES256', o.signingKey, signed, 'raw');
  return concatBytes(signed, signature);
}

/** Sync signature check (the meter side, tests, the floor benchmark). Never throws for a bad signature. */
export function verifyUplinkSignature(frame: UplinkFrame, publicKey: KeyObject): boolean {
  return frame.signature.length === SIGNATURE_LENGTH && verifySignature('ES256', publicKey, frame.signed, frame.signature, 'raw');
}

/** Decrypts an encrypted body; a bad tag is METER_DECRYPT_FAILED, whatever the cause. */
export function openUplinkBody(frame: UplinkFrame, sessionKey: KeyObject): Uint8Array {
  try {
    return aesGcmOpen(sessionKey, gcmIv(frame.systemTitle, frame.counter), frame.body, frame.header);
  } catch (e) {
    if (isCityTrustError(e, 'CRYPTO_AEAD_AUTH_FAILED') || isCityTrustError(e, 'CRYPTO_AEAD_TRUNCATED')) {
      throw new CityTrustError('METER_DECRYPT_FAILED', 'the frame does not decrypt under the meter session key', { cause: e });
    }
    throw e;
  }
}

/** Wraps derived session key bytes once for the hot path and wipes the bytes. */
export function sessionKeyObject(bytes: Uint8Array): KeyObject {
  if (bytes.length !== SESSION_KEY_LENGTH) throw new CityTrustError('INPUT_INVALID', 'a suite 1 session key is 16 bytes');
  try {
    return secretKey(bytes);
  } finally {
    wipe(bytes);
  }
}
