/**
 * The trust chain readers use (device-side): one city root → issuer certificates → credentials.
 *
 * The city root is the root CA of the city PKI (docs/pki.md): readers pin that one key. It
 * certifies the credential root (a root certificate, `application/ct-root+cwt`), which signs the
 * issuer certificates and the trust lists and travels in every trust list's unprotected header,
 * so the PKI root signs once and stays out of the daily signing path. A device that pinned the
 * credential root key itself (before the PKI existed) keeps working: the list is signed by it.
 *
 * An issuer certificate is a CWT in a COSE_Sign1 signed by the credential root key, typed
 * `application/ct-issuer+cwt` (RFC 9596 `typ`, header 16), binding a tenant to one issuer key and
 * the one algorithm it signs with. A trust list is a CWT signed by the same key, typed
 * `application/ct-trust+cwt`, carrying every certificate in force; readers refresh it and drop
 * keys that left it. The `typ` keeps the three kinds apart.
 * See docs/credential-format.md §Trust.
 */
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { bytesEqual } from '../core/bytes.ts';
import {
  coseVerifierKey,
  createCoseSign1,
  decodeCbor,
  encodeCbor,
  exportSpkiPublicKey,
  fromCoseKey,
  sha256,
  toCoseKey,
  verifyCoseSign1,
  type CoseSignAlgorithm,
  type CoseSigner,
  type CoseVerifierKey,
  type KeyResolver,
} from '../crypto/index.ts';
import { CLAIM, CNF_COSE_KEY } from './claims.ts';

export const TYP_HEADER = 16;
export const TYP = {
  issuerCertificate: 'application/ct-issuer+cwt',
  trustList: 'application/ct-trust+cwt',
  statusList: 'application/statuslist+cwt',
  rootCertificate: 'application/ct-root+cwt',
} as const;
/** Unprotected header of a trust list: the city root's certificate for the key that signed it (private label, RFC 9052 §3.1). */
export const ROOT_CERTIFICATE_HEADER = -65537;
/** sub of a root certificate: the key it certifies signs issuer certificates and trust lists. */
export const CREDENTIAL_ROOT_SUBJECT = 'credentials';
/** Private-use claims (RFC 8392 §9.1). */
export const TRUST_CLAIM = { signUntil: -65538, certificates: -65539 } as const;
export const CITY_ISSUER = 'city';
export const KID_LENGTH = 8;

export type IssuerAlgorithm = 'ES256' | 'EdDSA';
export const ISSUER_ALGORITHMS: readonly IssuerAlgorithm[] = ['ES256', 'EdDSA'];

/** kid of an issuer or root key: the first 8 bytes of SHA-256 over its canonical SPKI. */
export function keyIdOf(publicKey: KeyObject): Uint8Array {
  return sha256(exportSpkiPublicKey(publicKey)).slice(0, KID_LENGTH);
}

export interface IssuerKeyStatement {
  readonly tenant: string;
  readonly alg: IssuerAlgorithm;
  readonly publicKey: KeyObject;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  /** After rotation: credentials issued (iat) after this time are refused. */
  readonly signUntil?: number;
}

/** A key readers trust, as a verified certificate states it. */
export interface TrustedIssuerKey {
  readonly tenant: string;
  readonly kid: Uint8Array;
  readonly verifier: CoseVerifierKey;
  readonly nbf: number;
  readonly exp: number;
  readonly signUntil: number | undefined;
}

function invalid(message: string, cause?: unknown): never {
  throw new CityTrustError('CREDENTIAL_TRUST_LIST_INVALID', message, cause === undefined ? undefined : { cause });
}

export async function createIssuerCertificate(s: IssuerKeyStatement, root: CoseSigner, rootKid: Uint8Array): Promise<Uint8Array> {
  const claims = new Map<number, unknown>([
    [CLAIM.iss, CITY_ISSUER],
    [CLAIM.sub, s.tenant],
    [CLAIM.iat, s.iat],
    [CLAIM.nbf, s.nbf],
    [CLAIM.exp, s.exp],
    [CLAIM.cnf, new Map([[CNF_COSE_KEY, toCoseKey(s.publicKey, { kid: keyIdOf(s.publicKey), alg: s.alg })]])],
  ]);
  if (s.signUntil !== undefined) claims.set(TRUST_CLAIM.signUntil, s.signUntil);
  return createCoseSign1({
    payload: encodeCbor(claims),
    signer: root,
    protectedHeaders: new Map([[TYP_HEADER, TYP.issuerCertificate]]),
    unprotectedHeaders: new Map([[4, rootKid]]),
  });
}

/** Verifies one payload signed by the root with the expected typ; returns its claims map. */
function rootSigned(bytes: Uint8Array, root: CoseVerifierKey | KeyResolver<CoseVerifierKey>, typ: string): Map<unknown, unknown> {
  let payload: Uint8Array;
  let protectedHeaders: ReadonlyMap<unknown, unknown>;
  // With a resolver the key it returns decides the algorithm (verifyCoseSign1 refuses a message whose alg differs).
  const algorithms = typeof root === 'function' ? ROOT_ALGORITHMS : [root.alg];
  try {
    ({ payload, protectedHeaders } = verifyCoseSign1(bytes, { key: root, algorithms, requireTag: true, limits: { maxBytes: 1 << 20, maxDepth: 8, maxItems: 65536 } }));
  } catch (e) {
    if (isCityTrustError(e, 'CREDENTIAL_TRUST_LIST_INVALID')) throw e;
    invalid('not signed by the pinned city root', e);
  }
  if (protectedHeaders.get(TYP_HEADER) !== typ) invalid(`expected typ ${typ}`);
  let m: unknown;
  try {
    m = decodeCbor(payload, { maxBytes: 1 << 20, maxDepth: 8, maxItems: 65536, allowedTags: [] });
  } catch (e) {
    invalid('the payload is not CBOR', e);
  }
  if (!(m instanceof Map) || m.get(CLAIM.iss) !== CITY_ISSUER) invalid('the payload is not a claims set of the city');
  return m;
}

function seconds(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) invalid(`${what} is a NumericDate`);
  return v;
}

/** Verifies an issuer certificate against the city root; `now` in seconds. */
export function verifyIssuerCertificate(bytes: Uint8Array, opts: { root: CoseVerifierKey; now: number }): TrustedIssuerKey {
  const m = rootSigned(bytes, opts.root, TYP.issuerCertificate);
  const tenant = m.get(CLAIM.sub);
  if (typeof tenant !== 'string' || tenant.length === 0) invalid('sub names the tenant');
  const nbf = seconds(m.get(CLAIM.nbf), 'nbf');
  const exp = seconds(m.get(CLAIM.exp), 'exp');
  if (opts.now < nbf || opts.now >= exp) invalid('the issuer certificate is not valid now');
  const su = m.get(TRUST_CLAIM.signUntil);
  const signUntil = su === undefined ? undefined : seconds(su, 'signUntil');
  const cnf = m.get(CLAIM.cnf);
  if (!(cnf instanceof Map) || !(cnf.get(CNF_COSE_KEY) instanceof Map)) invalid('cnf holds the issuer COSE_Key');
  let verifier: CoseVerifierKey;
  let kid: Uint8Array;
  try {
    const k = fromCoseKey(cnf.get(CNF_COSE_KEY) as Map<unknown, unknown>);
    if (k.alg !== 'ES256' && k.alg !== 'EdDSA') return invalid('the issuer key is bound to ES256 or EdDSA');
    if (k.publicKey === undefined || k.privateKey !== undefined || k.kid === undefined) return invalid('the issuer key is a public key with a kid');
    kid = k.kid;
    if (!bytesEqual(kid, keyIdOf(k.publicKey))) invalid('the kid is not derived from the key');
    verifier = coseVerifierKey(k.alg, k.publicKey, kid);
  } catch (e) {
    if (isCityTrustError(e, 'CREDENTIAL_TRUST_LIST_INVALID')) throw e;
    return invalid('the issuer key is not a valid COSE_Key', e);
  }
  return Object.freeze({ tenant, kid, verifier, nbf, exp, signUntil });
}

/**
 * A trust list signed by the credential root. `rootCertificate` (the city root's statement for
 * that key, see createRootCertificate) lets devices that pin only the city root verify it.
 */
export async function createTrustList(
  input: { certificates: readonly Uint8Array[]; iat: number; exp: number; rootCertificate?: Uint8Array },
  root: CoseSigner,
  rootKid: Uint8Array,
): Promise<Uint8Array> {
  const claims = new Map<number, unknown>([
    [CLAIM.iss, CITY_ISSUER],
    [CLAIM.iat, input.iat],
    [CLAIM.exp, input.exp],
    [TRUST_CLAIM.certificates, [...input.certificates]],
  ]);
  const unprotectedHeaders = new Map<number, unknown>([[4, rootKid]]);
  if (input.rootCertificate !== undefined) unprotectedHeaders.set(ROOT_CERTIFICATE_HEADER, input.rootCertificate);
  return createCoseSign1({ payload: encodeCbor(claims), signer: root, protectedHeaders: new Map([[TYP_HEADER, TYP.trustList]]), unprotectedHeaders });
}

/** Algorithms a pinned city root may use (the PKI root is P-256, P-384 or Ed25519: docs/pki.md). */
export const ROOT_ALGORITHMS: readonly CoseSignAlgorithm[] = ['ES256', 'ES384', 'EdDSA'];

/**
 * The verifier for a pinned root given as an SPKI (the city PKI root certificate's key, or the
 * credential root of GET /v1/credentials/root): P-256 → ES256, P-384 → ES384, Ed25519 → EdDSA.
 */
export function pinnedRootKey(spki: Uint8Array): CoseVerifierKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (e) {
    return invalid('the pinned root is not an SPKI', e);
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const alg: CoseSignAlgorithm | undefined =
    key.asymmetricKeyType === 'ed25519' ? 'EdDSA' : key.asymmetricKeyType === 'ec' && curve === 'prime256v1' ? 'ES256' : key.asymmetricKeyType === 'ec' && curve === 'secp384r1' ? 'ES384' : undefined;
  if (alg === undefined) return invalid('the pinned root is a P-256, P-384 or Ed25519 key');
  return coseVerifierKey(alg, key, keyIdOf(key));
}

/** The city root's statement that `publicKey` is the credential root (ES256), valid nbf..exp. */
export async function createRootCertificate(s: { publicKey: KeyObject; iat: number; nbf: number; exp: number }, cityRoot: CoseSigner, cityKid: Uint8Array): Promise<Uint8Array> {
  const claims = new Map<number, unknown>([
    [CLAIM.iss, CITY_ISSUER],
    [CLAIM.sub, CREDENTIAL_ROOT_SUBJECT],
    [CLAIM.iat, s.iat],
    [CLAIM.nbf, s.nbf],
    [CLAIM.exp, s.exp],
    [CLAIM.cnf, new Map([[CNF_COSE_KEY, toCoseKey(s.publicKey, { kid: keyIdOf(s.publicKey), alg: 'ES256' })]])],
  ]);
  return createCoseSign1({ payload: encodeCbor(claims), signer: cityRoot, protectedHeaders: new Map([[TYP_HEADER, TYP.rootCertificate]]), unprotectedHeaders: new Map([[4, cityKid]]) });
}

/** Verifies a root certificate against the pinned city root; gives the credential root's verifier. */
export function verifyRootCertificate(bytes: Uint8Array, opts: { cityRoot: CoseVerifierKey; now: number }): CoseVerifierKey & { readonly exp: number } {
  const m = rootSigned(bytes, opts.cityRoot, TYP.rootCertificate);
  if (m.get(CLAIM.sub) !== CREDENTIAL_ROOT_SUBJECT) invalid('the root certificate does not name the credential root');
  const nbf = seconds(m.get(CLAIM.nbf), 'nbf');
  const exp = seconds(m.get(CLAIM.exp), 'exp');
  if (opts.now < nbf || opts.now >= exp) invalid('the root certificate is not valid now');
  const cnf = m.get(CLAIM.cnf);
  if (!(cnf instanceof Map) || !(cnf.get(CNF_COSE_KEY) instanceof Map)) invalid('cnf holds the credential root COSE_Key');
  try {
    const k = fromCoseKey(cnf.get(CNF_COSE_KEY) as Map<unknown, unknown>);
    if (k.alg !== 'ES256' || k.publicKey === undefined || k.privateKey !== undefined || k.kid === undefined) return invalid('the credential root is an ES256 public key with a kid');
    if (!bytesEqual(k.kid, keyIdOf(k.publicKey))) return invalid('the kid is not derived from the key');
    return Object.freeze({ ...coseVerifierKey('ES256', k.publicKey, k.kid), exp });
  } catch (e) {
    if (isCityTrustError(e, 'CREDENTIAL_TRUST_LIST_INVALID')) throw e;
    return invalid('the credential root is not a valid COSE_Key', e);
  }
}

/**
 * Picks the key a trust list must verify under. The pinned key signed it (a device that pinned
 * the credential root), or the list's kid is another key and its root certificate, verified
 * against the pinned city root, certifies that key. Anything else finds no key.
 */
function trustListKey(pinned: CoseVerifierKey, now: number, chosen: { key?: CoseVerifierKey }): KeyResolver<CoseVerifierKey> {
  const pinnedKid = pinned.kid ?? keyIdOf(pinned.key);
  return ({ kid, unprotectedHeaders }) => {
    const cert = unprotectedHeaders.get(ROOT_CERTIFICATE_HEADER);
    if (cert === undefined || (kid !== undefined && bytesEqual(kid, pinnedKid))) return (chosen.key = pinned);
    if (!(cert instanceof Uint8Array)) return invalid('the root certificate header is a byte string');
    const key = verifyRootCertificate(cert, { cityRoot: pinned, now });
    if (kid === undefined || !bytesEqual(kid, key.kid as Uint8Array)) return invalid('the trust list is not signed by the certified credential root');
    return (chosen.key = key);
  };
}

/** The issuer keys a reader or wallet trusts, looked up by kid. */
export class CredentialTrust {
  readonly #byKid = new Map<string, TrustedIssuerKey>();
  /** When the trust list was issued and until when it may be used (seconds); undefined for hand-built sets. */
  readonly issuedAt: number | undefined;
  readonly expiresAt: number | undefined;

  private constructor(keys: readonly TrustedIssuerKey[], issuedAt?: number, expiresAt?: number) {
    for (const k of keys) this.#byKid.set(Buffer.from(k.kid).toString('hex'), k);
    this.issuedAt = issuedAt;
    this.expiresAt = expiresAt;
  }

  /** Trusts exactly these keys (tests, or a device provisioned with fixed keys). */
  static of(keys: readonly TrustedIssuerKey[]): CredentialTrust {
    return new CredentialTrust(keys);
  }

  /**
   * Verifies a trust list and every certificate in it against the pinned root — the city PKI root
   * (through the root certificate the list carries) or the credential root itself; `now` in seconds.
   */
  static fromTrustList(bytes: Uint8Array, opts: { root: CoseVerifierKey; now: number }): CredentialTrust {
    const chosen: { key?: CoseVerifierKey } = {};
    const m = rootSigned(bytes, trustListKey(opts.root, opts.now, chosen), TYP.trustList);
    const signer = chosen.key as CoseVerifierKey;
    const iat = seconds(m.get(CLAIM.iat), 'iat');
    const exp = seconds(m.get(CLAIM.exp), 'exp');
    if (opts.now >= exp) invalid('the trust list has expired; fetch a fresh one');
    const certs = m.get(TRUST_CLAIM.certificates);
    if (!Array.isArray(certs) || !certs.every((c) => c instanceof Uint8Array)) invalid('the trust list carries a list of certificates');
    // A certificate not (or no longer) valid is skipped rather than failing the whole list.
    const keys: TrustedIssuerKey[] = [];
    for (const c of certs as Uint8Array[]) {
      try {
        keys.push(verifyIssuerCertificate(c, { root: signer, now: opts.now }));
      } catch (e) {
        if (!isCityTrustError(e, 'CREDENTIAL_TRUST_LIST_INVALID')) throw e;
      }
    }
    return new CredentialTrust(keys, iat, exp);
  }

  keyFor(kid: Uint8Array | undefined): TrustedIssuerKey | undefined {
    return kid === undefined ? undefined : this.#byKid.get(Buffer.from(kid).toString('hex'));
  }

  keys(): TrustedIssuerKey[] {
    return [...this.#byKid.values()];
  }
}
