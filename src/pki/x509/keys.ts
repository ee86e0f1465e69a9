/**
 * The key and signature allow-list of the PKI (docs/pki.md): P-256, P-384 and Ed25519 keys;
 * ecdsa-with-SHA256/384 and Ed25519 signatures. The algorithm a structure names is looked up
 * here and refused unless listed; nothing else about the algorithm is taken from the input.
 */
import { createHash, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { AlgorithmIdentifier, type SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { OID_EC_PUBLIC_KEY, OID_ECDSA_SHA256, OID_ECDSA_SHA384, OID_ED25519 } from './oids.ts';

export type PkiKeyType = 'ec-p256' | 'ec-p384' | 'ed25519';

// ECParameters ::= namedCurve OBJECT IDENTIFIER (RFC 5480 §2.1.1), as DER.
const CURVE_P256 = Buffer.from('06082a8648ce3d030107', 'hex');
const CURVE_P384 = Buffer.from('06052b81040022', 'hex');

/** Which allowed key type an SPKI holds, or null (RSA, other curves, explicit parameters…). */
export function spkiKeyType(spki: SubjectPublicKeyInfo): PkiKeyType | null {
  const alg = spki.algorithm;
  // RFC 8410 §3: the parameters MUST be absent for Ed25519.
  if (alg.algorithm === OID_ED25519) return alg.parameters === undefined || alg.parameters === null ? 'ed25519' : null;
  if (alg.algorithm !== OID_EC_PUBLIC_KEY || !alg.parameters) return null;
  const p = Buffer.from(alg.parameters);
  if (p.equals(CURVE_P256)) return 'ec-p256';
  if (p.equals(CURVE_P384)) return 'ec-p384';
  return null;
}

export interface SignatureAlgorithm {
  readonly oid: string;
  /** node:crypto digest name, or null for Ed25519 (pure EdDSA). */
  readonly hash: 'sha256' | 'sha384' | null;
  readonly keyTypes: readonly PkiKeyType[];
}

// RFC 5758 §3.2: ECDSA AlgorithmIdentifiers have absent parameters. Either hash with either
// curve is allowed, because `openssl req` signs with SHA-256 whatever the curve.
const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = [
  { oid: OID_ECDSA_SHA256, hash: 'sha256', keyTypes: ['ec-p256', 'ec-p384'] },
  { oid: OID_ECDSA_SHA384, hash: 'sha384', keyTypes: ['ec-p256', 'ec-p384'] },
  { oid: OID_ED25519, hash: null, keyTypes: ['ed25519'] },
];

/** The allowed algorithm an AlgorithmIdentifier names, or null. Parameters must be absent. */
export function signatureAlgorithm(alg: AlgorithmIdentifier): SignatureAlgorithm | null {
  if (alg.parameters !== undefined && alg.parameters !== null) return null;
  return SIGNATURE_ALGORITHMS.find((a) => a.oid === alg.algorithm) ?? null;
}

/** The AlgorithmIdentifier a CA key of this type signs with (the curve decides the hash). */
export function signingAlgorithm(type: PkiKeyType): AlgorithmIdentifier {
  const oid = type === 'ed25519' ? OID_ED25519 : type === 'ec-p384' ? OID_ECDSA_SHA384 : OID_ECDSA_SHA256;
  return new AlgorithmIdentifier({ algorithm: oid });
}

const keyCache = new Map<string, KeyObject>();

/** A node KeyObject for SPKI DER; cached because the same CA keys verify again and again. */
export function publicKeyObject(spkiDer: Uint8Array): KeyObject {
  const id = createHash('sha256').update(spkiDer).digest('base64');
  let k = keyCache.get(id);
  if (!k) {
    k = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
    if (keyCache.size > 1024) keyCache.clear();
    keyCache.set(id, k);
  }
  return k;
}

/**
 * Verifies an X.509-style signature (DER Ecdsa-Sig-Value or raw Ed25519) with an allowed
 * algorithm whose key type matches the key; false for any mismatch, never a throw on bad bytes.
 */
export function verifyX509Signature(alg: SignatureAlgorithm, keyType: PkiKeyType, spkiDer: Uint8Array, data: Uint8Array, sig: Uint8Array): boolean {
  if (!alg.keyTypes.includes(keyType)) return false;
  try {
    const key = publicKeyObject(spkiDer);
    return nodeVerify(alg.hash, data, { key, dsaEncoding: 'der' }, sig);
  } catch {
    return false;
  }
}
