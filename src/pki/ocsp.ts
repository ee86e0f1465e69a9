/**
 * The OCSP responder (RFC 6960), signed by each issuing CA's delegated responder certificate
 * (§4.2.2.2). Policy (docs/pki.md, OCSP caching):
 *
 * - A request for one certificate without a nonce is answered from a cache of pre-signed
 *   responses keyed by its CertID (RFC 5019 style). An entry is re-signed at half its validity,
 *   dropped at once when this instance revokes, holds, releases or issues the serial, and its
 *   status is re-read from the store every `ocspRecheckSeconds` so that a revocation made by
 *   another instance is served within that bound.
 * - A request with a nonce (RFC 8954) of 1–32 octets gets a freshly signed response echoing
 *   it; a nonce outside that range is ignored and the cached response served (RFC 8954 §2.1
 *   lets a responder answer without the nonce).
 * - A CertID naming an issuer that is not one of our issuing CAs answers `unauthorized`
 *   (§2.3); a serial we never issued under that CA answers `unknown`.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { CityTrustError, isCityTrustError, type ErrorCode } from '../core/errors.ts';
import type { Store } from '../store/db.ts';
import { bitString, children, enumerated, expectTag, explicit, extensionDer, generalizedTime, octets, oid, oidToString, only, raw, seq, tlv, value } from './x509/asn1.ts';
import { signatureAlgorithmDer, type DerSigner } from './x509/build.ts';
import { readTlv, serialHex } from './x509/der.ts';
import { CRL_REASONS, type RevocationReason } from './x509/extensions.ts';
import { EXT_OCSP_NONCE, OCSP_BASIC, OID_SHA1, OID_SHA256 } from './x509/oids.ts';
import type { CaRecord, CaRegistry } from './cas.ts';
import type { PkiSettings } from './settings.ts';

export const OCSP_MAX_REQUEST_BYTES = 4096;
const MAX_REQUESTS = 10;

/** RFC 6960 §4.2.1 OCSPResponseStatus. */
export const OCSP_STATUS = { successful: 0, malformedRequest: 1, internalError: 2, tryLater: 3, sigRequired: 5, unauthorized: 6 } as const;

export interface ParsedCertId {
  /** The CertID DER as sent: echoed verbatim in the answer. */
  readonly raw: Uint8Array;
  readonly hash: 'sha1' | 'sha256';
  /** `<hash>:<issuerNameHash hex>:<issuerKeyHash hex>`. */
  readonly issuerKey: string;
  readonly serial: string;
}

export interface ParsedOcspRequest {
  readonly certIds: readonly ParsedCertId[];
  /** The nonce extension's extnValue as sent, when it carries 1..32 octets. */
  readonly nonceExtnValue?: Uint8Array;
}

const M = 'PKI_OCSP_MALFORMED' as const;

/** OCSPRequest (§4.1.1) → the CertIDs and nonce; anything else in it is ignored, signatures included. */
export function parseOcspRequest(der: Uint8Array): ParsedOcspRequest {
  if (der.length > OCSP_MAX_REQUEST_BYTES) throw new CityTrustError(M, 'the OCSP request is too large');
  const outer = only(der, 0x30, M, 'OCSPRequest');
  const [tbsT] = children(der, outer, M);
  const tbs = children(der, expectTag(tbsT, 0x30, M, 'tbsRequest'), M);
  let i = 0;
  if (tbs[i]?.tag === 0xa0) i++; // version
  if (tbs[i]?.tag === 0xa1) i++; // requestorName
  const list = children(der, expectTag(tbs[i], 0x30, M, 'requestList'), M);
  if (list.length === 0) throw new CityTrustError(M, 'the OCSP request asks about no certificate');
  if (list.length > MAX_REQUESTS) throw new CityTrustError('PKI_OCSP_UNSUPPORTED', `at most ${MAX_REQUESTS} certificates per OCSP request`);
  const certIds = list.map((req) => {
    const [certIdT] = children(der, expectTag(req, 0x30, M, 'Request'), M);
    const certId = expectTag(certIdT, 0x30, M, 'CertID');
    const [algT, nameT, keyT, serialT, ...more] = children(der, certId, M);
    if (more.length > 0) throw new CityTrustError(M, 'CertID has extra elements');
    const [algOidT, params] = children(der, expectTag(algT, 0x30, M, 'hashAlgorithm'), M);
    if (params && !(params.tag === 0x05 && params.end === params.start)) throw new CityTrustError(M, 'hash parameters must be NULL or absent');
    const algOid = oidToString(value(der, expectTag(algOidT, 0x06, M, 'hash OID')));
    const hash = algOid === OID_SHA1 ? 'sha1' : algOid === OID_SHA256 ? 'sha256' : undefined;
    if (!hash) throw new CityTrustError('PKI_OCSP_UNSUPPORTED', 'CertIDs must use SHA-1 or SHA-256');
    const nameHash = value(der, expectTag(nameT, 0x04, M, 'issuerNameHash'));
    const keyHash = value(der, expectTag(keyT, 0x04, M, 'issuerKeyHash'));
    const serial = value(der, expectTag(serialT, 0x02, M, 'serialNumber'));
    if (serial.length === 0 || serial.length > 21) throw new CityTrustError(M, 'the serial number is out of range');
    return { raw: raw(der, certId), hash, issuerKey: `${hash}:${Buffer.from(nameHash).toString('hex')}:${Buffer.from(keyHash).toString('hex')}`, serial: serialHex(serial) } satisfies ParsedCertId;
  });
  let nonceExtnValue: Uint8Array | undefined;
  const extsT = tbs[i + 1];
  if (extsT?.tag === 0xa2) {
    const exts = only(value(der, extsT), 0x30, M, 'requestExtensions');
    const extBytes = value(der, extsT);
    for (const e of children(extBytes, exts, M)) {
      const parts = children(extBytes, expectTag(e, 0x30, M, 'Extension'), M);
      const id = oidToString(value(extBytes, expectTag(parts[0], 0x06, M, 'extnID')));
      if (id !== EXT_OCSP_NONCE) continue;
      const v = value(extBytes, expectTag(parts[parts.length - 1], 0x04, M, 'extnValue'));
      // RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32)) inside extnValue. Older clients put the
      // bytes directly; either way the extnValue is echoed unchanged.
      let n = v;
      if (v[0] === 0x04) {
        try {
          const t = readTlv(v, 0, M);
          if (t.end === v.length) n = v.subarray(t.start, t.end);
        } catch {
          n = v;
        }
      }
      if (n.length >= 1 && n.length <= 32) nonceExtnValue = v;
    }
  }
  return nonceExtnValue ? { certIds, nonceExtnValue } : { certIds };
}

/** An OCSPResponse carrying only an error status (§4.2.1: no responseBytes). */
export function ocspErrorResponse(status: number): Uint8Array {
  return seq(enumerated(status));
}

export interface OcspSigner {
  readonly certDer: Uint8Array;
  /** SHA-1 of the responder's public key bits: ResponderID byKey (§4.2.1). */
  readonly keyHash: Uint8Array;
  readonly signer: DerSigner;
}

interface StatusRow {
  status: 'good' | 'revoked' | 'hold' | 'unknown';
  revokedAt: number | null;
  reason: RevocationReason | null;
}

interface CacheEntry {
  der: Uint8Array;
  producedAt: number;
  nextUpdate: number;
  checkedAt: number;
  caId: string;
  serial: string;
  row: StatusRow;
}

export interface OcspAnswer {
  readonly der: Uint8Array;
  /** Set when the answer is not `successful`: why, as one of our codes. */
  readonly code?: ErrorCode;
  /** Seconds a shared cache may keep the answer (RFC 5019 §6.2), for GET. */
  readonly maxAge?: number;
}

const MAX_CACHE = 200_000;

export class OcspResponder {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #cas: CaRegistry;
  readonly #settings: PkiSettings;
  readonly #signerFor: (ca: CaRecord) => Promise<OcspSigner>;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #keysBySerial = new Map<string, Set<string>>();
  /**
   * Request bytes (latin1) → CertID cache key, for requests answered from the cache. Clients
   * repeat byte-identical requests, so the hot path can skip parsing; the entry it leads to is
   * the same one, with the same freshness rules, and a dropped entry is simply a miss.
   */
  readonly #byRequest = new Map<string, string>();
  /** Serials whose status is being read and signed; `dirty` when the serial changed meanwhile (the answer is then not cached). */
  readonly #reading = new Map<string, { dirty: boolean; n: number }>();

  constructor(deps: { store: Store; clock: Clock; cas: CaRegistry; settings: PkiSettings; signerFor: (ca: CaRecord) => Promise<OcspSigner> }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#cas = deps.cas;
    this.#settings = deps.settings;
    this.#signerFor = deps.signerFor;
  }

  /** Drops cached answers for a serial (issued, revoked, held, released here). */
  invalidate(serial: string): void {
    const r = this.#reading.get(serial);
    if (r) r.dirty = true;
    const keys = this.#keysBySerial.get(serial);
    if (!keys) return;
    for (const k of keys) this.#cache.delete(k);
    this.#keysBySerial.delete(serial);
  }

  /** Drops every cached answer (a responder certificate changed). */
  clear(): void {
    this.#cache.clear();
    this.#keysBySerial.clear();
    this.#byRequest.clear();
  }

  /**
   * The cached answer to a byte-identical earlier request, synchronously, or undefined (then
   * `respond` decides). A hit must be as fresh as `respond` would require: within half its
   * validity and within `ocspRecheckSeconds` of its last status check; anything else is a miss.
   */
  respondCached(der: Uint8Array): OcspAnswer | undefined {
    if (der.length > OCSP_MAX_REQUEST_BYTES) return undefined;
    const certIdKey = this.#byRequest.get(Buffer.from(der.buffer, der.byteOffset, der.length).toString('latin1'));
    if (certIdKey === undefined) return undefined;
    const e = this.#cache.get(certIdKey);
    if (!e) return undefined;
    const now = this.#clock.now();
    const halfLife = (this.#settings.ocspMinutes * 60_000) / 2;
    if (now >= e.producedAt + halfLife || now >= e.checkedAt + this.#settings.ocspRecheckSeconds * 1000) return undefined;
    return { der: e.der, maxAge: Math.max(0, Math.floor((e.producedAt + halfLife - now) / 1000)) };
  }

  get cacheSize(): number {
    return this.#cache.size;
  }

  /** Answers an OCSPRequest DER; never throws for bad input (the answer carries the error status). */
  async respond(der: Uint8Array): Promise<OcspAnswer> {
    let req: ParsedOcspRequest;
    try {
      req = parseOcspRequest(der);
    } catch (e) {
      const code: ErrorCode = isCityTrustError(e) ? e.code : M;
      return { der: ocspErrorResponse(OCSP_STATUS.malformedRequest), code };
    }
    try {
      const cas: CaRecord[] = [];
      for (const id of req.certIds) {
        const ca = await this.#cas.byCertIdHashes(id.issuerKey);
        if (!ca || ca.purpose === 'root') return { der: ocspErrorResponse(OCSP_STATUS.unauthorized), code: 'PKI_OCSP_ISSUER_UNKNOWN' };
        cas.push(ca);
      }
      // One response has one signer: the delegated responder of one CA (§4.2.2.2).
      if (cas.some((c) => c.id !== cas[0]!.id)) return { der: ocspErrorResponse(OCSP_STATUS.malformedRequest), code: 'PKI_OCSP_UNSUPPORTED' };
      const ca = cas[0]!;
      if (req.certIds.length === 1 && !req.nonceExtnValue) {
        const answer = await this.#cached(ca, req.certIds[0]!);
        const key = Buffer.from(req.certIds[0]!.raw).toString('latin1');
        if (this.#cache.has(key)) {
          if (this.#byRequest.size >= MAX_CACHE) this.#byRequest.clear();
          this.#byRequest.set(Buffer.from(der.buffer, der.byteOffset, der.length).toString('latin1'), key);
        }
        return answer;
      }
      const rows = await Promise.all(req.certIds.map((c) => this.#status(ca, c.serial)));
      const now = this.#clock.now();
      const resp = await this.#sign(ca, req.certIds.map((c, k) => ({ certId: c.raw, row: rows[k]! })), now, req.nonceExtnValue);
      return { der: resp.der, maxAge: 0 };
    } catch (e) {
      // The vault sealed, the store down: tryLater tells clients to come back (§4.2.1).
      return { der: ocspErrorResponse(isCityTrustError(e, 'VAULT_SEALED') || isCityTrustError(e, 'STORE_UNAVAILABLE') ? OCSP_STATUS.tryLater : OCSP_STATUS.internalError), code: isCityTrustError(e) ? e.code : 'INTERNAL' };
    }
  }

  async #cached(ca: CaRecord, certId: ParsedCertId): Promise<OcspAnswer> {
    const key = Buffer.from(certId.raw).toString('latin1');
    const now = this.#clock.now();
    const halfLife = (this.#settings.ocspMinutes * 60_000) / 2;
    let e = this.#cache.get(key);
    if (e && now >= e.producedAt + halfLife) e = undefined;
    if (e && now >= e.checkedAt + this.#settings.ocspRecheckSeconds * 1000) {
      const row = await this.#status(ca, certId.serial);
      if (row.status === e.row.status && row.reason === e.row.reason) e.checkedAt = now;
      else e = undefined;
    }
    if (!e) {
      let reading = this.#reading.get(certId.serial);
      if (!reading) this.#reading.set(certId.serial, (reading = { dirty: false, n: 0 }));
      reading.n++;
      let row: StatusRow;
      let signed: { der: Uint8Array; nextUpdate: number };
      try {
        row = await this.#status(ca, certId.serial);
        signed = await this.#sign(ca, [{ certId: certId.raw, row }], now);
      } finally {
        if (--reading.n === 0) this.#reading.delete(certId.serial);
      }
      // Changed while we read and signed: answer this request, but do not keep the answer.
      if (reading.dirty) return { der: signed.der, maxAge: 0 };
      e = { der: signed.der, producedAt: now, nextUpdate: signed.nextUpdate, checkedAt: now, caId: ca.id, serial: certId.serial, row };
      if (this.#cache.size >= MAX_CACHE) this.clear();
      this.#cache.set(key, e);
      let keys = this.#keysBySerial.get(certId.serial);
      if (!keys) this.#keysBySerial.set(certId.serial, (keys = new Set()));
      keys.add(key);
    }
    return { der: e.der, maxAge: Math.max(0, Math.floor((e.producedAt + halfLife - now) / 1000)) };
  }

  async #status(ca: CaRecord, serial: string): Promise<StatusRow> {
    const r = await this.#store.db.selectFrom('pki_certificates').select(['ca_id', 'status', 'revoked_at', 'reason']).where('serial', '=', serial).executeTakeFirst();
    if (!r || r.ca_id !== ca.id) return { status: 'unknown', revokedAt: null, reason: null };
    return { status: r.status, revokedAt: r.revoked_at === null ? null : Number(r.revoked_at), reason: r.reason as RevocationReason | null };
  }

  async #sign(ca: CaRecord, items: readonly { certId: Uint8Array; row: StatusRow }[], now: number, nonceExtnValue?: Uint8Array): Promise<{ der: Uint8Array; nextUpdate: number }> {
    const signer = await this.#signerFor(ca);
    const nextUpdate = now + this.#settings.ocspMinutes * 60_000;
    const singles = items.map(({ certId, row }) => seq(certId, certStatus(row), generalizedTime(now), explicit(0, generalizedTime(nextUpdate))));
    const responseData = seq(
      tlv(0xa2, octets(signer.keyHash)), // responderID byKey
      generalizedTime(now),
      seq(...singles),
      ...(nonceExtnValue ? [explicit(1, seq(extensionDer(EXT_OCSP_NONCE, false, nonceExtnValue)))] : []),
    );
    const sig = await signer.signer.sign(responseData);
    const basic = seq(responseData, signatureAlgorithmDer(signer.signer.keyType), bitString(sig), explicit(0, seq(signer.certDer)));
    return { der: seq(enumerated(OCSP_STATUS.successful), explicit(0, seq(oid(OCSP_BASIC), octets(basic)))), nextUpdate };
  }
}

/** CertStatus (§4.2.1): good [0] NULL, revoked [1] RevokedInfo, unknown [2] NULL; a hold is `revoked` with reason certificateHold (§2.2). */
function certStatus(row: StatusRow): Uint8Array {
  if (row.status === 'good') return Uint8Array.of(0x80, 0x00);
  if (row.status === 'unknown') return Uint8Array.of(0x82, 0x00);
  const reason = row.status === 'hold' ? 'certificateHold' : row.reason;
  return tlv(0xa1, generalizedTime(row.revokedAt ?? 0), ...(reason && reason !== 'unspecified' ? [explicit(0, enumerated(CRL_REASONS[reason]))] : []));
}

/** SHA-1 of a public key's bits: KeyHash (§4.2.1). */
export function responderKeyHash(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(publicKey).digest());
}
