/**
 * Names, versions, target paths and the rollout bucket, shared by the repository and the
 * device updater. Device-side: depends on node:crypto and src/core only.
 *
 * Target layout (docs/updates.md):
 *   images/<class>/<name>-<version>.bin   firmware, signed by the role delegated for <class>
 *   data/<class>/<name>-<version>.json    configuration and trust-list bundles, signed by targets
 *   channels/<class>.json                 the releases of <class> and their rollout, signed by targets
 */
import { createHash } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';

/** Repository ids are URL path segments; device classes and artifact names appear in target paths. */
export const REPO_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;
export const DEVICE_CLASS = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const ARTIFACT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Delegated role names must not collide with the four top-level roles or a version prefix. */
export const ROLE_NAME = /^[a-z][a-z0-9-]{1,62}$/;
export const TOP_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type TopRole = (typeof TOP_ROLES)[number];

/** 1 to 4 dot-separated decimal numbers without leading zeros: compared numerically. */
const VERSION = /^(0|[1-9][0-9]{0,8})(\.(0|[1-9][0-9]{0,8})){0,3}$/;

export function checkVersion(v: unknown): string {
  if (typeof v !== 'string' || !VERSION.test(v)) throw new CityTrustError('UPDATE_VERSION_INVALID', 'a version is 1 to 4 dot-separated numbers, e.g. 2.14.0');
  return v;
}

export function isVersion(v: unknown): v is string {
  return typeof v === 'string' && VERSION.test(v);
}

/** Numeric, component-wise; missing components count as 0 (1.2 == 1.2.0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export type ArtifactKind = 'image' | 'data';

export function targetPath(kind: ArtifactKind, deviceClass: string, name: string, version: string): string {
  return kind === 'image' ? `images/${deviceClass}/${name}-${version}.bin` : `data/${deviceClass}/${name}-${version}.json`;
}

export function channelPath(deviceClass: string): string {
  return `channels/${deviceClass}.json`;
}

/** The path pattern (TUF §4.5 "paths") a manufacturer role gets for one device class. */
export function imagePattern(deviceClass: string): string {
  return `images/${deviceClass}/*`;
}

/**
 * Deterministic rollout bucket in [0, 10000): the first four bytes of
 * SHA-256("citytrust/rollout/v1" 0x00 release 0x00 device id), big-endian, modulo 10000.
 * Salting with the release spreads the early devices differently for each release, so the
 * same few devices are not always the first to take a risk.
 */
export function rolloutBucket(release: string, deviceId: string): number {
  const h = createHash('sha256').update(`citytrust/rollout/v1\u0000${release}\u0000${deviceId}`, 'utf8').digest();
  return h.readUInt32BE(0) % 10000;
}

/** A device is in a rollout at `percent` (0..100, two decimals) when its bucket is below percent × 100. */
export function inRollout(release: string, deviceId: string, percent: number, sites: readonly string[], site: string | undefined): boolean {
  if (site !== undefined && sites.includes(site)) return true;
  return rolloutBucket(release, deviceId) < Math.round(percent * 100);
}
