/**
 * Asymmetric keys as node KeyObjects: strict import from SEC1 points, SPKI and JWK,
 * export, and generation. Every import names the key kind it expects; the bytes never
 * choose it. Importing once and keeping the KeyObject is the fast path: node parses a
 * key only at createPublicKey/createPrivateKey.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { fromBase64Url, fromHex, concatBytes, wipe } from '../core/bytes.ts';
import { isOneOf, KEY_KINDS, type KeyKind } from './algorithms.ts';
import { assertBytes, compareBytes, isAllZero } from './internal.ts';

interface CurveInfo {
  readonly nodeCurve: string;
  /** Field element and scalar size in bytes. */
  readonly size: number;
  /** DER prefixes of the only SPKI encodings we accept (RFC 5480 §2: named curve, no parameters). */
  readonly spkiUncompressed: Uint8Array;
  readonly spkiCompressed: Uint8Array;
  /** PKCS#8 wrapping an ECPrivateKey without the optional public key (RFC 5915 §3). */
  readonly pkcs8: Uint8Array;
  /** Group order n: a private scalar must lie in [1, n-1] (SEC 1 §3.2.1). */
  readonly order: Uint8Array;
}

const EC: Readonly<Record<'P-256' | 'P-384', CurveInfo>> = {
  'P-256': {
    nodeCurve: 'prime256v1',
    size: 32,
    spkiUncompressed: fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200'),
    spkiCompressed: fromHex('3039301306072a8648ce3d020106082a8648ce3d030107032200'),
    pkcs8: fromHex('3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420'),
    order: fromHex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
  },
  'P-384': {
    nodeCurve: 'secp384r1',
    size: 48,
    spkiUncompressed: fromHex('3076301006072a8648ce3d020106052b81040022036200'),
    spkiCompressed: fromHex('3046301006072a8648ce3d020106052b81040022033200'),
    pkcs8: fromHex('304e020100301006072a8648ce3d020106052b81040022043730350201010430'),
    order: fromHex('ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
  },
};

/** RFC 8410 §4 and §7. */
const ED25519_SPKI = fromHex('302a300506032b6570032100');
const ED25519_PKCS8 = fromHex('302e020100300506032b657004220420');

const kindCache = new WeakMap<KeyObject, KeyKind>();

/** The kind of an asymmetric KeyObject, or CRYPTO_KEY_INVALID for anything else. Cached per key. */
export function keyKind(key: KeyObject): KeyKind {
  const cached = kindCache.get(key);
  if (cached !== undefined) return cached;
  if (key === null || typeof key !== 'object' || (key.type !== 'public' && key.type !== 'private')) {
    throw new CityTrustError('CRYPTO_KEY_INVALID', 'expected an asymmetric KeyObject');
  }
  let kind: KeyKind | undefined;
  if (key.asymmetricKeyType === 'ed25519') kind = 'Ed25519';
  else if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === EC['P-256'].nodeCurve) kind = 'P-256';
    else if (curve === EC['P-384'].nodeCurve) kind = 'P-384';
  }
  if (kind === undefined) throw new CityTrustError('CRYPTO_KEY_INVALID', 'key type or curve is not on the allow-list');
  kindCache.set(key, kind);
  return kind;
}

/** Throws unless `key` is a `type` key of kind `kind`. */
export function assertKey(key: KeyObject, kind: KeyKind, type: 'public' | 'private'): void {
  if (keyKind(key) !== kind || key.type !== type) {
    throw new CityTrustError('CRYPTO_KEY_INVALID', `expected a ${kind} ${type} key`);
  }
}

function assertKind(kind: unknown): asserts kind is KeyKind {
  if (!isOneOf(KEY_KINDS, kind)) throw new CityTrustError('CRYPTO_ALG_NOT_ALLOWED', 'key kind is not on the allow-list');
}

/**
 * Import a public key from its raw form: an Ed25519 key (RFC 8032, 32 bytes) or an EC point in
 * SEC1 §2.3.3 form, compressed (0x02/0x03 ‖ x) or uncompressed (0x04 ‖ x ‖ y). The identity
 * (a lone 0x00) and the hybrid forms 0x06/0x07 are refused here because OpenSSL accepts them;
 * OpenSSL then refuses points that are not on the curve.
 */
export function importRawPublicKey(kind: KeyKind, bytes: Uint8Array): KeyObject {
  assertKind(kind);
  assertBytes('public key', bytes);
  if (kind === 'Ed25519') {
    if (bytes.length !== 32) throw new CityTrustError('CRYPTO_KEY_INVALID', 'an Ed25519 public key is 32 bytes');
    return known(spki(concatBytes(ED25519_SPKI, bytes), 'CRYPTO_KEY_INVALID'), kind);
  }
  const c = EC[kind];
  const first = bytes[0];
  if (bytes.length === 1 + c.size && (first === 0x02 || first === 0x03)) {
    return known(spki(concatBytes(c.spkiCompressed, bytes), 'CRYPTO_POINT_INVALID'), kind);
  }
  if (bytes.length === 1 + 2 * c.size && first === 0x04) {
    return known(spki(concatBytes(c.spkiUncompressed, bytes), 'CRYPTO_POINT_INVALID'), kind);
  }
  throw new CityTrustError('CRYPTO_POINT_INVALID', `not a SEC1 compressed or uncompressed ${kind} point`);
}

/**
 * Records the kind of a key this module just imported under a fixed SPKI prefix: the prefix names
 * the algorithm and curve, so OpenSSL's key is of that kind by construction. keyKind() would
 * otherwise ask node for asymmetricKeyDetails, which costs tens of microseconds per fresh key
 * (twice per tap: the peer's ephemeral key and the holder key).
 */
function known(key: KeyObject, kind: KeyKind): KeyObject {
  kindCache.set(key, kind);
  return key;
}

function spki(der: Uint8Array, code: 'CRYPTO_POINT_INVALID' | 'CRYPTO_KEY_INVALID'): KeyObject {
  // node's createPublicKey tells an options object from a KeyObject or CryptoKey by throwing and
  // catching internally, twice per call; each throw captures a stack trace (async frames
  // included), which at a tap's call depth costs more than the import itself. No trace is needed
  // for those internal throws: the limit is lifted for this synchronous call only and restored
  // before anything else runs. A real failure is wrapped below, with its own trace.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return createPublicKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'spki' });
  } catch (cause) {
    Error.stackTraceLimit = limit;
    throw new CityTrustError(code, 'the public key is not a valid point of its curve', { cause });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Import a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7). Only the canonical DER of a named-curve key
 * of the expected kind is accepted, byte for byte: explicit curve parameters, BER length forms,
 * trailing data and other curves all fail with CRYPTO_KEY_INVALID (see the Wycheproof ECDH
 * `InvalidAsn`/`UnnamedCurve` decisions in docs/crypto.md).
 */
export function importSpkiPublicKey(kind: KeyKind, der: Uint8Array): KeyObject {
  assertKind(kind);
  assertBytes('SPKI', der);
  const prefixes = kind === 'Ed25519' ? [ED25519_SPKI] : [EC[kind].spkiUncompressed, EC[kind].spkiCompressed];
  for (const p of prefixes) {
    if (der.length > p.length && startsWith(der, p)) return importRawPublicKey(kind, der.subarray(p.length));
  }
  throw new CityTrustError('CRYPTO_KEY_INVALID', `not the canonical SPKI of a ${kind} key`);
}

function startsWith(a: Uint8Array, p: Uint8Array): boolean {
  if (a.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (a[i] !== p[i]) return false;
  return true;
}

/** The public JWK members we read (RFC 7518 §6.2.1, RFC 8037 §2). */
export interface PublicJwk {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly y?: string;
  readonly [other: string]: unknown;
}

/** Import a public JWK of the expected kind. A JWK carrying `d` is refused: private keys do not travel as JWK here. */
export function importJwkPublicKey(kind: KeyKind, jwk: PublicJwk): KeyObject {
  assertKind(kind);
  if (jwk === null || typeof jwk !== 'object') throw new CityTrustError('CRYPTO_KEY_INVALID', 'JWK must be an object');
  if ('d' in jwk) throw new CityTrustError('CRYPTO_KEY_INVALID', 'a public JWK must not contain d');
  const b64 = (v: unknown, len: number): Uint8Array => {
    if (typeof v !== 'string') throw new CityTrustError('CRYPTO_KEY_INVALID', 'JWK coordinate missing');
    let b: Uint8Array;
    try {
      b = fromBase64Url(v);
    } catch (cause) {
      throw new CityTrustError('CRYPTO_KEY_INVALID', 'JWK coordinate is not base64url', { cause });
    }
    if (b.length !== len) throw new CityTrustError('CRYPTO_KEY_INVALID', 'JWK coordinate has the wrong length');
    return b;
  };
  if (kind === 'Ed25519') {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') throw new CityTrustError('CRYPTO_KEY_INVALID', 'expected an OKP Ed25519 JWK');
    return importRawPublicKey(kind, b64(jwk.x, 32));
  }
  if (jwk.kty !== 'EC' || jwk.crv !== kind) throw new CityTrustError('CRYPTO_KEY_INVALID', `expected an EC ${kind} JWK`);
  const n = EC[kind].size;
  return importRawPublicKey(kind, concatBytes(Uint8Array.of(0x04), b64(jwk.x, n), b64(jwk.y, n)));
}

/** Export a public key as JWK (kty, crv, x[, y]) with no other members. */
export function exportJwkPublicKey(key: KeyObject): PublicJwk {
  const kind = keyKind(key);
  if (key.type !== 'public') throw new CityTrustError('CRYPTO_KEY_INVALID', 'expected a public key');
  const jwk = key.export({ format: 'jwk' });
  if (kind === 'Ed25519') return { kty: 'OKP', crv: 'Ed25519', x: String(jwk.x) };
  return { kty: 'EC', crv: kind, x: String(jwk.x), y: String(jwk.y) };
}

/**
 * Export a public key in raw form: Ed25519 as 32 bytes; EC as a SEC1 point, uncompressed by
 * default or compressed (what credentials carry in `cnf`, RFC 8747).
 */
export function exportRawPublicKey(key: KeyObject, form: 'uncompressed' | 'compressed' = 'uncompressed'): Uint8Array {
  const kind = keyKind(key);
  if (key.type !== 'public') throw new CityTrustError('CRYPTO_KEY_INVALID', 'expected a public key');
  const jwk = key.export({ format: 'jwk' });
  const x = fromBase64Url(String(jwk.x));
  if (kind === 'Ed25519') return x;
  const y = fromBase64Url(String(jwk.y));
  if (form === 'compressed') return concatBytes(Uint8Array.of(0x02 | ((y[y.length - 1] as number) & 1)), x);
  if (form !== 'uncompressed') throw new CityTrustError('CRYPTO_INPUT_INVALID', 'point form must be compressed or uncompressed');
  return concatBytes(Uint8Array.of(0x04), x, y);
}

/**
 * Export a public key as canonical SPKI DER: named curve, uncompressed point (RFC 5480 §2.2).
 * node's own `export({ type: 'spki' })` keeps the compressed form of a key imported compressed;
 * this function never does, so equal keys always give equal bytes.
 */
export function exportSpkiPublicKey(key: KeyObject): Uint8Array {
  const kind = keyKind(key);
  const raw = exportRawPublicKey(key, 'uncompressed');
  return concatBytes(kind === 'Ed25519' ? ED25519_SPKI : EC[kind].spkiUncompressed, raw);
}

/**
 * Import a private key from its raw form: the EC scalar d (fixed length, 1 <= d < n, SEC 1
 * §3.2.1) or the 32-byte Ed25519 seed (RFC 8032 §5.1.5). For test vectors, COSE_Key import
 * and the software vault; private keys are never exported by this layer.
 */
export function importRawPrivateKey(kind: KeyKind, bytes: Uint8Array): KeyObject {
  assertKind(kind);
  assertBytes('private key', bytes);
  let der: Uint8Array;
  if (kind === 'Ed25519') {
    if (bytes.length !== 32) throw new CityTrustError('CRYPTO_KEY_INVALID', 'an Ed25519 private key is a 32-byte seed');
    der = concatBytes(ED25519_PKCS8, bytes);
  } else {
    const c = EC[kind];
    if (bytes.length !== c.size || isAllZero(bytes) || compareBytes(bytes, c.order) >= 0) {
      throw new CityTrustError('CRYPTO_KEY_INVALID', `a ${kind} private key is a scalar in [1, n-1] of ${c.size} bytes`);
    }
    der = concatBytes(c.pkcs8, bytes);
  }
  try {
    return createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new CityTrustError('CRYPTO_KEY_INVALID', 'the private key was refused', { cause });
  } finally {
    wipe(der);
  }
}

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** A fresh key pair from the OS CSPRNG (through OpenSSL). */
export function generateKeyPair(kind: KeyKind): KeyPair {
  assertKind(kind);
  const { privateKey, publicKey } =
    kind === 'Ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: EC[kind].nodeCurve });
  kindCache.set(privateKey, kind);
  kindCache.set(publicKey, kind);
  return { privateKey, publicKey };
}

/** The public half of a private key. */
export function publicKeyOf(privateKey: KeyObject): KeyObject {
  const kind = keyKind(privateKey);
  if (privateKey.type !== 'private') throw new CityTrustError('CRYPTO_KEY_INVALID', 'expected a private key');
  const pub = createPublicKey(privateKey);
  kindCache.set(pub, kind);
  return pub;
}

/** Field size in bytes of an EC kind (for r‖s lengths and coordinates). */
export function ecFieldSize(kind: 'P-256' | 'P-384'): number {
  return EC[kind].size;
}

