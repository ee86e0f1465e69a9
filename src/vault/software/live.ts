/**
 * Unsealed key material held in memory while the vault is open.
 *
 * Symmetric keys are Buffers this module allocated, so seal and tamper overwrite them in
 * place. Key pairs are node KeyObjects (parsing PKCS#8 on every signature would cost more
 * than the signature): JavaScript cannot overwrite a KeyObject, so on seal we drop every
 * reference; OpenSSL clears EC and Ed25519 private keys when it frees them (BN_clear_free,
 * OPENSSL_secure_clear_free), which happens when V8 collects the object. docs/vault.md
 * ("Tamper response: guarantees and limits") says what that does and does not promise.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
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
  /** Owned by the vault; zero-filled on seal and tamper. */
  readonly secret: Buffer;
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
  // Buffer.alloc never hands out a slice of the shared pool, so wiping it wipes only this key.
  const secret = Buffer.alloc(32);
  secret.set(material);
  return { kind: 'secret', type, secret };
}

export function wipeLive(v: LiveVersion): void {
  if (v.kind === 'secret') v.secret.fill(0);
  else v.privateKey = undefined;
}

/** Private material back out (backup and wrap only); the caller wipes it. */
export function materialOf(v: LiveVersion): Buffer {
  if (v.kind === 'secret') return Buffer.from(v.secret);
  if (!v.privateKey) throw new CityTrustError('VAULT_SEALED', 'key material is no longer in memory');
  return v.privateKey.export({ format: 'der', type: 'pkcs8' });
}
