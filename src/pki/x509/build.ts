/**
 * Builds and signs X.509 certificates and CRLs. The TBS part is written as DER here
 * (./asn1.ts); the signature comes from a `DerSigner`, which for CA keys is the vault
 * (`vault.sign(..., {format:'der'})`), so no CA private key is ever in this process.
 * Writing the TBS ourselves rather than handing a CryptoKey to a generator keeps the signing
 * call explicit and leaves nothing about the certificate for a library to decide.
 */
import { bitString, explicit, seq, setOf, smallUint, uint, utf8, oid, x509Time } from './asn1.ts';
import { AT_COMMON_NAME, AT_ORGANIZATION, AT_ORGANIZATIONAL_UNIT, OID_ECDSA_SHA256, OID_ECDSA_SHA384, OID_ED25519 } from './oids.ts';
import type { PkiKeyType } from './keys.ts';

/** Signs DER bytes: ECDSA as a DER Ecdsa-Sig-Value (RFC 5480 §2.2), Ed25519 raw (RFC 8410 §6). */
export interface DerSigner {
  readonly keyType: PkiKeyType;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** AlgorithmIdentifier DER of the signature a key of this type makes; parameters absent (RFC 5758 §3.2, RFC 8410 §3). */
export function signatureAlgorithmDer(type: PkiKeyType): Uint8Array {
  return seq(oid(type === 'ed25519' ? OID_ED25519 : type === 'ec-p384' ? OID_ECDSA_SHA384 : OID_ECDSA_SHA256));
}

const AT: Record<'CN' | 'O' | 'OU', string> = { CN: AT_COMMON_NAME, O: AT_ORGANIZATION, OU: AT_ORGANIZATIONAL_UNIT };

/** Name DER, most significant RDN first; one attribute per RDN, UTF8String values (RFC 5280 §4.1.2.6). */
export function nameDer(rdns: readonly (readonly ['CN' | 'O' | 'OU', string])[]): Uint8Array {
  return seq(...rdns.map(([k, v]) => setOf(seq(oid(AT[k]), utf8(v)))));
}

export interface CertificateSpec {
  /** Serial magnitude, positive, at most 20 octets (RFC 5280 §4.1.2.2). */
  readonly serial: Uint8Array;
  /** The issuer CA's subject Name DER, byte for byte (RFC 5280 §7.1 name chaining). */
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  /** SubjectPublicKeyInfo DER as received (already checked against the allow-list). */
  readonly spki: Uint8Array;
  /** Extension DERs in the order they appear. */
  readonly extensions: readonly Uint8Array[];
}

export function tbsCertificate(spec: CertificateSpec, keyType: PkiKeyType): Uint8Array {
  return seq(
    explicit(0, smallUint(2)), // v3
    uint(spec.serial),
    signatureAlgorithmDer(keyType),
    spec.issuer,
    seq(x509Time(spec.notBefore), x509Time(spec.notAfter)),
    spec.subject,
    spec.spki,
    explicit(3, seq(...spec.extensions)),
  );
}

/** SEQUENCE { tbs, signatureAlgorithm, signatureValue BIT STRING } — certificates and CRLs alike. */
export async function signTbs(tbs: Uint8Array, signer: DerSigner): Promise<Uint8Array> {
  const sig = await signer.sign(tbs);
  return seq(tbs, signatureAlgorithmDer(signer.keyType), bitString(sig));
}

export async function buildCertificate(spec: CertificateSpec, signer: DerSigner): Promise<Uint8Array> {
  return signTbs(tbsCertificate(spec, signer.keyType), signer);
}

export interface CrlEntry {
  readonly serial: Uint8Array;
  readonly revokedAt: number;
  readonly entryExtensions: readonly Uint8Array[];
}

export interface CrlSpec {
  readonly issuer: Uint8Array;
  readonly thisUpdate: number;
  readonly nextUpdate: number;
  readonly entries: readonly CrlEntry[];
  readonly extensions: readonly Uint8Array[];
}

/** RFC 5280 §5.1: a v2 CRL. */
export async function buildCrl(spec: CrlSpec, signer: DerSigner): Promise<Uint8Array> {
  const revoked = spec.entries.map((e) =>
    e.entryExtensions.length > 0 ? seq(uint(e.serial), x509Time(e.revokedAt), seq(...e.entryExtensions)) : seq(uint(e.serial), x509Time(e.revokedAt)),
  );
  const tbs = seq(
    smallUint(1), // v2
    signatureAlgorithmDer(signer.keyType),
    spec.issuer,
    x509Time(spec.thisUpdate),
    x509Time(spec.nextUpdate),
    // §5.1.2.6: with no revoked certificates the list is absent, not empty.
    ...(revoked.length > 0 ? [seq(...revoked)] : []),
    explicit(0, seq(...spec.extensions)),
  );
  return signTbs(tbs, signer);
}

