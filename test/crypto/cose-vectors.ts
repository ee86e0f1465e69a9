/**
 * Reading the COSE WG Examples (../shared/vectors/cose) into our types. Test-only. The JSON
 * names algorithms and headers by strings; the tables below map them to the IANA numbers the
 * vectors were generated with (IANA "COSE Algorithms" and "COSE Header Parameters"), including
 * algorithms we deliberately do not implement, so the tests can show those being refused.
 */
import assert from 'node:assert/strict';
import { fromBase64Url } from '../../src/core/bytes.ts';
import { isCityTrustError, type ErrorCode } from '../../src/core/errors.ts';
import { hex, loadJson } from './vectors.ts';

export const ALG_IDS: Readonly<Record<string, number>> = {
  ES256: -7,
  ES384: -35,
  ES512: -36,
  EdDSA: -8,
  HS256: 5,
  'HS256/64': 4,
  HS384: 6,
  HS512: 7,
  A128GCM: 1,
  A192GCM: 2,
  A256GCM: 3,
  'AES-CCM-16-128/64': 10,
  'AES-CCM-16-256/64': 11,
  direct: -6,
  'ECDH-ES': -25,
  'ECDH-ES-512': -26,
  'ECDH-SS': -27,
  'ECDH-SS-256': -27,
  'ECDH-SS-512': -28,
  'HKDF-HMAC-SHA-256': -10,
  'HKDF-HMAC-SHA-512': -11,
};

const utf8 = (s: unknown): Uint8Array => new TextEncoder().encode(String(s));

/** A header bucket of the JSON input as the labelled map a sender would write. */
export function headersFromJson(json: Record<string, unknown> | undefined): Map<number, unknown> {
  const m = new Map<number, unknown>();
  for (const [name, v] of Object.entries(json ?? {})) {
    switch (name) {
      case 'alg': {
        const id = ALG_IDS[String(v)];
        assert.ok(id !== undefined, `unknown algorithm name ${String(v)} in a vector`);
        m.set(1, id);
        break;
      }
      case 'ctyp':
        m.set(3, v);
        break;
      case 'kid':
        m.set(4, utf8(v));
        break;
      case 'IV_hex':
        m.set(5, hex(v));
        break;
      case 'partialIV_hex':
        m.set(6, hex(v));
        break;
      case 'salt':
        m.set(-20, utf8(v));
        break;
      case 'apu_id':
        m.set(-21, utf8(v));
        break;
      case 'apu_nonce':
        m.set(-22, utf8(v));
        break;
      case 'apu_other':
        m.set(-23, utf8(v));
        break;
      case 'apv_id':
        m.set(-24, utf8(v));
        break;
      case 'apv_nonce':
        m.set(-25, utf8(v));
        break;
      case 'apv_other':
        m.set(-26, utf8(v));
        break;
      default:
        throw new Error(`header ${name} in a vector has no mapping`);
    }
  }
  return m;
}

function keyBytes(json: Record<string, unknown>, name: string): Uint8Array | undefined {
  if (typeof json[`${name}_hex`] === 'string') return hex(json[`${name}_hex`]);
  if (typeof json[name] === 'string') return fromBase64Url(json[name] as string);
  return undefined;
}

const KTY: Readonly<Record<string, number>> = { OKP: 1, EC: 2, oct: 4 };
const CRV: Readonly<Record<string, number>> = { 'P-256': 1, 'P-384': 2, 'P-521': 3, X25519: 4, X448: 5, Ed25519: 6, Ed448: 7 };

/** The JSON (JWK-like) key of a vector as a COSE_Key map, to be read by our fromCoseKey. */
export function coseKeyMapFromJson(json: Record<string, unknown>, opts: { publicOnly?: boolean } = {}): Map<number, unknown> {
  const m = new Map<number, unknown>();
  const kty = KTY[String(json.kty)];
  assert.ok(kty !== undefined, `unknown kty ${String(json.kty)}`);
  m.set(1, kty);
  if (kty === 4) {
    m.set(-1, keyBytes(json, 'k'));
    return m;
  }
  m.set(-1, CRV[String(json.crv)]);
  const x = keyBytes(json, 'x');
  const y = keyBytes(json, 'y');
  const d = keyBytes(json, 'd');
  if (x) m.set(-2, x);
  if (y) m.set(-3, y);
  if (d && opts.publicOnly !== true) m.set(-4, d);
  return m;
}

export function plaintextOf(input: Record<string, unknown>): Uint8Array {
  if (typeof input.plaintext_hex === 'string') return hex(input.plaintext_hex);
  return utf8(input.plaintext);
}

export interface CoseVector {
  readonly name: string;
  readonly title: string;
  readonly fail: boolean;
  // Parse boundary: the vector JSON, narrowed where read.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly input: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly intermediates: any;
  readonly output: Uint8Array;
}

export function loadCose(dir: string, file: string): CoseVector {
  const j = loadJson('cose', dir, file);
  return {
    name: file.replace(/\.json$/, ''),
    title: String(j.title),
    fail: j.fail === true,
    input: j.input,
    intermediates: j.intermediates ?? {},
    output: hex(String(j.output.cbor).toLowerCase()),
  };
}

/** Runs `f` and returns the CityTrustError code it threw; fails the test if it did not throw one. */
export async function codeOf(f: () => unknown): Promise<ErrorCode> {
  try {
    await f();
  } catch (e) {
    if (isCityTrustError(e)) return e.code;
    throw e;
  }
  assert.fail('expected a CityTrustError');
}

export function toHexUpper(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').toUpperCase();
}
