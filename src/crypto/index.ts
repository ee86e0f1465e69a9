/**
 * citytrust/crypto: the device-side crypto layer. Imports only node:crypto, cbor-x and src/core.
 * Every export is named here; everything else in this folder is internal.
 */

// Allow-lists (docs/crypto.md)
export {
  SIGNATURE_ALGORITHMS,
  EC_CURVES,
  ECDH_CURVES,
  KEY_KINDS,
  HASH_ALGORITHMS,
  AES_GCM_KEY_LENGTHS,
  AES_GCM_IV_LENGTH,
  AES_GCM_TAG_LENGTH,
  HMAC_SHA256_MIN_KEY_LENGTH,
  HMAC_SHA256_TAG_LENGTHS,
  HKDF_SHA256_MAX_LENGTH,
  type SignatureAlgorithm,
  type EcCurve,
  type EcdhCurve,
  type KeyKind,
  type HashAlgorithm,
  type HmacTagLength,
} from './algorithms.ts';

// Keys
export {
  keyKind,
  importRawPublicKey,
  importSpkiPublicKey,
  importJwkPublicKey,
  importRawPrivateKey,
  exportRawPublicKey,
  exportSpkiPublicKey,
  exportJwkPublicKey,
  generateKeyPair,
  publicKeyOf,
  type PublicJwk,
  type KeyPair,
} from './keys.ts';

// Signatures
export {
  createSignature,
  verifySignature,
  keyKindForAlgorithm,
  ecdsaDerToRaw,
  ecdsaRawToDer,
  type SignatureEncoding,
} from './signatures.ts';

// Key agreement
export { ecdhSharedSecret, generateEphemeralKeyPair } from './ecdh.ts';

// Hashes, MAC, KDF
export {
  digest,
  sha256,
  sha384,
  secretKey,
  hmacSha256,
  verifyHmacSha256,
  hkdfSha256,
  type SecretKeyInput,
} from './hash.ts';

// AEAD and randomness
export { aesGcmSeal, aesGcmOpen, randomBytes } from './aead.ts';

// Deterministic CBOR
export {
  encodeCbor,
  decodeCbor,
  validateCbor,
  CborTag,
  CBOR_DEFAULT_LIMITS,
  type CborValue,
  type CborLimits,
  type CborDecodeOptions,
} from './cbor/codec.ts';
