/**
 * COSE algorithm identifiers we implement (IANA "COSE Algorithms", RFC 9053) and the
 * allow-lists. An identifier that is not in this table is unknown to us and refused with
 * COSE_ALG_NOT_ALLOWED wherever it appears; a verifier narrows further with its own list.
 */

export const COSE_ALGORITHM_IDS = {
  ES256: -7, // RFC 9053 §2.1
  ES384: -35,
  EdDSA: -8, // RFC 9053 §2.2 (we accept Ed25519 keys only)
  HS256: 5, // RFC 9053 §3.1, HMAC 256/256
  'HS256/64': 4, // HMAC 256/64, truncated tag (CWT examples, RFC 8392 A.4)
  A128GCM: 1, // RFC 9053 §4.1
  A256GCM: 3,
  'AES-CCM-16-64-128': 10, // RFC 9053 §4.2; opt-in only, for RFC 8392 A.5/A.6
  direct: -6, // RFC 9053 §6.1
  'ECDH-ES+HKDF-256': -25, // RFC 9053 §6.3.1, direct key agreement
} as const;

export type CoseAlgorithmName = keyof typeof COSE_ALGORITHM_IDS;

export const COSE_SIGN_ALGORITHMS = ['ES256', 'ES384', 'EdDSA'] as const;
export type CoseSignAlgorithm = (typeof COSE_SIGN_ALGORITHMS)[number];

export const COSE_MAC_ALGORITHMS = ['HS256', 'HS256/64'] as const;
export type CoseMacAlgorithm = (typeof COSE_MAC_ALGORITHMS)[number];

export const COSE_CONTENT_ALGORITHMS = ['A128GCM', 'A256GCM', 'AES-CCM-16-64-128'] as const;
export type CoseContentAlgorithm = (typeof COSE_CONTENT_ALGORITHMS)[number];

export const COSE_RECIPIENT_ALGORITHMS = ['direct', 'ECDH-ES+HKDF-256'] as const;
export type CoseRecipientAlgorithm = (typeof COSE_RECIPIENT_ALGORITHMS)[number];

const BY_ID = new Map<number, CoseAlgorithmName>(
  (Object.entries(COSE_ALGORITHM_IDS) as [CoseAlgorithmName, number][]).map(([name, id]) => [id, name]),
);

/**
 * The name of a COSE algorithm identifier, or undefined when we do not implement it. Text-string
 * algorithm values (RFC 9052 §3.1 allows tstr) name nothing we implement, so they map to undefined
 * too; this is also where "none" and every other invented name end.
 */
export function coseAlgorithmName(id: unknown): CoseAlgorithmName | undefined {
  return typeof id === 'number' ? BY_ID.get(id) : undefined;
}

/** Content-encryption parameters: key and nonce length in bytes, and the tag length. */
export const CONTENT_ALG_PARAMS: Readonly<Record<CoseContentAlgorithm, { keyLength: number; nonceLength: number }>> = {
  A128GCM: { keyLength: 16, nonceLength: 12 },
  A256GCM: { keyLength: 32, nonceLength: 12 },
  'AES-CCM-16-64-128': { keyLength: 16, nonceLength: 13 },
};
