/**
 * Certificate path validation for devices (readers, wallets, meters): RFC 5280 §6.1 for the
 * profile citytrust issues. Builds a path from the certificate through the intermediates to
 * a trust anchor, then checks on every link the signature (allow-listed algorithms only),
 * validity at the given time (injected, never read from a clock here), basicConstraints and
 * pathLenConstraint, keyCertSign, name constraints and unknown critical extensions; on the
 * certificate itself key usage, extended key usage and the citytrust profile policy; and,
 * when asked, revocation of every certificate below the anchor by CRL or OCSP response.
 * Each failure has its own code (docs/pki.md, validation codes).
 *
 * Device-side: this file and what it imports never load the store, the server or a vault
 * backend (test/architecture/import-rule.test.ts).
 */
import { CityTrustError, type ErrorCode } from '../core/errors.ts';
import { verifyX509Signature } from './x509/keys.ts';
import { KEY_USAGE_BITS, type KeyUsageName } from './x509/extensions.ts';
import { EKU_ANY } from './x509/oids.ts';
import { PROFILE_TABLE, profileForPolicy, type ProfileName } from './profiles.ts';
import { fingerprint, parseCertificate, type ParsedCert } from './validate-cert.ts';
import { violatesConstraints } from './validate-names.ts';
import { parseCrl, parseOcspResponse, statusByCrl, statusByOcsp } from './validate-revocation.ts';

export interface ValidationOptions {
  /** Trusted certificates (DER): usually the city root; a path ends at one of them. */
  readonly anchors: readonly Uint8Array[];
  /** Untrusted CA certificates that may complete the path (DER). */
  readonly intermediates?: readonly Uint8Array[];
  /** The validation time in ms since the epoch; the caller's clock decides it. */
  readonly time: number;
  /** What the certificate must be for: a citytrust profile (its KU, EKU and policy), or explicit requirements. */
  readonly profile?: ProfileName;
  readonly keyUsage?: readonly KeyUsageName[];
  readonly eku?: readonly string[];
  /** Revocation data; with `required` (the default when given) every certificate below the anchor must be covered. */
  readonly revocation?: {
    readonly crls?: readonly Uint8Array[];
    readonly ocsp?: readonly Uint8Array[];
    /** The nonce the device sent in its OCSP request, which the response must echo. */
    readonly ocspNonce?: Uint8Array;
    readonly required?: boolean;
  };
  /** Longest path, anchor included (default 5). */
  readonly maxDepth?: number;
}

export interface ValidatedPath {
  /** Leaf first, anchor last. */
  readonly path: readonly { readonly subjectDer: Uint8Array; readonly serial: string; readonly fingerprint: string }[];
  readonly serial: string;
  readonly notAfter: number;
  /** The citytrust profile the certificate's policy names, if any. */
  readonly profile?: ProfileName;
  /** SAN entries: `dns:`, `uri:`, `ip:`, `email:`. */
  readonly names: readonly string[];
  readonly spki: Uint8Array;
}

function fail(code: ErrorCode, message: string, c?: ParsedCert, depth?: number): never {
  throw new CityTrustError(code, message, c ? { details: { depth, serial: c.serial } } : undefined);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

function hasKeyUsage(c: ParsedCert, u: KeyUsageName): boolean {
  // An absent keyUsage extension allows every usage (§4.2.1.3).
  if (!c.keyUsage) return true;
  return (c.keyUsage.toNumber() & (1 << KEY_USAGE_BITS[u])) !== 0;
}

/** Candidates that could have issued `c`: same name, and matching key identifiers when both are present. */
function issuersOf(c: ParsedCert, pool: readonly ParsedCert[]): ParsedCert[] {
  return pool.filter((p) => sameBytes(p.subjectDer, c.issuerDer) && !(c.aki && p.ski && !sameBytes(c.aki, p.ski)));
}

export function validateChain(certificate: Uint8Array, o: ValidationOptions): ValidatedPath {
  if (!Number.isFinite(o.time)) throw new CityTrustError('INPUT_INVALID', 'the validation time must be a number of milliseconds');
  const leaf = parseCertificate(certificate);
  const anchors = o.anchors.map(parseCertificate);
  if (anchors.length === 0) throw new CityTrustError('PKI_CHAIN_NO_PATH', 'no trust anchor given');
  const intermediates = (o.intermediates ?? []).map(parseCertificate);
  const maxDepth = o.maxDepth ?? 5;

  // Depth-first path building: the first candidate path that validates wins; otherwise the
  // error of the deepest attempt is reported (it says most about what is wrong).
  let best: { depth: number; error: unknown } | undefined;
  const tryFrom = (path: ParsedCert[]): ParsedCert[] | undefined => {
    const tail = path[path.length - 1]!;
    const anchorHits = anchors.filter((a) => sameBytes(a.der, tail.der) || issuersOf(tail, [a]).length > 0);
    for (const a of anchorHits) {
      const full = sameBytes(a.der, tail.der) ? path : [...path, a];
      if (full.length > maxDepth) {
        if (!best) best = { depth: full.length, error: new CityTrustError('PKI_CHAIN_TOO_LONG', `no path within ${maxDepth} certificates`) };
        continue;
      }
      try {
        checkPath(full, o);
        return full;
      } catch (e) {
        if (!best || full.length >= best.depth) best = { depth: full.length, error: e };
      }
    }
    if (path.length >= maxDepth) {
      if (!best) best = { depth: path.length, error: new CityTrustError('PKI_CHAIN_TOO_LONG', `no path within ${maxDepth} certificates`) };
      return undefined;
    }
    for (const i of issuersOf(tail, intermediates)) {
      if (path.some((p) => sameBytes(p.der, i.der))) continue;
      const r = tryFrom([...path, i]);
      if (r) return r;
    }
    return undefined;
  };
  const path = tryFrom([leaf]);
  if (!path) {
    if (best) throw best.error;
    fail('PKI_CHAIN_NO_PATH', 'no issuer of the certificate leads to a trust anchor', leaf, 0);
  }
  const policyProfile = leaf.policies.map(profileForPolicy).find((p) => p !== undefined);
  return {
    path: path.map((c) => ({ subjectDer: c.subjectDer, serial: c.serial, fingerprint: fingerprint(c.der) })),
    serial: leaf.serial,
    notAfter: leaf.notAfter,
    ...(policyProfile ? { profile: policyProfile } : {}),
    names: [...(leaf.san ?? [])].map((g) => (g.dNSName !== undefined ? `dns:${g.dNSName}` : g.uniformResourceIdentifier !== undefined ? `uri:${g.uniformResourceIdentifier}` : g.iPAddress !== undefined ? `ip:${g.iPAddress}` : g.rfc822Name !== undefined ? `email:${g.rfc822Name}` : 'other')),
    spki: leaf.spkiDer,
  };
}

/** Checks one candidate path, leaf first, anchor last (§6.1.3–6.1.5 for the subset we issue). */
function checkPath(path: readonly ParsedCert[], o: ValidationOptions): void {
  const n = path.length;
  const anchor = path[n - 1]!;
  // §6.1.2 k: max_path_length starts at n; the anchor's own pathLenConstraint applies too.
  let maxPathLength = anchor.basicConstraints?.pathLenConstraint ?? n;
  // From the anchor down, as §6.1 processes it: index n-1 is the anchor, 0 the certificate itself.
  for (let i = n - 1; i >= 0; i--) {
    const c = path[i]!;
    if (c.unknownCritical) fail('PKI_CHAIN_CRITICAL_EXTENSION', `unknown critical extension ${c.unknownCritical}`, c, i);
    if (!c.keyType) fail('PKI_CHAIN_ALG_NOT_ALLOWED', 'a certificate key is not P-256, P-384 or Ed25519', c, i);
    if (o.time < c.notBefore) fail('PKI_CHAIN_NOT_YET_VALID', 'a certificate is not valid yet', c, i);
    if (o.time > c.notAfter) fail('PKI_CHAIN_EXPIRED', 'a certificate has expired', c, i);
    if (i === n - 1) continue; // the anchor is trusted as configured; its signature is not checked
    const issuer = path[i + 1]!;
    // §6.1.3 a: signature with an allow-listed algorithm and the issuer's key.
    if (!c.sigAlg) fail('PKI_CHAIN_ALG_NOT_ALLOWED', 'a certificate is signed with an algorithm outside the allow-list', c, i);
    if (!verifyX509Signature(c.sigAlg, issuer.keyType!, issuer.spkiDer, c.tbs, c.signature)) fail('PKI_CHAIN_SIGNATURE_INVALID', 'a certificate signature does not verify with its issuer key', c, i);
    // §6.1.3 b–c: every CA above constrains the names below it (self-issued intermediates excepted).
    if (!(c.selfIssued && i !== 0)) {
      for (let k = i + 1; k < n; k++) {
        const nc = path[k]!.nameConstraints;
        const bad = nc ? violatesConstraints(c, nc) : undefined;
        if (bad) fail('PKI_CHAIN_NAME_CONSTRAINTS', `${bad} is outside a CA's name constraints`, c, i);
      }
    }
    if (i === 0) break;
    // §6.1.4 k, n: preparing c as the issuer of the next certificate.
    if (!c.basicConstraints?.cA || !hasKeyUsage(c, 'keyCertSign')) fail('PKI_CHAIN_NOT_CA', 'an issuer is not a CA', c, i);
    // §6.1.4 l–m: each non-self-issued intermediate uses up one step of the path length.
    if (!c.selfIssued) {
      if (maxPathLength <= 0) fail('PKI_CHAIN_PATH_LENGTH', "a CA's pathLenConstraint is exceeded", c, i);
      maxPathLength--;
    }
    const plc = c.basicConstraints.pathLenConstraint;
    if (plc !== undefined && plc < maxPathLength) maxPathLength = plc;
  }
  checkLeaf(path[0]!, o);
  if (o.revocation) checkRevocation(path, o);
}

function checkLeaf(leaf: ParsedCert, o: ValidationOptions): void {
  const profile = o.profile ? PROFILE_TABLE[o.profile] : undefined;
  const ku = o.keyUsage ?? profile?.keyUsage ?? [];
  for (const u of ku) if (!hasKeyUsage(leaf, u)) fail('PKI_CHAIN_KEY_USAGE', `the certificate does not allow ${u}`, leaf, 0);
  const eku = o.eku ?? profile?.eku ?? [];
  // §4.2.1.12: an absent EKU places no restriction; anyExtendedKeyUsage is not accepted for a named purpose.
  for (const e of eku) if (leaf.eku && !leaf.eku.includes(e)) fail('PKI_CHAIN_EKU', `the certificate is not for ${e}`, leaf, 0);
  if (eku.length > 0 && leaf.eku?.length === 1 && leaf.eku[0] === EKU_ANY) fail('PKI_CHAIN_EKU', 'anyExtendedKeyUsage does not name the purpose', leaf, 0);
  if (profile) {
    if (!leaf.eku) fail('PKI_CHAIN_EKU', 'a citytrust profile certificate carries an EKU', leaf, 0);
    if (!leaf.policies.includes(profile.policy)) fail('PKI_CHAIN_PROFILE', `the certificate is not a ${profile.name} certificate`, leaf, 0);
    if (leaf.basicConstraints?.cA) fail('PKI_CHAIN_PROFILE', 'a CA certificate is not an end-entity profile', leaf, 0);
  }
}

function checkRevocation(path: readonly ParsedCert[], o: ValidationOptions): void {
  const r = o.revocation!;
  const crls = (r.crls ?? []).map(parseCrl);
  const ocsp = (r.ocsp ?? []).map(parseOcspResponse);
  const required = r.required ?? true;
  for (let i = 0; i < path.length - 1; i++) {
    const c = path[i]!;
    const issuer = path[i + 1]!;
    if (c.ocspNoCheck) continue;
    const byOcsp = statusByOcsp(c, issuer, ocsp, o.time, r.ocspNonce);
    const byCrl = byOcsp === 'good' || byOcsp === 'revoked' ? undefined : statusByCrl(c, issuer, crls, o.time);
    const status = byOcsp === 'revoked' || byCrl === 'revoked' ? 'revoked' : byOcsp === 'good' || byCrl === 'good' ? 'good' : 'unknown';
    if (status === 'revoked') fail('PKI_CHAIN_REVOKED', 'a certificate in the path is revoked', c, i);
    if (status === 'unknown' && required) fail('PKI_CHAIN_REVOCATION_UNKNOWN', 'no current CRL or OCSP response covers a certificate in the path', c, i);
  }
}

export { parseCertificate, type ParsedCert } from './validate-cert.ts';
