/**
 * Unsealed key material held in memory while the vault is open: node KeyObjects, because
 * handing node a raw Buffer key costs a key import on every call (AES-GCM 1 KiB ran at a third
 * of the KeyObject speed) and parsing PKCS#8 per signature costs more than the signature.
 *
 * JavaScript cannot overwrite a KeyObject's native memory. Seal and tamper therefore drop every
 * reference at once, and every plaintext Buffer this module touches on the way in (PKCS#8, raw
 * secrets) is zero-filled right after the KeyObject is made. Clearing of the native copy is
 * left to node and OpenSSL when the object is collected; docs/vault.md ("Tamper response:
 * guarantees and limits") says what that does and does not promise.
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import type { KeyType } from '../types.ts';
import { isAsymmetric, privateKeyFromMaterial, rawPublicKey, spkiOf, type AsymmetricType } from '../ops.ts';
import { CityTrustError } from '../../core/errors.ts';

export interface LiveAsymmetric {
  readonly kind: 'asymmetric';
  readonly type: AsymmetricType;
  privateKey: KeyObject | undefined;
  readonly publicKey: KeyObject;
  readonly spki: Uint8Array;
  readonly raw: Uint8Array;
}

export interface LiveSecret {
  readonly kind: 'secret';
  readonly type: 'aes-256-gcm' | 'hmac-sha256';
  /** Dropped on seal and tamper. */
  key: KeyObject | undefined;
}

export type LiveVersion = LiveAsymmetric | LiveSecret;

/** Builds live material from plaintext material; the caller wipes `material` afterwards. */
export function liveFromMaterial(type: KeyType, material: Uint8Array): LiveVersion {
  if (isAsymmetric(type)) {
    const privateKey = privateKeyFromMaterial(type, material);
    const publicKey = createPublicKey(privateKey);
    return { kind: 'asymmetric', type, privateKey, publicKey, spki: spkiOf(publicKey), raw: rawPublicKey(publicKey) };
  }
  if (material.length !== 32) throw new CityTrustError('INPUT_INVALID', `a ${type} key is 32 bytes`);
  return { kind: 'secret', type, key: createSecretKey(Buffer.from(material.buffer, material.byteOffset, material.byteLength)) };
}

export function wipeLive(v: LiveVersion): void {
  if (v.kind === 'secret') v.key = undefined;
  else v.privateKey = undefined;
}

export function secretOf(v: LiveVersion): KeyObject {
  if (v.kind !== 'secret' || !v.key) throw new CityTrustError('VAULT_SEALED', 'key material is no longer in memory');
  return v.key;
}

/** Private material back out (backup and wrap only); the caller wipes it. */
export function materialOf(v: LiveVersion): Buffer {
  if (v.kind === 'secret') return secretOf(v).export();
  if (!v.privateKey) throw new CityTrustError('VAULT_SEALED', 'key material is no longer in memory');
  return v.privateKey.export({ format: 'der', type: 'pkcs8' });
}
