/** Input checks for the repository service: every refusal happens before any state changes. */
import { CityTrustError } from '../core/errors.ts';
import { ARTIFACT_NAME, DEVICE_CLASS, REPO_ID, ROLE_NAME, TOP_ROLES } from './names.ts';
import { parseTufKey, TUF_KEY_TYPES, type TufKeyType, type TufPublicKey } from './keys.ts';

export function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CityTrustError('INPUT_INVALID', `${what} must be an object`);
  return v as Record<string, unknown>;
}

export function repoId(v: unknown): string {
  if (typeof v !== 'string' || !REPO_ID.test(v)) throw new CityTrustError('INPUT_INVALID', 'repository id must be 2–63 characters of a–z, 0–9 and -, starting with a letter or digit');
  return v;
}

export function deviceClass(v: unknown): string {
  if (typeof v !== 'string' || !DEVICE_CLASS.test(v)) throw new CityTrustError('INPUT_INVALID', 'device class must be 1–63 characters of a–z, 0–9 and -');
  return v;
}

export function artifactName(v: unknown): string {
  if (typeof v !== 'string' || !ARTIFACT_NAME.test(v)) throw new CityTrustError('INPUT_INVALID', 'artifact name must be 1–63 characters of a–z, 0–9 and -');
  return v;
}

export function roleName(v: unknown): string {
  if (typeof v !== 'string' || !ROLE_NAME.test(v) || (TOP_ROLES as readonly string[]).includes(v)) {
    throw new CityTrustError('INPUT_INVALID', 'a delegated role name is 2–63 characters of a–z, 0–9 and -, and not root, targets, snapshot or timestamp');
  }
  return v;
}

export function classList(v: unknown, allowed?: readonly string[]): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 64) throw new CityTrustError('INPUT_INVALID', 'deviceClasses must list 1 to 64 device classes');
  const out = v.map(deviceClass);
  if (new Set(out).size !== out.length) throw new CityTrustError('INPUT_INVALID', 'deviceClasses lists a class twice');
  if (allowed) for (const c of out) if (!allowed.includes(c)) throw new CityTrustError('UPDATE_DEVICE_CLASS_UNKNOWN', `the repository does not serve device class ${c}`);
  return out;
}

export function keyType(v: unknown): TufKeyType {
  if (v === undefined) return 'ed25519';
  if (!(TUF_KEY_TYPES as readonly unknown[]).includes(v)) throw new CityTrustError('UPDATE_KEY_TYPE_NOT_ALLOWED', `key type ${JSON.stringify(v)} is not allowed; use ed25519 or ecdsa-sha2-nistp256`);
  return v as TufKeyType;
}

export function smallInt(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) throw new CityTrustError('INPUT_INVALID', `${name} must be a whole number from ${min} to ${max}`);
  return v as number;
}

export function offlineKeys(v: unknown): TufPublicKey[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > 16) throw new CityTrustError('INPUT_INVALID', 'offlineKeys must be a list of at most 16 TUF public keys');
  return v.map((k) => parseTufKey(k).key);
}

export function threshold(v: unknown, keys: number): number {
  const dflt = keys <= 1 ? 1 : Math.floor(keys / 2) + 1;
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > keys) throw new CityTrustError('UPDATE_THRESHOLD_INVALID', `threshold must be from 1 to the ${keys} keys of the role`);
  return v as number;
}

export function percent(v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100 || Math.round(v * 100) !== v * 100) throw new CityTrustError('UPDATE_ROLLOUT_INVALID', 'percent is a number from 0 to 100 with at most two decimals');
  return v;
}

const SITE = /^[\p{L}\p{N} ._:/#-]{1,100}$/u;

export function sites(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > 256 || !v.every((s) => typeof s === 'string' && SITE.test(s))) throw new CityTrustError('UPDATE_ROLLOUT_INVALID', 'sites is a list of at most 256 site names');
  return [...new Set(v as string[])].sort();
}

export function sha256Hex(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw new CityTrustError('INPUT_INVALID', 'sha256 must be 64 lower-case hex digits');
  return v;
}
