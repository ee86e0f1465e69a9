/**
 * Key operations on node:crypto objects, shared by the backends: the software backend runs
 * all of them; the PKCS#11 backend uses the public-key ones (verification needs no secret,
 * so it runs here rather than a round trip to the HSM).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { exportRawPublicKey, importRawPublicKey, importSpkiPublicKey } from '../crypto/index.ts';
import type { KeyType, SignatureFormat } from './types.ts';

export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export type AsymmetricType = 'ec-p256' | 'ec-p384' | 'ed25519';
export const isAsymmetric = (t: KeyType): t is AsymmetricType => t === 'ec-p256' || t === 'ec-p384' || t === 'ed25519';

const CURVE = { 'ec-p256': 'P-256', 'ec-p384': 'P-384' } as const;
/** The hash is fixed by the curve (RFC 9053 §2.1: ES256 / ES384), never chosen by a caller. */
const HASH = { 'ec-p256': 'sha256', 'ec-p384': 'sha384', ed25519: null } as const;
export const COORD_BYTES = { 'ec-p256': 32, 'ec-p384': 48 } as const;

/** Fresh private material from the OS CSPRNG: PKCS#8 DER for key pairs, 32 raw bytes otherwise. */
export function generateMaterial(type: KeyType): Buffer {
  switch (type) {
    case 'ec-p256':
    case 'ec-p384':
      return generateKeyPairSync('ec', { namedCurve: CURVE[type] }).privateKey.export({ format: 'der', type: 'pkcs8' });
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });
    case 'aes-256-gcm':
    case 'hmac-sha256':
      return randomBytes(32);
  }
}

/** Parses PKCS#8 material and checks it is of the declared type (import and unseal paths). */
export function privateKeyFromMaterial(type: AsymmetricType, material: Uint8Array): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(material.buffer, material.byteOffset, material.byteLength), format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new CityTrustError('INPUT_INVALID', 'key material is not PKCS#8', { cause: e });
  }
  const ok =
    type === 'ed25519'
      ? key.asymmetricKeyType === 'ed25519'
      : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === (type === 'ec-p256' ? 'prime256v1' : 'secp384r1');
  if (!ok) throw new CityTrustError('INPUT_INVALID', `key material is not a ${type} key`);
  return key;
}

export function spkiOf(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
}

/** SEC 1 uncompressed point for EC, the 32-byte key for Ed25519. */
export function rawPublicKey(publicKey: KeyObject): Uint8Array {
  return exportRawPublicKey(publicKey, 'uncompressed');
}

function requireFormat(type: AsymmetricType, format: SignatureFormat | undefined): 'der' | 'ieee-p1363' | undefined {
  if (type === 'ed25519') return undefined;
  if (format === 'der') return 'der';
  if (format === 'p1363') return 'ieee-p1363';
  throw new CityTrustError('INPUT_INVALID', 'ECDSA signatures need an explicit format: "p1363" (COSE, JOSE) or "der" (X.509)');
}

export function checkSignatureFormat(type: AsymmetricType, format: SignatureFormat | undefined): void {
  requireFormat(type, format);
}

export function signWith(type: AsymmetricType, privateKey: KeyObject, data: Uint8Array, format: SignatureFormat | undefined): Uint8Array {
  const dsaEncoding = requireFormat(type, format);
  return new Uint8Array(nodeSign(HASH[type], data, dsaEncoding ? { key: privateKey, dsaEncoding } : privateKey));
}

/** Never throws on a bad signature: malformed and wrong are both simply "does not verify". */
export function verifyWith(type: AsymmetricType, publicKey: KeyObject, data: Uint8Array, signature: Uint8Array, format: SignatureFormat | undefined): boolean {
  const dsaEncoding = requireFormat(type, format);
  if (dsaEncoding === 'ieee-p1363' && signature.length !== 2 * COORD_BYTES[type as 'ec-p256' | 'ec-p384']) return false;
  if (type === 'ed25519' && signature.length !== 64) return false;
  try {
    return nodeVerify(HASH[type], data, dsaEncoding ? { key: publicKey, dsaEncoding } : publicKey, signature);
  } catch {
    return false;
  }
}

export function aeadEncrypt(key: Uint8Array | KeyObject, plaintext: Uint8Array, aad: Uint8Array | undefined): { iv: Uint8Array; ciphertext: Uint8Array } {
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', key, iv);
  if (aad && aad.length > 0) c.setAAD(aad);
  const head = c.update(plaintext);
  const tail = c.final();
  // Buffers are Uint8Arrays; no copy on the hot path (neither holds a secret).
  return { iv, ciphertext: Buffer.concat([head, tail, c.getAuthTag()]) };
}

export function checkAeadInput(iv: unknown, ciphertext: unknown): void {
  if (!(iv instanceof Uint8Array) || iv.length !== IV_BYTES) throw new CityTrustError('VAULT_CIPHERTEXT_MALFORMED', `the IV must be ${IV_BYTES} bytes`);
  if (!(ciphertext instanceof Uint8Array) || ciphertext.length < TAG_BYTES) {
    throw new CityTrustError('VAULT_CIPHERTEXT_MALFORMED', `the ciphertext is shorter than its ${TAG_BYTES}-byte tag`);
  }
}

export function aeadDecrypt(key: Uint8Array | KeyObject, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array | undefined): Uint8Array {
  checkAeadInput(iv, ciphertext);
  const d = createDecipheriv('aes-256-gcm', key, iv);
  if (aad && aad.length > 0) d.setAAD(aad);
  d.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
  const head = d.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES));
  try {
    return new Uint8Array(Buffer.concat([head, d.final()]));
  } catch {
    head.fill(0);
    throw new CityTrustError('VAULT_DECRYPT_FAILED', 'decryption failed: wrong key, additional data or altered ciphertext');
  }
}

export function hmacSha256(key: Uint8Array | KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(data).digest());
}

/**
 * A peer key for ECDH on the key's curve, as SPKI DER or a SEC 1 point (compressed or not).
 * Parsing is src/crypto's, which accepts only canonical encodings and points on the curve.
 */
export function peerPublicKey(type: 'ec-p256' | 'ec-p384', peer: Uint8Array): KeyObject {
  if (!(peer instanceof Uint8Array) || peer.length === 0 || peer.length > 1024) {
    throw new CityTrustError('VAULT_PUBLIC_KEY_INVALID', `the peer key is not a ${type} public key`);
  }
  const curve = type === 'ec-p256' ? 'P-256' : 'P-384';
  try {
    return peer[0] === 0x30 ? importSpkiPublicKey(curve, peer) : importRawPublicKey(curve, peer);
  } catch (cause) {
    throw new CityTrustError('VAULT_PUBLIC_KEY_INVALID', `the peer key is not a ${type} public key`, { cause });
  }
}

/** ECDH shared secret (SEC 1 §3.3.1) into HKDF-SHA256 (RFC 5869); the raw secret is wiped. */
export function ecdhHkdf(privateKey: KeyObject, peer: KeyObject, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const z = diffieHellman({ privateKey, publicKey: peer });
  try {
    return new Uint8Array(hkdfSync('sha256', z, salt, info, length));
  } finally {
    z.fill(0);
  }
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}
