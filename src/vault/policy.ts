/**
 * Key policy shared by every backend: which usages a key type can have, what a call needs,
 * and the input checks that run before any state is touched.
 */
import { randomBytes } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { KEY_TYPES, type CreateKeyOptions, type KeyInfo, type KeyType, type KeyUsage, type VaultCaller } from './types.ts';

export const ALLOWED_USAGES: Readonly<Record<KeyType, readonly KeyUsage[]>> = {
  'ec-p256': ['sign', 'verify', 'derive'],
  'ec-p384': ['sign', 'verify', 'derive'],
  ed25519: ['sign', 'verify'],
  'aes-256-gcm': ['encrypt', 'decrypt', 'wrap', 'unwrap'],
  'hmac-sha256': ['mac', 'verify'],
};

const DEFAULT_USAGES: Readonly<Record<KeyType, readonly KeyUsage[]>> = {
  'ec-p256': ['sign', 'verify'],
  'ec-p384': ['sign', 'verify'],
  ed25519: ['sign', 'verify'],
  'aes-256-gcm': ['encrypt', 'decrypt'],
  'hmac-sha256': ['mac', 'verify'],
};

/** Usages an old (retired) version keeps: it can check and open what it made, never make more. */
export const RETIRED_USAGES: ReadonlySet<KeyUsage> = new Set(['verify', 'decrypt', 'unwrap']);

/** Upper bounds on inputs; larger ones are refused with INPUT_TOO_LARGE before any work. */
export const LIMITS = {
  data: 16 * 1024 * 1024,
  aad: 64 * 1024,
  label: 128,
  wrapped: 64 * 1024,
  archive: 256 * 1024 * 1024,
} as const;

const KEY_ID = /^vk_[0-9a-f]{32}$/;
const TENANT = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function newKeyId(): string {
  return `vk_${randomBytes(16).toString('hex')}`;
}

export function checkKeyId(keyId: unknown): string {
  if (typeof keyId !== 'string' || !KEY_ID.test(keyId)) {
    throw new CityTrustError('INPUT_INVALID', 'key id must be vk_ followed by 32 hex digits');
  }
  return keyId;
}

export function checkCaller(caller: unknown): VaultCaller {
  const c = caller as Partial<VaultCaller> | null;
  if (c === null || typeof c !== 'object' || typeof c.actor !== 'string' || c.actor.length === 0 || c.actor.length > 200) {
    throw new CityTrustError('INPUT_INVALID', 'caller needs an actor');
  }
  if (c.tenant !== null && (typeof c.tenant !== 'string' || !TENANT.test(c.tenant))) {
    throw new CityTrustError('INPUT_INVALID', 'caller tenant must be null (city) or a tenant id');
  }
  return { actor: c.actor, tenant: c.tenant };
}

export function checkBytes(name: string, value: unknown, max: number, min = 0): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CityTrustError('INPUT_INVALID', `${name} must be bytes`);
  if (value.length > max) throw new CityTrustError('INPUT_TOO_LARGE', `${name} is longer than ${max} bytes`);
  if (value.length < min) throw new CityTrustError('INPUT_INVALID', `${name} is shorter than ${min} bytes`);
  return value;
}

export function checkLabel(label: unknown): string {
  // Printable text only: labels end up in logs, audit events and terminal tables.
  if (typeof label !== 'string' || label.length === 0 || label.length > LIMITS.label || /[\p{Cc}\p{Cf}]/u.test(label)) {
    throw new CityTrustError('INPUT_INVALID', `label must be 1..${LIMITS.label} printable characters`);
  }
  return label;
}

export interface ValidKeySpec {
  readonly type: KeyType;
  readonly label: string;
  readonly usages: readonly KeyUsage[];
  readonly extractable: boolean;
}

/** The description of a key's first version, as both backends record it. */
export function initialKeyInfo(id: string, caller: VaultCaller, spec: ValidKeySpec, now: number): KeyInfo {
  return {
    id,
    label: spec.label,
    tenant: caller.tenant,
    type: spec.type,
    usages: spec.usages,
    extractable: spec.extractable,
    currentVersion: 1,
    versions: [{ version: 1, state: 'active', createdAt: now }],
    createdAt: now,
  };
}

export function checkCreateOptions(options: unknown): ValidKeySpec {
  const o = options as Partial<CreateKeyOptions> | null;
  if (o === null || typeof o !== 'object') throw new CityTrustError('INPUT_INVALID', 'key options are missing');
  if (typeof o.type !== 'string' || !KEY_TYPES.includes(o.type)) {
    throw new CityTrustError('INPUT_INVALID', `key type must be one of ${KEY_TYPES.join(', ')}`);
  }
  const type = o.type;
  const label = checkLabel(o.label);
  if (o.extractable !== undefined && typeof o.extractable !== 'boolean') throw new CityTrustError('INPUT_INVALID', 'extractable must be true or false');
  const usages = checkUsages(type, o.usages);
  return { type, label, usages, extractable: o.extractable ?? false };
}

export function checkUsages(type: KeyType, usages: unknown): readonly KeyUsage[] {
  if (usages === undefined) return DEFAULT_USAGES[type];
  if (!Array.isArray(usages) || usages.length === 0) throw new CityTrustError('VAULT_USAGE_INVALID', 'usages must be a non-empty list');
  const allowed = ALLOWED_USAGES[type];
  for (const u of usages) {
    if (!allowed.includes(u as KeyUsage)) {
      throw new CityTrustError('VAULT_USAGE_INVALID', `a ${type} key cannot have usage "${String(u)}"`, { details: { allowed } });
    }
  }
  // Canonical order, no duplicates: usages are bound into the sealing AAD byte for byte.
  return allowed.filter((u) => usages.includes(u));
}

/** Same answer for "no such key" and "another tenant's key": existence is not leaked. */
export function notFound(): never {
  throw new CityTrustError('VAULT_KEY_NOT_FOUND', 'no such key');
}

export function assertVisible(caller: VaultCaller, info: KeyInfo | undefined): asserts info is KeyInfo {
  if (info === undefined || info.tenant !== caller.tenant) notFound();
}

/**
 * Resolves the version a call acts on and checks the usage. Making (sign, encrypt, mac, derive,
 * wrap) is for the current version only; checking (verify, decrypt, unwrap) for any kept version.
 */
export function authorise(info: KeyInfo, usage: KeyUsage, version?: number): number {
  if (info.destroyedAt !== undefined) throw new CityTrustError('VAULT_KEY_DESTROYED', 'the key was destroyed');
  if (!info.usages.includes(usage)) {
    throw new CityTrustError('VAULT_USAGE_DENIED', `the key does not allow "${usage}"`, { details: { usages: info.usages } });
  }
  const v = version ?? info.currentVersion;
  if (!Number.isSafeInteger(v) || v < 1) throw new CityTrustError('INPUT_INVALID', 'version must be a positive whole number');
  const entry = info.versions.find((x) => x.version === v);
  if (!entry) throw new CityTrustError('VAULT_KEY_NOT_FOUND', `the key has no version ${v}`);
  if (entry.state !== 'active' && !RETIRED_USAGES.has(usage)) {
    throw new CityTrustError('VAULT_USAGE_DENIED', `version ${v} is retired and may only ${[...RETIRED_USAGES].join(', ')}`);
  }
  return v;
}
