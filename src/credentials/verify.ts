/**
 * Verifying a credential (device-side): COSE_Sign1 under an issuer key the trust list holds,
 * then the claims. The algorithm comes from the key's certificate, never from the credential:
 * openSign1 refuses a message whose alg differs from the one the key is bound to.
 */
import { CityTrustError, isCityTrustError, type ErrorCode } from '../core/errors.ts';
import { verifySignature } from '../crypto/index.ts';
import { openSign1, type OpenedSign1 } from './sign1.ts';
import { CREDENTIAL_LIMITS, credentialId, decodeClaims, type CredentialClaims } from './claims.ts';
import { ISSUER_ALGORITHMS, type CredentialTrust, type IssuerAlgorithm, type TrustedIssuerKey } from './trust.ts';

export interface VerifyCredentialOptions {
  readonly trust: CredentialTrust;
  /** Milliseconds since the epoch, from the device's clock. */
  readonly now: number;
  /** Tolerated clock difference for nbf/exp, seconds (default 60). */
  readonly clockSkewSeconds?: number;
  /** Narrow the allow-list further (default ES256 and EdDSA). */
  readonly algorithms?: readonly IssuerAlgorithm[];
}

export interface VerifiedCredential {
  readonly id: string;
  readonly claims: CredentialClaims;
  readonly issuerKey: TrustedIssuerKey;
  readonly alg: IssuerAlgorithm;
  /** The bytes as presented; their length is the on-the-wire size. */
  readonly bytes: Uint8Array;
}

/** Lower-level codes mapped to the credential's own, so a reader logs one vocabulary. */
const MAP: Partial<Record<ErrorCode, ErrorCode>> = {
  CBOR_TRUNCATED: 'CREDENTIAL_TRUNCATED',
  CBOR_TOO_LARGE: 'CREDENTIAL_TOO_LARGE',
  CBOR_TOO_MANY_ITEMS: 'CREDENTIAL_TOO_LARGE',
  CBOR_TOO_DEEP: 'CREDENTIAL_TOO_DEEP',
  COSE_ALG_MISSING: 'CREDENTIAL_ALG_NOT_ALLOWED',
  COSE_ALG_NOT_ALLOWED: 'CREDENTIAL_ALG_NOT_ALLOWED',
  COSE_ALG_UNPROTECTED: 'CREDENTIAL_ALG_NOT_ALLOWED',
  COSE_ALG_KEY_MISMATCH: 'CREDENTIAL_ALG_KEY_MISMATCH',
  COSE_KEY_NOT_FOUND: 'CREDENTIAL_ISSUER_UNTRUSTED',
  COSE_SIGNATURE_INVALID: 'CREDENTIAL_SIGNATURE_INVALID',
};

function mapped(e: unknown): never {
  if (isCityTrustError(e)) {
    if (e.code.startsWith('CREDENTIAL_')) throw e;
    const code = MAP[e.code] ?? 'CREDENTIAL_MALFORMED';
    throw new CityTrustError(code, e.message, { cause: e, details: { reason: e.code } });
  }
  throw new CityTrustError('CREDENTIAL_MALFORMED', 'the credential could not be parsed', { cause: e });
}

export function verifyCredential(bytes: Uint8Array, opts: VerifyCredentialOptions): VerifiedCredential {
  if (!(bytes instanceof Uint8Array)) throw new CityTrustError('CREDENTIAL_MALFORMED', 'a credential is bytes');
  if (bytes.length > CREDENTIAL_LIMITS.maxBytes) throw new CityTrustError('CREDENTIAL_TOO_LARGE', `a credential is at most ${CREDENTIAL_LIMITS.maxBytes} bytes`);
  let opened: OpenedSign1;
  try {
    opened = openSign1(bytes, opts.trust, opts.algorithms ?? ISSUER_ALGORITHMS, CREDENTIAL_LIMITS);
  } catch (e) {
    mapped(e);
  }
  const key = opened.key;
  const claims = decodeClaims(opened.payload);
  if (claims.iss !== key.tenant) throw new CityTrustError('CREDENTIAL_ISSUER_MISMATCH', 'iss is not the tenant the key is certified for');
  if (key.signUntil !== undefined && claims.iat > key.signUntil) {
    throw new CityTrustError('CREDENTIAL_KEY_RETIRED', 'the credential was issued after its key was retired');
  }
  checkTime(claims, opts.now, opts.clockSkewSeconds ?? 60);
  return Object.freeze({ id: credentialId(claims.cti), claims, issuerKey: key, alg: opened.alg, bytes });
}

/** RFC 8392 §3.1.4/§3.1.5 with a tolerance for device clocks. */
export function checkTime(claims: Pick<CredentialClaims, 'nbf' | 'exp'>, nowMs: number, skewSeconds: number): void {
  const now = Math.floor(nowMs / 1000);
  if (now + skewSeconds < claims.nbf) throw new CityTrustError('CREDENTIAL_NOT_YET_VALID', 'the credential is not valid yet');
  if (now - skewSeconds >= claims.exp) throw new CityTrustError('CREDENTIAL_EXPIRED', 'the credential has expired');
}

/**
 * Checks a proof of possession: `signature` (ES256, r‖s) over `data` by the holder key in cnf.
 * What `data` is (a tap transcript, a server nonce) is the protocol's business; it must be fresh.
 */
export function verifyHolderSignature(credential: VerifiedCredential, data: Uint8Array, signature: Uint8Array): void {
  if (!(data instanceof Uint8Array) || !(signature instanceof Uint8Array) || !verifySignature('ES256', credential.claims.holderKey, data, signature, 'raw')) {
    throw new CityTrustError('CREDENTIAL_HOLDER_MISMATCH', 'the proof of possession does not verify with the holder key');
  }
}
