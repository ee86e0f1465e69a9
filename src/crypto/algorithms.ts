/**
 * The allow-lists. Every function of this layer checks the algorithm, curve or size it is
 * handed against one of these constants; nothing named by an input is ever passed through
 * to node:crypto unchecked (jose's `checkKeyType`/`algorithms` discipline).
 */

/** Signature algorithms, by their JOSE/COSE names (RFC 9053 §2.1, §2.2). */
export const SIGNATURE_ALGORITHMS = ['ES256', 'ES384', 'EdDSA'] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

/** Curves for ECDSA. Key agreement is narrower: P-256 only. */
export const EC_CURVES = ['P-256', 'P-384'] as const;
export type EcCurve = (typeof EC_CURVES)[number];
export const ECDH_CURVES = ['P-256'] as const;
export type EcdhCurve = (typeof ECDH_CURVES)[number];

/** The asymmetric key kinds this layer handles. */
export const KEY_KINDS = ['P-256', 'P-384', 'Ed25519'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

/** Digests. SHA-1 and SHA-512 are deliberately absent. */
export const HASH_ALGORITHMS = ['SHA-256', 'SHA-384'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** AES-GCM key sizes in bytes (128 and 256 bits; 192 is refused). */
export const AES_GCM_KEY_LENGTHS = [16, 32] as const;
/** NIST SP 800-38D §5.2.1.1: the 96-bit IV is the only length we accept. */
export const AES_GCM_IV_LENGTH = 12;
/** Full 128-bit tags only; truncated GCM tags weaken forgery resistance (SP 800-38D App. C). */
export const AES_GCM_TAG_LENGTH = 16;

/** RFC 2104 §3: keys shorter than the hash output are "strongly discouraged"; we refuse them. */
export const HMAC_SHA256_MIN_KEY_LENGTH = 32;
/** Full tag, and the 64-bit truncation COSE defines as HMAC 256/64 (RFC 9053 §3.1). */
export const HMAC_SHA256_TAG_LENGTHS = [32, 8] as const;
export type HmacTagLength = (typeof HMAC_SHA256_TAG_LENGTHS)[number];

/** RFC 5869 §2.3: L <= 255 * HashLen. */
export const HKDF_SHA256_MAX_LENGTH = 255 * 32;

export function isOneOf<T extends string | number>(list: readonly T[], v: unknown): v is T {
  return (list as readonly unknown[]).includes(v);
}
