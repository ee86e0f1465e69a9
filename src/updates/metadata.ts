/**
 * TUF metadata (specification v1.0.31 §4): building the `signed` part of each role, signing
 * it over its canonical JSON (OLPC canonical JSON, §4.1, the form tuf-js verifies), and
 * checking signatures against a role's keys and threshold with our key allow-list.
 *
 * Files are served as ordinary JSON ({"signatures":[…],"signed":{…}}); only the signature
 * input is canonical. That matters for ECDSA keys: their PEM holds newlines, which OLPC
 * canonical JSON leaves raw (so its output is not always parseable JSON) while JSON.stringify
 * escapes them.
 */
import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { canonicalize } from '@tufjs/canonical-json';
import { CityTrustError } from '../core/errors.ts';
import { keyId, parseTufKey, type TufPublicKey } from './keys.ts';

export const SPEC_VERSION = '1.0.31';

export interface RoleKeys {
  readonly keyids: readonly string[];
  readonly threshold: number;
}

export interface MetaFileInfo {
  readonly version: number;
  readonly length: number;
  readonly hashes: { readonly sha256: string };
}

export interface TargetInfo {
  readonly length: number;
  readonly hashes: { readonly sha256: string };
  readonly custom: Readonly<Record<string, unknown>>;
}

export interface DelegatedRoleSpec {
  readonly name: string;
  readonly keyids: readonly string[];
  readonly threshold: number;
  readonly paths: readonly string[];
}

export interface TufSignature {
  readonly keyid: string;
  readonly sig: string;
}

export type Signed = Record<string, unknown> & { readonly _type: string; readonly version: number; readonly expires: string };

/** §4.2: "expires" is an ISO 8601 UTC time with a trailing Z and no fraction. */
export function tufTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function common(type: string, version: number, expiresMs: number): Signed {
  return { _type: type, spec_version: SPEC_VERSION, version, expires: tufTime(expiresMs) };
}

export function rootSigned(o: { version: number; expires: number; keys: Record<string, TufPublicKey>; roles: Record<'root' | 'targets' | 'snapshot' | 'timestamp', RoleKeys> }): Signed {
  const roles = Object.fromEntries(Object.entries(o.roles).map(([n, r]) => [n, { keyids: [...r.keyids].sort(), threshold: r.threshold }]));
  // §6.2: consistent snapshots let a device fetch a coherent set while the repository changes.
  return { ...common('root', o.version, o.expires), consistent_snapshot: true, keys: o.keys, roles };
}

export function targetsSigned(o: { version: number; expires: number; targets: Record<string, TargetInfo>; delegations?: { keys: Record<string, TufPublicKey>; roles: readonly DelegatedRoleSpec[] } }): Signed {
  const s: Signed = { ...common('targets', o.version, o.expires), targets: o.targets };
  if (o.delegations && o.delegations.roles.length > 0) {
    return {
      ...s,
      delegations: {
        keys: o.delegations.keys,
        // §4.5: terminating=false lets several manufacturers share nothing but a parent; the
        // paths alone confine each role to its device classes.
        roles: o.delegations.roles.map((r) => ({ name: r.name, keyids: [...r.keyids].sort(), threshold: r.threshold, terminating: false, paths: [...r.paths] })),
      },
    };
  }
  return s;
}

export function snapshotSigned(o: { version: number; expires: number; meta: Record<string, MetaFileInfo> }): Signed {
  return { ...common('snapshot', o.version, o.expires), meta: o.meta };
}

export function timestampSigned(o: { version: number; expires: number; snapshot: MetaFileInfo }): Signed {
  return { ...common('timestamp', o.version, o.expires), meta: { 'snapshot.json': o.snapshot } };
}

/** The bytes every signature covers (§4.1). */
export function canonicalBytes(signed: unknown): Uint8Array {
  return Buffer.from(canonicalize(signed), 'utf8');
}

/** The file as served. */
export function metadataFile(signed: Signed, signatures: readonly TufSignature[]): Uint8Array {
  const sigs = [...signatures].sort((a, b) => (a.keyid < b.keyid ? -1 : a.keyid > b.keyid ? 1 : 0));
  return Buffer.from(JSON.stringify({ signatures: sigs, signed }), 'utf8');
}

export function fileInfo(version: number, body: Uint8Array): MetaFileInfo {
  return { version, length: body.length, hashes: { sha256: createHash('sha256').update(body).digest('hex') } };
}

/**
 * Verifies one signature with the verification key parsed from the key object (never an
 * algorithm named by the signature): Ed25519 (RFC 8032) or ECDSA P-256 with SHA-256 over a
 * DER signature, which is what tuf-js checks.
 */
export function verifyTufSignature(keyObject: KeyObject, data: Uint8Array, sigHex: string): boolean {
  if (!/^[0-9a-f]{2,256}$/.test(sigHex) || sigHex.length % 2 !== 0) return false;
  const sig = Buffer.from(sigHex, 'hex');
  try {
    return keyObject.asymmetricKeyType === 'ed25519' ? cryptoVerify(null, data, keyObject, sig) : cryptoVerify('sha256', data, { key: keyObject, dsaEncoding: 'der' }, sig);
  } catch {
    return false;
  }
}

/**
 * Counts the distinct role keys whose signature verifies (§5.3.4: a threshold counts keys,
 * not signatures). Unknown keyids and bad signatures count nothing.
 */
export function countValidSignatures(data: Uint8Array, signatures: readonly TufSignature[], keys: Readonly<Record<string, TufPublicKey>>, role: RoleKeys): number {
  const good = new Set<string>();
  for (const s of signatures) {
    if (!role.keyids.includes(s.keyid) || good.has(s.keyid)) continue;
    const k = keys[s.keyid];
    if (!k) continue;
    const { keyObject } = parseTufKey(k);
    if (keyId(k) === s.keyid && verifyTufSignature(keyObject, data, s.sig)) good.add(s.keyid);
  }
  return good.size;
}

/** Parses a served metadata file: `{signatures:[{keyid,sig}], signed:{_type,…}}` of the expected type. */
export function parseMetadataFile(body: Uint8Array, type: 'root' | 'targets' | 'snapshot' | 'timestamp'): { signed: Signed; signatures: TufSignature[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (e) {
    throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'the metadata is not JSON', { cause: e });
  }
  const r = raw as { signatures?: unknown; signed?: unknown };
  if (r === null || typeof r !== 'object' || !Array.isArray(r.signatures) || r.signed === null || typeof r.signed !== 'object') {
    throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'metadata is an object {signatures: [...], signed: {...}}');
  }
  const signed = r.signed as Record<string, unknown>;
  if (signed._type !== type || !Number.isSafeInteger(signed.version) || (signed.version as number) < 1 || typeof signed.expires !== 'string') {
    throw new CityTrustError('UPDATE_METADATA_MALFORMED', `the metadata is not ${type} metadata with a version and an expiry`);
  }
  const signatures = r.signatures.map((s: unknown) => {
    const x = s as { keyid?: unknown; sig?: unknown };
    if (x === null || typeof x !== 'object' || typeof x.keyid !== 'string' || typeof x.sig !== 'string') throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'a signature is {keyid, sig}');
    return { keyid: x.keyid, sig: x.sig };
  });
  return { signed: signed as Signed, signatures };
}
