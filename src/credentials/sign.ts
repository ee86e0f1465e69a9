/** Building a credential: claims → deterministic CBOR → COSE_Sign1 by the issuer (a vault key). */
import { createCoseSign1, type CoseSigner } from '../crypto/index.ts';
import { encodeClaims, type CredentialClaims } from './claims.ts';

export interface CreateCredentialInput {
  readonly claims: CredentialClaims;
  readonly signer: CoseSigner;
  /** The issuer key id (8 bytes, keyIdOf), sent unprotected as kid (RFC 9052 §3.1). */
  readonly kid: Uint8Array;
}

/** Tag 18, protected {1: alg}, unprotected {4: kid}: 85 bytes around the claims for ES256 and EdDSA. */
export function createCredential(input: CreateCredentialInput): Promise<Uint8Array> {
  return createCoseSign1({ payload: encodeClaims(input.claims), signer: input.signer, unprotectedHeaders: new Map([[4, input.kid]]) });
}
