/**
 * Building a credential: claims → deterministic CBOR → COSE_Sign1 by the issuer (a vault key).
 *
 * The credential profile of COSE_Sign1 is fixed (docs/credential-format.md): tag 18, protected
 * {1: alg}, unprotected {4: kid}, an attached payload and no external AAD. So the Sig_structure
 * (RFC 9052 §4.4) and the message are written byte by byte here instead of through the generic
 * encoder, which is a measurable share of the issue path; test/credentials/format.test.ts checks
 * that both give the same bytes.
 */
import { CityTrustError } from '../core/errors.ts';
import { createCoseSign1, type CoseSigner } from '../crypto/index.ts';
import { encodeClaims, type CredentialClaims } from './claims.ts';
import { cborHead } from './cbor-write.ts';

export interface CreateCredentialInput {
  readonly claims: CredentialClaims;
  readonly signer: CoseSigner;
  /** The issuer key id (8 bytes, keyIdOf), sent unprotected as kid (RFC 9052 §3.1). */
  readonly kid: Uint8Array;
}

/** The protected bucket {1: alg} as bytes: ES256 is -7 (0x26), EdDSA -8 (0x27). */
const PROTECTED: Readonly<Record<string, Uint8Array>> = { ES256: Uint8Array.of(0xa1, 0x01, 0x26), EdDSA: Uint8Array.of(0xa1, 0x01, 0x27) };
/** ["Signature1", protected, external_aad h'', …: array(4), text(10) "Signature1". */
const SIG1_CONTEXT = Uint8Array.of(0x84, 0x6a, 0x53, 0x69, 0x67, 0x6e, 0x61, 0x74, 0x75, 0x72, 0x65, 0x31);
const SIGNATURE_LENGTH = 64;

/** Tag 18, protected {1: alg}, unprotected {4: kid}: 85 bytes around the claims for ES256 and EdDSA. */
export async function createCredential(input: CreateCredentialInput): Promise<Uint8Array> {
  const payload = encodeClaims(input.claims);
  const prot = PROTECTED[input.signer.alg];
  const { kid } = input;
  // Other algorithms and kid lengths (not issued by this platform) take the generic path.
  if (prot === undefined || kid.length === 0 || kid.length >= 24) {
    return createCoseSign1({ payload, signer: input.signer, unprotectedHeaders: new Map([[4, kid]]) });
  }
  const head = cborHead(2, payload.length);
  const tbs = new Uint8Array(SIG1_CONTEXT.length + 1 + prot.length + 1 + head.length + payload.length);
  let o = 0;
  tbs.set(SIG1_CONTEXT, o);
  o += SIG1_CONTEXT.length;
  tbs[o++] = 0x43; // bstr(3): the protected bucket
  tbs.set(prot, o);
  o += prot.length;
  tbs[o++] = 0x40; // external_aad: h''
  tbs.set(head, o);
  tbs.set(payload, o + head.length);
  const signature = await input.signer.sign(tbs);
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) {
    throw new CityTrustError('CRYPTO_SIGNATURE_ENCODING', `the signer returned no raw ${input.signer.alg} signature`);
  }
  // d2 84 | 43 a1 01 xx | a1 04 <bstr kid> | <bstr payload> | 58 40 <signature>
  const out = new Uint8Array(2 + 1 + prot.length + 2 + 1 + kid.length + head.length + payload.length + 2 + SIGNATURE_LENGTH);
  o = 0;
  out[o++] = 0xd2;
  out[o++] = 0x84;
  out[o++] = 0x43;
  out.set(prot, o);
  o += prot.length;
  out[o++] = 0xa1;
  out[o++] = 0x04;
  out[o++] = 0x40 + kid.length;
  out.set(kid, o);
  o += kid.length;
  out.set(head, o);
  o += head.length;
  out.set(payload, o);
  o += payload.length;
  out[o++] = 0x58;
  out[o++] = SIGNATURE_LENGTH;
  out.set(signature, o);
  return out;
}
