/**
 * TUF public keys (specification §4.2, "KEYS"): the two key types we accept, their keyids,
 * and the allow-list every verifier applies before trusting metadata. Device-side.
 *
 *   ed25519:             {"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"<64 hex>"}}
 *   ecdsa-sha2-nistp256: {"keytype":"ecdsa-sha2-nistp256","scheme":"ecdsa-sha2-nistp256","keyval":{"public":"<SPKI PEM>"}}
 *
 * The keyid is the hex SHA-256 of the canonical JSON (OLPC) of that object (§4.2).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { canonicalize } from '@tufjs/canonical-json';
import { CityTrustError } from '../core/errors.ts';

export const TUF_KEY_TYPES = ['ed25519', 'ecdsa-sha2-nistp256'] as const;
export type TufKeyType = (typeof TUF_KEY_TYPES)[number];

export interface TufPublicKey {
  readonly keytype: TufKeyType;
  readonly scheme: TufKeyType;
  readonly keyval: { readonly public: string };
}

const HEX64 = /^[0-9a-f]{64}$/;
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function keyId(key: TufPublicKey): string {
  return createHash('sha256').update(canonicalize({ keytype: key.keytype, scheme: key.scheme, keyval: { public: key.keyval.public } })).digest('hex');
}

/** The TUF key object for a public key given as SPKI DER (what the vault reports). */
export function tufKeyFromSpki(spki: Uint8Array): TufPublicKey {
  let k: KeyObject;
  try {
    k = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (e) {
    throw new CityTrustError('UPDATE_KEY_INVALID', 'the public key is not a valid SubjectPublicKeyInfo', { cause: e });
  }
  return tufKeyFromKeyObject(k);
}

export function tufKeyFromKeyObject(k: KeyObject): TufPublicKey {
  if (k.asymmetricKeyType === 'ed25519') {
    const der = k.export({ format: 'der', type: 'spki' });
    return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: der.subarray(ED25519_SPKI_PREFIX.length).toString('hex') } };
  }
  if (k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return { keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256', keyval: { public: k.export({ format: 'pem', type: 'spki' }).toString() } };
  }
  throw new CityTrustError('UPDATE_KEY_TYPE_NOT_ALLOWED', 'only Ed25519 and ECDSA P-256 keys may sign TUF metadata');
}

/**
 * Parses a key object from metadata (or an operator) against the allow-list: the keytype and
 * scheme must be one of ours and agree, and the key material must be a valid key of that type.
 * Returns the KeyObject to verify with, so the algorithm comes from here, never from the input.
 */
export function parseTufKey(raw: unknown): { key: TufPublicKey; keyObject: KeyObject } {
  if (raw === null || typeof raw !== 'object') throw new CityTrustError('UPDATE_KEY_INVALID', 'a key is an object {keytype, scheme, keyval}');
  const r = raw as Record<string, unknown>;
  const keyval = r.keyval as Record<string, unknown> | undefined;
  if (!(TUF_KEY_TYPES as readonly unknown[]).includes(r.keytype) || r.scheme !== r.keytype) {
    throw new CityTrustError('UPDATE_KEY_TYPE_NOT_ALLOWED', `key type ${JSON.stringify(r.keytype)} with scheme ${JSON.stringify(r.scheme)} is not allowed; use ed25519 or ecdsa-sha2-nistp256`);
  }
  if (keyval === null || typeof keyval !== 'object' || typeof keyval.public !== 'string') throw new CityTrustError('UPDATE_KEY_INVALID', 'keyval.public must be a string');
  const keytype = r.keytype as TufKeyType;
  const pub = keyval.public;
  let keyObject: KeyObject;
  try {
    if (keytype === 'ed25519') {
      if (!HEX64.test(pub)) throw new Error('not 64 lower-case hex digits');
      keyObject = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(pub, 'hex')]), format: 'der', type: 'spki' });
    } else {
      keyObject = createPublicKey({ key: pub, format: 'pem' });
      if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('not a P-256 key');
    }
  } catch (e) {
    throw new CityTrustError('UPDATE_KEY_INVALID', `keyval.public is not a valid ${keytype} public key`, { cause: e });
  }
  return { key: { keytype, scheme: keytype, keyval: { public: pub } }, keyObject };
}
