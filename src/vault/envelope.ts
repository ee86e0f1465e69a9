/**
 * Envelope encryption for data at rest (personal data in the store): each record gets a fresh
 * 256-bit data key; the record is encrypted locally with it (AES-256-GCM), and the data key is
 * encrypted by a vault key (the KEK). Bulk data never travels to the vault or the HSM; only 32
 * bytes do. Rotating the KEK and calling `rewrap` re-encrypts the data key, not the record.
 *
 *   0   4   "CTE1"
 *   4   1   format = 1
 *   5   35  KEK id (ASCII, vk_…)
 *   40  4   KEK version (u32 BE)
 *   44  12  IV of the wrapped data key
 *   56  48  wrapped data key (32 + 16-byte tag)
 *   104 12  IV of the record
 *   116 …   record ciphertext ‖ 16-byte tag
 *
 * Both AADs are bytes 0..40 ‖ caller AAD. The KEK version needs no AAD: a wrong version is a
 * wrong key and fails authentication. The caller AAD should name the record (table, row id,
 * column) so that a ciphertext copied to another row does not decrypt there.
 */
import { randomBytes } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';
import { aeadDecrypt, aeadEncrypt, TAG_BYTES } from './ops.ts';
import { checkKeyId } from './policy.ts';
import type { KeyVault, VaultCaller } from './types.ts';

const MAGIC = Buffer.from('CTE1', 'latin1');
const HEAD = 116;

function aadFor(kekId: string, aad: Uint8Array | undefined): Buffer {
  const b = Buffer.alloc(40);
  MAGIC.copy(b, 0);
  b[4] = 1;
  b.write(kekId, 5, 'latin1');
  return aad && aad.length > 0 ? Buffer.concat([b, aad]) : b;
}

interface Parsed {
  kekId: string;
  version: number;
  keyIv: Uint8Array;
  wrappedKey: Uint8Array;
  dataIv: Uint8Array;
  data: Uint8Array;
}

function parse(sealed: Uint8Array): Parsed {
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (b.length < HEAD + TAG_BYTES || !b.subarray(0, 4).equals(MAGIC) || b[4] !== 1) {
    throw new CityTrustError('VAULT_CIPHERTEXT_MALFORMED', 'not a citytrust envelope, or truncated');
  }
  return {
    kekId: b.subarray(5, 40).toString('latin1'),
    version: b.readUInt32BE(40),
    keyIv: b.subarray(44, 56),
    wrappedKey: b.subarray(56, 104),
    dataIv: b.subarray(104, HEAD),
    data: b.subarray(HEAD),
  };
}

export class EnvelopeCipher {
  readonly #vault: KeyVault;
  readonly #caller: VaultCaller;
  readonly #kekId: string;

  constructor(vault: KeyVault, caller: VaultCaller, kekId: string) {
    this.#vault = vault;
    this.#caller = caller;
    this.#kekId = checkKeyId(kekId);
  }

  async seal(plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
    const fullAad = aadFor(this.#kekId, aad);
    const dataKey = Buffer.alloc(32);
    dataKey.set(randomBytes(32));
    try {
      const wrapped = await this.#vault.encrypt(this.#caller, this.#kekId, dataKey, fullAad);
      const record = aeadEncrypt(dataKey, plaintext, fullAad);
      const head = Buffer.alloc(56);
      fullAad.copy(head, 0, 0, 40);
      head.writeUInt32BE(wrapped.version, 40);
      Buffer.from(wrapped.iv).copy(head, 44);
      return new Uint8Array(Buffer.concat([head, wrapped.ciphertext, record.iv, record.ciphertext]));
    } finally {
      dataKey.fill(0);
    }
  }

  async open(sealed: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
    const p = parse(sealed);
    if (p.kekId !== this.#kekId) throw new CityTrustError('VAULT_DECRYPT_FAILED', 'the envelope was sealed under another key');
    const fullAad = aadFor(this.#kekId, aad);
    const dataKey = await this.#vault.decrypt(this.#caller, this.#kekId, { version: p.version, iv: p.keyIv, ciphertext: p.wrappedKey }, fullAad);
    try {
      return aeadDecrypt(dataKey, p.dataIv, p.data, fullAad);
    } finally {
      dataKey.fill(0);
    }
  }

  /** Re-encrypts the data key under the KEK's current version; the record bytes stay as they are. */
  async rewrap(sealed: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
    const p = parse(sealed);
    if (p.kekId !== this.#kekId) throw new CityTrustError('VAULT_DECRYPT_FAILED', 'the envelope was sealed under another key');
    const fullAad = aadFor(this.#kekId, aad);
    const dataKey = await this.#vault.decrypt(this.#caller, this.#kekId, { version: p.version, iv: p.keyIv, ciphertext: p.wrappedKey }, fullAad);
    try {
      const wrapped = await this.#vault.encrypt(this.#caller, this.#kekId, dataKey, fullAad);
      const head = Buffer.alloc(56);
      fullAad.copy(head, 0, 0, 40);
      head.writeUInt32BE(wrapped.version, 40);
      Buffer.from(wrapped.iv).copy(head, 44);
      return new Uint8Array(Buffer.concat([head, wrapped.ciphertext, p.dataIv, p.data]));
    } finally {
      dataKey.fill(0);
    }
  }
}

export const ENVELOPE_OVERHEAD = HEAD + TAG_BYTES;
