/**
 * The release channel of a device class, `channels/<class>.json`: a TUF target signed by the
 * tenant's targets role that names, per artifact, the released version, its target path and
 * its rollout. The device reads it through tuf-js (so its length and hash are verified) and
 * decides locally whether the rollout includes it. Device-side.
 *
 *   {"_type":"citytrust.channel.v1","deviceClass":"reader",
 *    "releases":{"firmware":{"rollout":{"percent":25,"sites":["depot-north"],"state":"active"},
 *                            "target":"images/reader/firmware-2.1.0.bin","version":"2.1.0"}}}
 *
 * Canonical JSON (src/core/canonical-json.ts) so that the same releases give the same bytes.
 */
import { CityTrustError } from '../core/errors.ts';
import { ARTIFACT_NAME, isVersion } from './names.ts';

export interface ChannelRelease {
  readonly version: string;
  readonly target: string;
  readonly rollout: { readonly percent: number; readonly sites: readonly string[]; readonly state: 'active' | 'halted' };
}

export interface Channel {
  readonly _type: 'citytrust.channel.v1';
  readonly deviceClass: string;
  readonly releases: Readonly<Record<string, ChannelRelease>>;
}

export function buildChannel(deviceClass: string, rows: readonly { name: string; version: string; target: string; percent: number; sites: readonly string[]; state: 'active' | 'halted' }[]): Channel {
  const releases: Record<string, ChannelRelease> = {};
  for (const r of rows) releases[r.name] = { version: r.version, target: r.target, rollout: { percent: r.percent, sites: [...r.sites], state: r.state } };
  return { _type: 'citytrust.channel.v1', deviceClass, releases };
}

/** Parses a channel whose bytes tuf-js already verified; still refuses anything off-format. */
export function parseChannel(bytes: Uint8Array, deviceClass: string): Channel {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'the release channel is not JSON', { cause: e });
  }
  const c = raw as Partial<Channel> | null;
  if (!c || c._type !== 'citytrust.channel.v1' || c.deviceClass !== deviceClass || c.releases === null || typeof c.releases !== 'object') {
    throw new CityTrustError('UPDATE_METADATA_MALFORMED', `the release channel is not a channel of device class ${deviceClass}`);
  }
  for (const [name, r] of Object.entries(c.releases)) {
    const ok =
      ARTIFACT_NAME.test(name) &&
      r !== null &&
      typeof r === 'object' &&
      isVersion(r.version) &&
      typeof r.target === 'string' &&
      r.rollout !== null &&
      typeof r.rollout === 'object' &&
      typeof r.rollout.percent === 'number' &&
      Array.isArray(r.rollout.sites) &&
      (r.rollout.state === 'active' || r.rollout.state === 'halted');
    if (!ok) throw new CityTrustError('UPDATE_METADATA_MALFORMED', `release ${name} of the channel is malformed`);
  }
  return c as Channel;
}
