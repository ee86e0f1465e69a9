/**
 * The offline root-signing ceremony (docs/updates.md): a custodian's key never touches the
 * server. The server hands out a root draft (`updates root-draft`); on an offline machine
 * `updates sign-root` shows what the draft says, checks that the canonical bytes are exactly
 * the canonical form of what is shown, and signs them with the custodian's key file; only the
 * signature {keyid, sig} goes back (`updates root-sign-submit`).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { bytesEqual, fromBase64 } from '../core/bytes.ts';
import { keyId, tufKeyFromKeyObject, type TufKeyType, type TufPublicKey } from './keys.ts';
import { canonicalBytes, type RoleKeys, type Signed, type TufSignature } from './metadata.ts';

export interface RootDraftFile {
  version: number;
  reason: string;
  canonical: string;
  signed: Signed;
  requirements: { label: string; keyids: string[]; threshold: number; have: number }[];
}

export function parseRootDraft(text: string): RootDraftFile {
  let d: RootDraftFile;
  try {
    d = JSON.parse(text) as RootDraftFile;
  } catch (e) {
    throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'the draft is not JSON (save the output of `updates root-draft --json`)', { cause: e });
  }
  if (!d || typeof d.canonical !== 'string' || !d.signed || d.signed._type !== 'root' || !Array.isArray(d.requirements)) {
    throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'the draft is not a root draft');
  }
  checkCanonical(d.canonical, d.signed);
  return d;
}

/** A human summary of the draft for the custodian to check before signing. */
export function describeRootDraft(d: RootDraftFile): string {
  const roles = d.signed.roles as Record<string, RoleKeys>;
  const keys = d.signed.keys as Record<string, TufPublicKey>;
  const lines = [`root version ${d.version} (${d.reason}), expires ${d.signed.expires}`];
  for (const [name, r] of Object.entries(roles)) lines.push(`  ${name.padEnd(9)} threshold ${r.threshold} of ${r.keyids.map((k) => `${k.slice(0, 12)}…(${keys[k]?.keytype ?? '?'})`).join(', ')}`);
  for (const r of d.requirements) lines.push(`  needs ${r.threshold} signature(s) from ${r.label}; has ${r.have}`);
  return lines.join('\n');
}

function loadPrivate(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (e) {
    throw new CityTrustError('UPDATE_KEY_INVALID', 'the key file is not a PEM private key', { cause: e });
  }
}

/** Signs the draft with a custodian key; refuses keys the draft does not ask for. */
export function signRootDraft(draft: RootDraftFile, privateKeyPem: string): TufSignature {
  const priv = loadPrivate(privateKeyPem);
  const pub = tufKeyFromKeyObject(createPublicKey(priv));
  const id = keyId(pub);
  if (!draft.requirements.some((r) => r.keyids.includes(id))) throw new CityTrustError('UPDATE_KEY_NOT_FOUND', `key ${id} is not a root key of this draft or of the trusted root`);
  const data = canonicalBytes(draft.signed);
  const sig = pub.keytype === 'ed25519' ? cryptoSign(null, data, priv) : cryptoSign('sha256', data, { key: priv, dsaEncoding: 'der' });
  return { keyid: id, sig: Buffer.from(sig).toString('hex') };
}

/** A new custodian key for the offline machine: the PEM stays there; the public key goes to the server. */
export function generateOfflineKey(type: TufKeyType): { privateKeyPem: string; publicKey: TufPublicKey; keyid: string } {
  const kp = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKey = tufKeyFromKeyObject(kp.publicKey);
  return { privateKeyPem: kp.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey, keyid: keyId(publicKey) };
}

/**
 * Offline manufacturer signing (docs/updates.md, "Delegations"): the server prepares the next
 * version of the manufacturer's role (`updates role-draft`); on the manufacturer's machine
 * `updates sign-role` shows the targets, checks that the canonical bytes are exactly the
 * canonical form of what is shown and that every target is within the role's paths, and signs
 * them; the signed metadata file goes back (`updates role-submit`), never the key.
 */
/** The draft of a manufacturer's role, as the server hands it out and the manufacturer reads it. */
export interface DelegationDraft {
  role: string;
  version: number;
  /** The canonical bytes to sign, base64 (OLPC canonical JSON of `signed`). */
  canonical: string;
  signed: Signed;
  keyids: string[];
  threshold: number;
  paths: string[];
  /** Targets in the draft that no signed version holds yet. */
  pending: string[];
}
export type DelegationDraftFile = DelegationDraft;

/** What a signer reads must be what it signs: the draft's canonical bytes are exactly those of `signed`. */
function checkCanonical(canonical: string, signed: Signed): void {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(canonical);
  } catch (e) {
    throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'the draft canonical bytes are not base64', { cause: e });
  }
  if (!bytesEqual(bytes, canonicalBytes(signed))) throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'the canonical bytes do not match the draft shown; refuse to sign');
}

export function parseDelegationDraft(text: string): DelegationDraftFile {
  let d: DelegationDraftFile;
  try {
    d = JSON.parse(text) as DelegationDraftFile;
  } catch (e) {
    throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'the draft is not JSON (save the output of `updates role-draft --out`)', { cause: e });
  }
  if (!d || typeof d.role !== 'string' || typeof d.canonical !== 'string' || !d.signed || d.signed._type !== 'targets' || !Array.isArray(d.keyids) || !Array.isArray(d.paths)) {
    throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'the draft is not a manufacturer role draft');
  }
  checkCanonical(d.canonical, d.signed);
  // The manufacturer checks what it signs is its own: images of its classes only.
  const targets = (d.signed.targets ?? {}) as Record<string, unknown>;
  for (const p of Object.keys(targets)) {
    if (!d.paths.some((pat) => pat.endsWith('/*') && p.startsWith(pat.slice(0, -1)) && !p.slice(pat.length - 1).includes('/'))) {
      throw new CityTrustError('UPDATE_DELEGATION_PATH_FORBIDDEN', `the draft lists ${p.slice(0, 120)}, outside ${d.paths.join(', ')}; refuse to sign`);
    }
  }
  if (d.signed.delegations !== undefined) throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'the draft delegates further; refuse to sign');
  return d;
}

export function describeDelegationDraft(d: DelegationDraftFile): string {
  const targets = (d.signed.targets ?? {}) as Record<string, { length: number; hashes: { sha256: string }; custom?: Record<string, unknown> }>;
  const lines = [`${d.role} version ${d.version}, expires ${d.signed.expires}; paths ${d.paths.join(', ')}; threshold ${d.threshold} of ${d.keyids.length}`];
  for (const [p, t] of Object.entries(targets)) lines.push(`  ${d.pending.includes(p) ? 'NEW ' : '    '}${p}  ${t.length} bytes  sha256 ${t.hashes.sha256}${t.custom?.minBootloader ? `  bootloader ≥ ${String(t.custom.minBootloader)}` : ''}`);
  return lines.join('\n');
}

/** Signs a manufacturer role draft; returns the TUF metadata file {signed, signatures} (signatures of several files with the same `signed` merge). */
export function signDelegationDraft(draft: DelegationDraftFile, privateKeyPem: string): { signed: Signed; signatures: TufSignature[] } {
  const priv = loadPrivate(privateKeyPem);
  const pub = tufKeyFromKeyObject(createPublicKey(priv));
  const id = keyId(pub);
  if (!draft.keyids.includes(id)) throw new CityTrustError('UPDATE_KEY_NOT_FOUND', `key ${id} is not a key of ${draft.role}`);
  const data = canonicalBytes(draft.signed);
  const sig = pub.keytype === 'ed25519' ? cryptoSign(null, data, priv) : cryptoSign('sha256', data, { key: priv, dsaEncoding: 'der' });
  return { signed: draft.signed, signatures: [{ keyid: id, sig: Buffer.from(sig).toString('hex') }] };
}

/** Merges signed files of one draft (several manufacturer keys, k of n). */
export function mergeSignedFiles(files: readonly { signed?: unknown; signatures?: unknown }[]): { signed: Signed; signatures: TufSignature[] } {
  if (files.length === 0) throw new CityTrustError('INPUT_INVALID', 'give at least one signed file');
  const first = files[0]!.signed as Signed;
  const sigs = new Map<string, TufSignature>();
  for (const f of files) {
    if (!f.signed || !bytesEqual(canonicalBytes(f.signed as Signed), canonicalBytes(first))) throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'the signed files are of different drafts');
    if (!Array.isArray(f.signatures)) throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'a signed file has no signatures');
    for (const s of f.signatures as TufSignature[]) sigs.set(s.keyid, s);
  }
  return { signed: first, signatures: [...sigs.values()] };
}
