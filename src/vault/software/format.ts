/**
 * The keystore's on-disk formats (docs/vault.md, "Keystore file format", has them byte by byte).
 * Big-endian integers throughout. Nothing here is secret until sealed material is decrypted.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { CityTrustError } from '../../core/errors.ts';
import { constantTimeEqual } from '../../core/bytes.ts';
import type { KeyInfo, KeyType, KeyUsage } from '../types.ts';

export const META_MAGIC = Buffer.from('CTVM', 'latin1');
export const KEY_MAGIC = Buffer.from('CTVK', 'latin1');
const FORMAT = 1;
const NONCE = 12;
const TAG = 16;
const MAC = 32;

/** Sub-keys derived from the master key, one per purpose (key separation). */
export interface MasterKeys {
  readonly check: Buffer;
  readonly seal: Buffer;
  readonly fileMac: Buffer;
}

/** HKDF-SHA256 (RFC 5869) with the keystore salt from vault.meta and the purpose as info. */
export function deriveMasterKeys(master: Uint8Array, salt: Uint8Array): MasterKeys {
  const d = (info: string) => Buffer.from(hkdfSync('sha256', master, salt, `citytrust/vault/${info}/v1`, 32));
  return { check: d('check'), seal: d('seal'), fileMac: d('file-mac') };
}

export function wipeMasterKeys(k: MasterKeys | undefined): void {
  if (!k) return;
  k.check.fill(0);
  k.seal.fill(0);
  k.fileMac.fill(0);
}

export function gcmSeal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): { nonce: Buffer; sealed: Buffer } {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  const sealed = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return { nonce, sealed };
}

/** Returns undefined when authentication fails (the caller picks the error code). */
export function gcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | undefined {
  if (nonce.length !== NONCE || sealed.length < TAG) return undefined;
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  const out = d.update(sealed.subarray(0, sealed.length - TAG));
  try {
    return Buffer.concat([out, d.final()]);
  } catch {
    out.fill(0);
    return undefined;
  }
}

// ---- vault.meta -------------------------------------------------------------------------

export interface VaultMeta {
  readonly vaultId: Uint8Array;
  /**
   * 32 random bytes, the HKDF salt of every sub-key. Not in any share: overwriting vault.meta
   * alone makes the whole keystore undecryptable even to a full set of unseal shares.
   */
  readonly salt: Uint8Array;
  readonly threshold: number;
  readonly shares: number;
  readonly createdAt: number;
  readonly checkNonce: Uint8Array;
  readonly checkSealed: Uint8Array;
}

const META_HEADER = 63;
const CHECK_PLAINTEXT = Buffer.alloc(32);

function metaHeader(m: Pick<VaultMeta, 'vaultId' | 'salt' | 'threshold' | 'shares' | 'createdAt'>): Buffer {
  const h = Buffer.alloc(META_HEADER);
  META_MAGIC.copy(h, 0);
  h[4] = FORMAT;
  Buffer.from(m.vaultId).copy(h, 5);
  Buffer.from(m.salt).copy(h, 21);
  h[53] = m.threshold;
  h[54] = m.shares;
  h.writeBigUInt64BE(BigInt(m.createdAt), 55);
  return h;
}

export function makeMeta(keys: MasterKeys, m: Pick<VaultMeta, 'vaultId' | 'salt' | 'threshold' | 'shares' | 'createdAt'>): Buffer {
  const header = metaHeader(m);
  const { nonce, sealed } = gcmSeal(keys.check, CHECK_PLAINTEXT, header);
  return Buffer.concat([header, nonce, sealed]);
}

export function parseMeta(bytes: Uint8Array): VaultMeta {
  const b = Buffer.from(bytes);
  if (b.length !== META_HEADER + NONCE + 32 + TAG || !b.subarray(0, 4).equals(META_MAGIC) || b[4] !== FORMAT) {
    throw new CityTrustError('VAULT_KEYSTORE_CORRUPT', 'vault.meta is not a citytrust vault header');
  }
  return {
    vaultId: new Uint8Array(b.subarray(5, 21)),
    salt: new Uint8Array(b.subarray(21, 53)),
    threshold: b[53]!,
    shares: b[54]!,
    createdAt: Number(b.readBigUInt64BE(55)),
    checkNonce: new Uint8Array(b.subarray(META_HEADER, META_HEADER + NONCE)),
    checkSealed: new Uint8Array(b.subarray(META_HEADER + NONCE)),
  };
}

/** True when the candidate master key opens the check value: the shares were right. */
export function masterMatches(meta: VaultMeta, keys: MasterKeys): boolean {
  const out = gcmOpen(keys.check, meta.checkNonce, meta.checkSealed, metaHeader(meta));
  return out !== undefined && constantTimeEqual(out, CHECK_PLAINTEXT);
}

// ---- keys/<id>.key ---------------------------------------------------------------------

export interface SealedVersion {
  readonly version: number;
  readonly nonce: Uint8Array;
  readonly sealed: Uint8Array;
}

export interface KeyRecord {
  readonly info: KeyInfo;
  readonly versions: readonly SealedVersion[];
}

/**
 * AAD binding sealed material to everything about the key that never changes:
 * "citytrust/vault/key/v1" 0x00 ‖ vault id (16) ‖ key id ‖ 0x00 ‖ version (u32) ‖ type ‖ 0x00 ‖
 * tenant ("" for the city) ‖ 0x00 ‖ extractable (u8) ‖ usages joined by ",".
 * Moving a sealed blob to another key, version, type, tenant or policy makes it fail to open.
 */
export function keyAad(vaultId: Uint8Array, keyId: string, version: number, type: KeyType, tenant: string | null, extractable: boolean, usages: readonly KeyUsage[]): Buffer {
  const v = Buffer.alloc(4);
  v.writeUInt32BE(version);
  return Buffer.concat([
    Buffer.from('citytrust/vault/key/v1\0', 'latin1'),
    Buffer.from(vaultId),
    Buffer.from(`${keyId}\0`, 'latin1'),
    v,
    Buffer.from(`${type}\0${tenant ?? ''}\0`, 'utf8'),
    Buffer.from([extractable ? 1 : 0]),
    Buffer.from(usages.join(','), 'latin1'),
  ]);
}

export function encodeKeyFile(record: KeyRecord, fileMacKey: Uint8Array): Buffer {
  const meta = Buffer.from(JSON.stringify(record.info), 'utf8');
  const head = Buffer.alloc(9);
  KEY_MAGIC.copy(head, 0);
  head[4] = FORMAT;
  head.writeUInt32BE(meta.length, 5);
  const count = Buffer.alloc(2);
  count.writeUInt16BE(record.versions.length);
  const parts: Buffer[] = [head, meta, count];
  for (const v of record.versions) {
    const h = Buffer.alloc(4 + NONCE + 4);
    h.writeUInt32BE(v.version, 0);
    Buffer.from(v.nonce).copy(h, 4);
    h.writeUInt32BE(v.sealed.length, 4 + NONCE);
    parts.push(h, Buffer.from(v.sealed));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHmac('sha256', fileMacKey).update(body).digest()]);
}

const corrupt = (file: string): never => {
  throw new CityTrustError('VAULT_KEYSTORE_CORRUPT', `key file ${file} failed its integrity check`);
};

/** Verifies the file MAC first, then parses; any inconsistency is VAULT_KEYSTORE_CORRUPT. */
export function decodeKeyFile(bytes: Uint8Array, fileMacKey: Uint8Array, file: string): KeyRecord {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 9 + 2 + MAC) corrupt(file);
  const body = b.subarray(0, b.length - MAC);
  if (!constantTimeEqual(createHmac('sha256', fileMacKey).update(body).digest(), b.subarray(b.length - MAC))) corrupt(file);
  if (!body.subarray(0, 4).equals(KEY_MAGIC) || body[4] !== FORMAT) corrupt(file);
  const metaLen = body.readUInt32BE(5);
  if (9 + metaLen + 2 > body.length) corrupt(file);
  let info: KeyInfo;
  try {
    info = JSON.parse(body.subarray(9, 9 + metaLen).toString('utf8')) as KeyInfo;
  } catch {
    return corrupt(file);
  }
  let o = 9 + metaLen;
  const count = body.readUInt16BE(o);
  o += 2;
  const versions: SealedVersion[] = [];
  for (let i = 0; i < count; i++) {
    if (o + 4 + NONCE + 4 > body.length) corrupt(file);
    const version = body.readUInt32BE(o);
    const nonce = new Uint8Array(body.subarray(o + 4, o + 4 + NONCE));
    const len = body.readUInt32BE(o + 4 + NONCE);
    o += 4 + NONCE + 4;
    if (o + len > body.length) corrupt(file);
    versions.push({ version, nonce, sealed: new Uint8Array(body.subarray(o, o + len)) });
    o += len;
  }
  if (o !== body.length) corrupt(file);
  return { info, versions };
}
