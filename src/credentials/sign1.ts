/**
 * The COSE_Sign1 of a credential, verified under the credential profile (device-side, pure):
 *
 *   credential = #6.18([ protected: bstr .cbor {1: -7 / -8}, unprotected: {4: kid}, payload: bstr, signature: bstr ])
 *
 * docs/credential-format.md fixes this shape, so a reader need not run the general COSE header
 * machinery (crit, IV, content type, detached payloads) for every tap: the message is decoded
 * once under the credential limits, anything outside the profile is refused, and the signature
 * is checked with the node:crypto KeyObject of the trusted key. The checks of verifyCoseSign1
 * (RFC 9052 §4.4) all still apply, each with the same code: the tag, the array, the header
 * types, alg protected and on the allow-list, the key found by kid, alg equal to the algorithm
 * the key's certificate binds (never the one the message names), then the signature over
 * Sig_structure = ["Signature1", protected, h'', payload].
 */
import { verify as nodeVerify } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { COSE_ALGORITHM_IDS, decodeCbor, type CborLimits } from '../crypto/index.ts';
import type { CredentialTrust, IssuerAlgorithm, TrustedIssuerKey } from './trust.ts';

const TAG_SIGN1 = 0xd2; // tag 18 in its one-byte form (RFC 8949 §3.4)
const LABEL = { alg: 1, kid: 4 } as const;
const ALG_BY_ID = new Map<unknown, IssuerAlgorithm>([
  [COSE_ALGORITHM_IDS.ES256, 'ES256'],
  [COSE_ALGORITHM_IDS.EdDSA, 'EdDSA'],
]);
const SIGNATURE_LENGTH = 64;
const SIGNATURE1 = new TextEncoder().encode('Signature1');

export interface OpenedSign1 {
  readonly payload: Uint8Array;
  readonly key: TrustedIssuerKey;
  readonly alg: IssuerAlgorithm;
}

function malformed(message: string): never {
  throw new CityTrustError('CREDENTIAL_MALFORMED', message);
}

function notAllowed(message: string): never {
  throw new CityTrustError('CREDENTIAL_ALG_NOT_ALLOWED', message);
}

/**
 * Verifies the signature of a credential and returns its payload and the trusted key. Decoding
 * errors are thrown as CBOR_* codes for the caller to map (./verify.ts).
 */
export function openSign1(bytes: Uint8Array, trust: CredentialTrust, algorithms: readonly IssuerAlgorithm[], limits: CborLimits): OpenedSign1 {
  if (bytes[0] !== TAG_SIGN1) malformed('a credential is a COSE_Sign1 with tag 18');
  const msg = decodeCbor(bytes.subarray(1), { ...limits, allowedTags: [] });
  if (!Array.isArray(msg) || msg.length !== 4) malformed('a COSE_Sign1 is an array of 4');
  const [prot, unprot, payload, signature] = msg as unknown[];
  if (!(prot instanceof Uint8Array) || !(unprot instanceof Map)) malformed('the headers are a byte string and a map');
  if (!(payload instanceof Uint8Array)) malformed('the payload is a byte string (never detached)');
  if (!(signature instanceof Uint8Array)) malformed('the signature is a byte string');

  // RFC 9052 §3.1: alg must be protected; the profile allows nothing else in that bucket.
  let algId: unknown;
  if (prot.length > 0) {
    const p = decodeCbor(prot, { ...limits, allowedTags: [] });
    if (!(p instanceof Map)) malformed('the protected header is a map');
    for (const label of p.keys()) if (label !== LABEL.alg) malformed('the protected header holds alg only');
    algId = p.get(LABEL.alg);
  }
  for (const label of unprot.keys()) {
    if (label === LABEL.alg) {
      if (algId !== undefined) malformed('alg appears in both header buckets');
      notAllowed('alg is not in the protected header');
    }
    if (label !== LABEL.kid) malformed('the unprotected header holds kid only');
  }
  if (algId === undefined) notAllowed('the credential names no algorithm');
  const alg = ALG_BY_ID.get(algId);
  if (alg === undefined || !algorithms.includes(alg)) notAllowed('the algorithm is unknown or not accepted here');

  const kid = unprot.get(LABEL.kid);
  if (kid !== undefined && !(kid instanceof Uint8Array)) malformed('kid is a byte string');
  const key = trust.keyFor(kid as Uint8Array | undefined);
  if (key === undefined) throw new CityTrustError('CREDENTIAL_ISSUER_UNTRUSTED', 'no issuer key of the trust list has this kid');
  // The key's certificate decides the algorithm; the credential may only agree with it.
  if (key.verifier.alg !== alg) throw new CityTrustError('CREDENTIAL_ALG_KEY_MISMATCH', 'the credential names another algorithm than its issuer key is bound to');

  if (signature.length !== SIGNATURE_LENGTH || !verifyRaw(alg, key, sigStructure(prot, payload), signature)) {
    throw new CityTrustError('CREDENTIAL_SIGNATURE_INVALID', 'the credential signature does not verify');
  }
  return { payload, key, alg };
}

function verifyRaw(alg: IssuerAlgorithm, key: TrustedIssuerKey, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    // ES256: node takes the key object bare with a DER signature at less cost than with an
    // options object asking for IEEE P1363, so r‖s (RFC 9053 §2.1) is re-encoded here.
    return alg === 'EdDSA' ? nodeVerify(null, data, key.verifier.key, signature) : nodeVerify('sha256', data, key.verifier.key, ecdsaRawToDer(signature));
  } catch {
    return false;
  }
}

/** Sig_structure for COSE_Sign1 with empty external_aad (RFC 9052 §4.4), in one allocation. */
function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  const parts: [number, Uint8Array][] = [
    [3, SIGNATURE1],
    [2, protectedBytes],
    [2, new Uint8Array(0)],
    [2, payload],
  ];
  let n = 1;
  for (const [, b] of parts) n += headLength(b.length) + b.length;
  const out = new Uint8Array(n);
  out[0] = 0x84; // array(4)
  let o = 1;
  for (const [major, b] of parts) {
    o = writeHead(out, o, major, b.length);
    out.set(b, o);
    o += b.length;
  }
  return out;
}

function headLength(len: number): number {
  return len < 24 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
}

function writeHead(out: Uint8Array, o: number, major: number, len: number): number {
  const m = major << 5;
  if (len < 24) {
    out[o] = m | len;
    return o + 1;
  }
  if (len < 0x100) {
    out[o] = m | 24;
    out[o + 1] = len;
    return o + 2;
  }
  if (len < 0x10000) {
    out[o] = m | 25;
    out[o + 1] = len >> 8;
    out[o + 2] = len & 0xff;
    return o + 3;
  }
  out[o] = m | 26;
  out[o + 1] = (len >>> 24) & 0xff;
  out[o + 2] = (len >>> 16) & 0xff;
  out[o + 3] = (len >>> 8) & 0xff;
  out[o + 4] = len & 0xff;
  return o + 5;
}

/** r‖s (32 + 32 bytes) as a DER ECDSA-Sig-Value (RFC 3279 §2.2.3): minimal unsigned INTEGERs. */
function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const r = derInteger(raw.subarray(0, 32));
  const s = derInteger(raw.subarray(32, 64));
  const out = new Uint8Array(2 + r.length + s.length);
  out[0] = 0x30;
  out[1] = r.length + s.length; // at most 70: the short length form
  out.set(r, 2);
  out.set(s, 2 + r.length);
  return out;
}

function derInteger(v: Uint8Array): Uint8Array {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  const pad = ((v[i] as number) & 0x80) !== 0 ? 1 : 0;
  const body = v.length - i;
  const out = new Uint8Array(2 + pad + body);
  out[0] = 0x02;
  out[1] = pad + body;
  out.set(v.subarray(i), 2 + pad);
  return out;
}
