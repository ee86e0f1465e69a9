/**
 * Keys for C2SP signed notes (https://c2sp.org/signed-note): key names, key IDs, verifier
 * keys (vkeys) and a process-local Ed25519 signer for tests and the demo.
 *
 * Only Ed25519 (signature type 0x01) is accepted. The algorithm is fixed by our allow-list,
 * never taken from the note or the vkey: a vkey naming any other type is refused.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { bytesEqual, fromBase64, fromBase64Url, fromHex, toBase64, toBase64Url, toHex } from '../core/bytes.ts';
import type { NoteSigner } from './types.ts';

/** signed-note §Signature types: 0x01 is Ed25519. */
export const ED25519_SIGNATURE_TYPE = 0x01;
export const ED25519_PUBLIC_KEY_SIZE = 32;
export const ED25519_SIGNATURE_SIZE = 64;

/** The public half of a note key, as an operator publishes it. */
export interface NoteVerifierKey {
  readonly name: string;
  /** Raw 32-byte Ed25519 public key (RFC 8032 encoding). */
  readonly publicKey: Uint8Array;
}

const WHITE_SPACE = /\p{White_Space}/u;
// signed-note §Format: no ASCII control characters other than newline anywhere in a note.
const CONTROL = /[\u0000-\u001f]/;

/**
 * signed-note §Format: key names are non-empty, contain no Unicode spaces and no plus.
 * Control characters are refused too: a note may not contain them.
 */
export function isValidKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' && name.length > 0 && name.isWellFormed() && !WHITE_SPACE.test(name) && !CONTROL.test(name) && !name.includes('+')
  );
}

function keyError(message: string): CityTrustError {
  return new CityTrustError('AUDIT_KEY_INVALID', message);
}

function checkKey(key: NoteVerifierKey): void {
  if (typeof key !== 'object' || key === null) throw keyError('verifier key must be an object with a name and a public key');
  if (!isValidKeyName(key.name)) throw keyError('key name must be non-empty without spaces, plus signs or control characters');
  if (!(key.publicKey instanceof Uint8Array) || key.publicKey.length !== ED25519_PUBLIC_KEY_SIZE) {
    throw keyError(`Ed25519 public key must be ${ED25519_PUBLIC_KEY_SIZE} bytes`);
  }
}

/**
 * signed-note §Ed25519 signatures:
 * key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4].
 */
export function ed25519KeyId(name: string, publicKey: Uint8Array): Uint8Array {
  checkKey({ name, publicKey });
  const h = createHash('sha256');
  h.update(name, 'utf8');
  h.update(Uint8Array.of(0x0a, ED25519_SIGNATURE_TYPE));
  h.update(publicKey);
  return new Uint8Array(h.digest().subarray(0, 4));
}

/** signed-note §Verifier keys: `<name>+<hex key ID>+<base64(0x01 || public key)>`. */
export function encodeVerifierKey(key: NoteVerifierKey): string {
  const id = ed25519KeyId(key.name, key.publicKey);
  const material = new Uint8Array(1 + ED25519_PUBLIC_KEY_SIZE);
  material[0] = ED25519_SIGNATURE_TYPE;
  material.set(key.publicKey, 1);
  return `${key.name}+${toHex(id)}+${toBase64(material)}`;
}

/**
 * Parses a vkey strictly: exactly three parts, eight lowercase hex digits, canonical
 * base64 of 0x01 followed by 32 bytes, and a key ID that matches the name and key.
 */
export function parseVerifierKey(vkey: string): NoteVerifierKey & { readonly keyId: Uint8Array } {
  if (typeof vkey !== 'string') throw keyError('verifier key must be a string');
  // The base64 part may itself contain '+', so only the first two separate fields.
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw keyError('verifier key must have three parts separated by "+"');
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  const material64 = vkey.slice(second + 1);
  if (!isValidKeyName(name)) throw keyError('verifier key name is not a valid key name');
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw keyError('verifier key ID must be eight lowercase hex digits');
  const material = decodeCanonicalBase64(material64);
  if (material === undefined) throw keyError('verifier key material is not canonical base64');
  if (material[0] !== ED25519_SIGNATURE_TYPE) throw keyError('only Ed25519 verifier keys (type 0x01) are accepted');
  if (material.length !== 1 + ED25519_PUBLIC_KEY_SIZE) throw keyError('Ed25519 verifier key must hold 32 bytes of key');
  const publicKey = material.slice(1);
  const keyId = ed25519KeyId(name, publicKey);
  if (!bytesEqual(keyId, fromHex(idHex))) throw keyError('verifier key ID does not match its name and key');
  return { name, publicKey, keyId };
}

/** Standard base64 that re-encodes to the same text, so one value has one spelling. @internal */
export function decodeCanonicalBase64(s: string): Uint8Array | undefined {
  let b: Uint8Array;
  try {
    b = fromBase64(s);
  } catch {
    return undefined;
  }
  return toBase64(b) === s ? b : undefined;
}

/** A verifier ready to check signatures: its key ID computed and KeyObject imported once. @internal */
export interface PreparedVerifier {
  readonly name: string;
  readonly keyId: Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

const prepared = new Map<string, PreparedVerifier>();
const PREPARED_MAX = 64;

/** @internal */
export function prepareVerifier(key: NoteVerifierKey): PreparedVerifier {
  checkKey(key);
  const cacheKey = `${key.name}+${toHex(key.publicKey)}`;
  const hit = prepared.get(cacheKey);
  if (hit !== undefined) return hit;
  const keyObject: KeyObject = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(key.publicKey) },
    format: 'jwk',
  });
  const pv: PreparedVerifier = Object.freeze({
    name: key.name,
    keyId: ed25519KeyId(key.name, key.publicKey),
    verify(message: Uint8Array, signature: Uint8Array): boolean {
      // RFC 8032 signatures are exactly 64 bytes; node:crypto's OpenSSL also refuses S ≥ L.
      if (signature.length !== ED25519_SIGNATURE_SIZE) return false;
      return cryptoVerify(null, message, keyObject, signature);
    },
  });
  if (prepared.size >= PREPARED_MAX) prepared.delete(prepared.keys().next().value as string);
  prepared.set(cacheKey, pv);
  return pv;
}

/**
 * A NoteSigner with a fresh Ed25519 key that lives only in this process. For tests and the
 * demo: production checkpoints are signed by a key held in the vault (its NoteSigner is
 * provided by the vault), whose public key operators publish as a vkey.
 */
export function ed25519NoteSigner(name: string): NoteSigner {
  if (!isValidKeyName(name)) throw keyError('key name must be non-empty without spaces, plus signs or control characters');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new CityTrustError('INTERNAL', 'Ed25519 public key export failed');
  const raw = fromBase64Url(jwk.x);
  return Object.freeze({
    name,
    // A copy each time, so no caller can alter the key the signer reports.
    get publicKey(): Uint8Array {
      return raw.slice();
    },
    sign: async (message: Uint8Array): Promise<Uint8Array> => new Uint8Array(cryptoSign(null, message, privateKey)),
  });
}
