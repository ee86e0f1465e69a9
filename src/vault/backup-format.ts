/**
 * Backup archive and wrapped-key formats (docs/vault.md has them byte by byte).
 *
 * Archive = header (67 bytes) ‖ nonce (12) ‖ AES-256-GCM(backup key, payload, AAD = header).
 * The backup key is fresh for every archive and exists only as recovery shares afterwards.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import type { KeyInfo, KeyType } from './types.ts';

const ARCHIVE_MAGIC = Buffer.from('CTVB', 'latin1');
const WRAP_MAGIC = Buffer.from('CTVW', 'latin1');
const FORMAT = 1;
const HEADER = 67;
const NONCE = 12;
const TAG = 16;

export interface BackupEntry {
  readonly info: KeyInfo;
  /** Private material per kept version (PKCS#8 DER or 32 raw bytes). */
  readonly versions: readonly { readonly version: number; readonly material: Uint8Array }[];
}

export interface ArchiveHeader {
  readonly backupId: Uint8Array;
  readonly vaultId: Uint8Array;
  readonly threshold: number;
  readonly shares: number;
  readonly createdAt: number;
  readonly keyCount: number;
}

function encodeHeader(h: ArchiveHeader): Buffer {
  const b = Buffer.alloc(HEADER);
  ARCHIVE_MAGIC.copy(b, 0);
  b[4] = FORMAT;
  Buffer.from(h.backupId).copy(b, 5);
  Buffer.from(h.vaultId).copy(b, 37);
  b[53] = h.threshold;
  b[54] = h.shares;
  b.writeBigUInt64BE(BigInt(h.createdAt), 55);
  b.writeUInt32BE(h.keyCount, 63);
  return b;
}

const invalid = (why: string): never => {
  throw new CityTrustError('VAULT_BACKUP_INVALID', `backup archive is invalid: ${why}`);
};

export function parseArchiveHeader(archive: Uint8Array): ArchiveHeader {
  const b = Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength);
  if (b.length < HEADER + NONCE + TAG) invalid('too short');
  if (!b.subarray(0, 4).equals(ARCHIVE_MAGIC)) invalid('not a citytrust backup');
  if (b[4] !== FORMAT) invalid('unknown format version');
  return {
    backupId: new Uint8Array(b.subarray(5, 37)),
    vaultId: new Uint8Array(b.subarray(37, 53)),
    threshold: b[53]!,
    shares: b[54]!,
    createdAt: Number(b.readBigUInt64BE(55)),
    keyCount: b.readUInt32BE(63),
  };
}

/** Payload: per key u32 metadata length ‖ metadata JSON ‖ u16 versions ‖ (u32 version ‖ u32 length ‖ material)*. */
export function sealArchive(header: ArchiveHeader, backupKey: Uint8Array, entries: readonly BackupEntry[]): Uint8Array {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const meta = Buffer.from(JSON.stringify(e.info), 'utf8');
    const h = Buffer.alloc(6);
    h.writeUInt32BE(meta.length, 0);
    h.writeUInt16BE(e.versions.length, 4);
    parts.push(h.subarray(0, 4), meta, h.subarray(4, 6));
    for (const v of e.versions) {
      const vh = Buffer.alloc(8);
      vh.writeUInt32BE(v.version, 0);
      vh.writeUInt32BE(v.material.length, 4);
      parts.push(vh, Buffer.from(v.material));
    }
  }
  const payload = Buffer.concat(parts);
  const head = encodeHeader(header);
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', backupKey, nonce);
  c.setAAD(head);
  const out = Buffer.concat([head, nonce, c.update(payload), c.final(), c.getAuthTag()]);
  payload.fill(0);
  for (const p of parts) p.fill(0);
  return new Uint8Array(out);
}

/** Decrypts and parses; the caller wipes the returned material after use. */
export function openArchive(archive: Uint8Array, backupKey: Uint8Array): BackupEntry[] {
  const header = parseArchiveHeader(archive);
  const b = Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength);
  const d = createDecipheriv('aes-256-gcm', backupKey, b.subarray(HEADER, HEADER + NONCE));
  d.setAAD(b.subarray(0, HEADER));
  d.setAuthTag(b.subarray(b.length - TAG));
  let payload: Buffer;
  const head = d.update(b.subarray(HEADER + NONCE, b.length - TAG));
  try {
    payload = Buffer.concat([head, d.final()]);
  } catch {
    head.fill(0);
    return invalid('it does not open with these recovery shares (wrong set, or the archive was altered)');
  } finally {
    head.fill(0);
  }
  try {
    const entries: BackupEntry[] = [];
    let o = 0;
    const need = (n: number) => {
      if (o + n > payload.length) invalid('payload truncated');
    };
    for (let i = 0; i < header.keyCount; i++) {
      need(4);
      const ml = payload.readUInt32BE(o);
      o += 4;
      need(ml + 2);
      const info = JSON.parse(payload.subarray(o, o + ml).toString('utf8')) as KeyInfo;
      o += ml;
      const count = payload.readUInt16BE(o);
      o += 2;
      const versions: { version: number; material: Uint8Array }[] = [];
      for (let j = 0; j < count; j++) {
        need(8);
        const version = payload.readUInt32BE(o);
        const len = payload.readUInt32BE(o + 4);
        o += 8;
        need(len);
        versions.push({ version, material: new Uint8Array(payload.subarray(o, o + len)) });
        o += len;
      }
      entries.push({ info, versions });
    }
    if (o !== payload.length) invalid('trailing bytes');
    return entries;
  } finally {
    payload.fill(0);
  }
}

// ---- wrapped keys --------------------------------------------------------------------------

const TYPE_CODE: Record<KeyType, number> = { 'ec-p256': 1, 'ec-p384': 2, ed25519: 3, 'aes-256-gcm': 4, 'hmac-sha256': 5 };
const CODE_TYPE = Object.fromEntries(Object.entries(TYPE_CODE).map(([k, v]) => [v, k as KeyType])) as Record<number, KeyType>;
const WRAP_HEADER = 10;

/** "CTVW" ‖ 1 ‖ type code ‖ u32 wrapping-key version — all of it the AAD of the GCM seal. */
export function wrapHeader(type: KeyType, wrappingVersion: number): Buffer {
  const h = Buffer.alloc(WRAP_HEADER);
  WRAP_MAGIC.copy(h, 0);
  h[4] = FORMAT;
  h[5] = TYPE_CODE[type];
  h.writeUInt32BE(wrappingVersion, 6);
  return h;
}

export function parseWrapped(wrapped: Uint8Array): { header: Buffer; type: KeyType; wrappingVersion: number; iv: Uint8Array; ciphertext: Uint8Array } {
  const b = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  if (b.length < WRAP_HEADER + NONCE + TAG || !b.subarray(0, 4).equals(WRAP_MAGIC) || b[4] !== FORMAT || CODE_TYPE[b[5]!] === undefined) {
    throw new CityTrustError('VAULT_CIPHERTEXT_MALFORMED', 'not a citytrust wrapped key');
  }
  return {
    header: b.subarray(0, WRAP_HEADER),
    type: CODE_TYPE[b[5]!]!,
    wrappingVersion: b.readUInt32BE(6),
    iv: new Uint8Array(b.subarray(WRAP_HEADER, WRAP_HEADER + NONCE)),
    ciphertext: new Uint8Array(b.subarray(WRAP_HEADER + NONCE)),
  };
}
