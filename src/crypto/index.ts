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

// COSE (RFC 9052 / 9053; docs/cose.md)
export {
  COSE_ALGORITHM_IDS,
  COSE_SIGN_ALGORITHMS,
  COSE_MAC_ALGORITHMS,
  COSE_CONTENT_ALGORITHMS,
  COSE_RECIPIENT_ALGORITHMS,
  type CoseAlgorithmName,
  type CoseSignAlgorithm,
  type CoseMacAlgorithm,
  type CoseContentAlgorithm,
  type CoseRecipientAlgorithm,
} from './cose/algorithms.ts';
export { HEADER, type HeaderLabel, type HeaderMap } from './cose/headers.ts';
export { COSE_TAG } from './cose/message.ts';
export type { KeyHints, KeyResolver } from './cose/resolve.ts';
export {
  createCoseSign1,
  verifyCoseSign1,
  keyObjectSigner,
  coseVerifierKey,
  type CoseSigner,
  type CoseVerifierKey,
  type CreateSign1Options,
  type VerifySign1Options,
  type VerifiedSign1,
  type VerifiedCoseMessage,
} from './cose/sign1.ts';
export {
  createCoseMac0,
  verifyCoseMac0,
  coseMacKey,
  type CoseMacKey,
  type CreateMac0Options,
  type VerifyMac0Options,
  type VerifiedMac0,
} from './cose/mac0.ts';
export { coseContentKey, type CoseContentKey } from './cose/content.ts';
export {
  createCoseEncrypt0,
  decryptCoseEncrypt0,
  type CreateEncrypt0Options,
  type DecryptEncrypt0Options,
  type DecryptedCose,
} from './cose/encrypt0.ts';
export {
  createCoseEncryptEcdhEs,
  decryptCoseEncrypt,
  keyObjectAgreement,
  type CoseKeyAgreement,
  type CoseRecipientOption,
  type CreateEncryptEcdhEsOptions,
  type DecryptEncryptOptions,
} from './cose/encrypt.ts';
export { coseKdfContext, type KdfContextInput, type PartyInfo } from './cose/kdf.ts';
export { fromCoseKey, toCoseKey, COSE_KEY_LABEL, COSE_KTY, type CoseKey, type ToCoseKeyOptions } from './cose/key.ts';
