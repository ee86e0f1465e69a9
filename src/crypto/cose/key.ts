/**
 * COSE_Key (RFC 9052 §7, RFC 9053 §7) to and from node KeyObjects: EC2 P-256/P-384, OKP
 * Ed25519 and Symmetric. Other key types and curves (P-521, X25519, Ed448) are refused with
 * COSE_KEY_UNSUPPORTED. Private keys are imported (test vectors, provisioning) but never exported.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { CityTrustError } from '../../core/errors.ts';
import { bytesEqual } from '../../core/bytes.ts';
import { decodeCbor, CBOR_DEFAULT_LIMITS, type CborLimits } from '../cbor/codec.ts';
import type { KeyKind } from '../algorithms.ts';
import { exportRawPublicKey, importRawPrivateKey, importRawPublicKey, keyKind } from '../keys.ts';
import { secretKey } from '../hash.ts';
import { COSE_ALGORITHM_IDS, coseAlgorithmName, type CoseAlgorithmName } from './algorithms.ts';

/** COSE_Key labels (RFC 9052 §7.1; RFC 9053 §7.1, §7.2, §7.3). */
export const COSE_KEY_LABEL = { kty: 1, kid: 2, alg: 3, keyOps: 4, baseIv: 5, crv: -1, x: -2, y: -3, d: -4, k: -1 } as const;
export const COSE_KTY = { OKP: 1, EC2: 2, Symmetric: 4 } as const;
const CRV_BY_ID: ReadonlyMap<number, KeyKind> = new Map<number, KeyKind>([
  [1, 'P-256'],
  [2, 'P-384'],
  [6, 'Ed25519'],
]);
const CRV_ID: Readonly<Record<KeyKind, number>> = { 'P-256': 1, 'P-384': 2, Ed25519: 6 };
const COORD: Readonly<Record<KeyKind, number>> = { 'P-256': 32, 'P-384': 48, Ed25519: 32 };

export interface CoseKey {
  readonly kty: 'EC2' | 'OKP' | 'Symmetric';
  /** Curve of an EC2/OKP key. */
  readonly kind?: KeyKind;
  readonly publicKey?: KeyObject;
  readonly privateKey?: KeyObject;
  readonly secretKey?: KeyObject;
  readonly kid?: Uint8Array;
  /** The algorithm the key is restricted to, when the COSE_Key names one (label 3). */
  readonly alg?: CoseAlgorithmName;
  readonly baseIv?: Uint8Array;
}

function bad(message: string): never {
  throw new CityTrustError('COSE_KEY_INVALID', message);
}

function bstr(m: ReadonlyMap<unknown, unknown>, label: number, what: string, len?: number): Uint8Array | undefined {
  const v = m.get(label);
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) bad(`${what} is a byte string`);
  if (len !== undefined && v.length !== len) bad(`${what} has the wrong length`);
  return v;
}

/** Parse a COSE_Key given as a decoded map or as its CBOR encoding. */
export function fromCoseKey(input: Uint8Array | ReadonlyMap<unknown, unknown>, opts: { limits?: CborLimits } = {}): CoseKey {
  const m = input instanceof Uint8Array ? decodeCbor(input, { ...(opts.limits ?? CBOR_DEFAULT_LIMITS), allowedTags: [] }) : input;
  if (!(m instanceof Map)) bad('a COSE_Key is a map');
  const kty = m.get(COSE_KEY_LABEL.kty);
  const kid = bstr(m, COSE_KEY_LABEL.kid, 'kid');
  const baseIv = bstr(m, COSE_KEY_LABEL.baseIv, 'Base IV');
  const algRaw = m.get(COSE_KEY_LABEL.alg);
  let alg: CoseAlgorithmName | undefined;
  if (algRaw !== undefined) {
    if (typeof algRaw !== 'number' && typeof algRaw !== 'string') bad('alg is an integer or a text string');
    alg = coseAlgorithmName(algRaw);
    if (alg === undefined) throw new CityTrustError('COSE_KEY_UNSUPPORTED', 'the COSE_Key is bound to an algorithm we do not implement');
  }
  const ops = m.get(COSE_KEY_LABEL.keyOps);
  if (ops !== undefined && (!Array.isArray(ops) || ops.length === 0 || !ops.every((o) => typeof o === 'number' || typeof o === 'string'))) {
    bad('key_ops is a non-empty array of integers or text strings');
  }
  const common = { ...(kid && { kid }), ...(alg && { alg }), ...(baseIv && { baseIv }) };

  if (kty === COSE_KTY.Symmetric) {
    const k = bstr(m, COSE_KEY_LABEL.k, 'k');
    if (k === undefined || k.length === 0) bad('a Symmetric COSE_Key has a non-empty k');
    return { kty: 'Symmetric', secretKey: secretKey(k), ...common };
  }
  if (kty !== COSE_KTY.EC2 && kty !== COSE_KTY.OKP) {
    throw new CityTrustError('COSE_KEY_UNSUPPORTED', 'key type is not EC2, OKP or Symmetric');
  }
  const crv = m.get(COSE_KEY_LABEL.crv);
  const kind = typeof crv === 'number' ? CRV_BY_ID.get(crv) : undefined;
  if (kind === undefined || (kty === COSE_KTY.OKP) !== (kind === 'Ed25519')) {
    throw new CityTrustError('COSE_KEY_UNSUPPORTED', 'curve is not P-256, P-384 (EC2) or Ed25519 (OKP)');
  }
  const size = COORD[kind];
  const x = bstr(m, COSE_KEY_LABEL.x, 'x', size);
  const d = bstr(m, COSE_KEY_LABEL.d, 'd', size);
  let publicKey: KeyObject | undefined;
  if (x !== undefined) {
    if (kind === 'Ed25519') {
      if (m.has(COSE_KEY_LABEL.y)) bad('an OKP key has no y');
      publicKey = importRawPublicKey(kind, x);
    } else {
      const y = m.get(COSE_KEY_LABEL.y);
      let point: Uint8Array;
      if (typeof y === 'boolean') {
        // RFC 9053 §7.1.1: y may be the sign bit of the y-coordinate (point compression).
        point = new Uint8Array(1 + size);
        point[0] = y ? 0x03 : 0x02;
        point.set(x, 1);
      } else if (y instanceof Uint8Array && y.length === size) {
        point = new Uint8Array(1 + 2 * size);
        point[0] = 0x04;
        point.set(x, 1);
        point.set(y, 1 + size);
      } else {
        return bad('y is a coordinate of the curve size or a boolean');
      }
      publicKey = importRawPublicKey(kind, point);
    }
  }
  let privateKey: KeyObject | undefined;
  if (d !== undefined) {
    privateKey = importRawPrivateKey(kind, d);
    const derived = createPublicKey(privateKey);
    // A key whose public half does not belong to d is refused rather than silently split.
    if (publicKey !== undefined && !bytesEqual(exportRawPublicKey(derived), exportRawPublicKey(publicKey))) {
      bad('d does not belong to x/y');
    }
    publicKey ??= derived;
  }
  if (publicKey === undefined) bad('the COSE_Key has neither x nor d');
  return { kty: kind === 'Ed25519' ? 'OKP' : 'EC2', kind, publicKey, ...(privateKey && { privateKey }), ...common };
}

export interface ToCoseKeyOptions {
  readonly kid?: Uint8Array;
  readonly alg?: CoseAlgorithmName;
  /** For EC2 keys: send y as its sign bit (RFC 9053 §7.1.1), saving 32/48 bytes. */
  readonly compressed?: boolean;
}

/** A public or secret KeyObject as a COSE_Key map (encode it with encodeCbor). Private keys are refused. */
export function toCoseKey(key: KeyObject, opts: ToCoseKeyOptions = {}): Map<number, unknown> {
  const m = new Map<number, unknown>();
  if (key.type === 'secret') {
    m.set(COSE_KEY_LABEL.kty, COSE_KTY.Symmetric);
    m.set(COSE_KEY_LABEL.k, new Uint8Array(key.export()));
  } else if (key.type === 'public') {
    const kind = keyKind(key);
    m.set(COSE_KEY_LABEL.kty, kind === 'Ed25519' ? COSE_KTY.OKP : COSE_KTY.EC2);
    m.set(COSE_KEY_LABEL.crv, CRV_ID[kind]);
    if (kind === 'Ed25519') {
      m.set(COSE_KEY_LABEL.x, exportRawPublicKey(key));
    } else {
      const size = COORD[kind];
      const p = exportRawPublicKey(key, 'uncompressed');
      m.set(COSE_KEY_LABEL.x, p.slice(1, 1 + size));
      m.set(COSE_KEY_LABEL.y, opts.compressed === true ? ((p[2 * size] as number) & 1) === 1 : p.slice(1 + size));
    }
  } else {
    throw new CityTrustError('COSE_KEY_INVALID', 'private keys are not exported as COSE_Key');
  }
  if (opts.kid !== undefined) m.set(COSE_KEY_LABEL.kid, opts.kid);
  if (opts.alg !== undefined) m.set(COSE_KEY_LABEL.alg, COSE_ALGORITHM_IDS[opts.alg]);
  return m;
}
