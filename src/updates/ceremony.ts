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
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(d.canonical);
  } catch (e) {
    throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'the draft canonical bytes are not base64', { cause: e });
  }
  // What the custodian reads must be what they sign.
  if (!bytesEqual(bytes, canonicalBytes(d.signed))) throw new CityTrustError('UPDATE_METADATA_MALFORMED', 'the canonical bytes do not match the draft shown; refuse to sign');
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
