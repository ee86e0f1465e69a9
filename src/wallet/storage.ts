/**
 * Encrypted persistence for the wallet: every record is sealed with AES-256-GCM under a storage
 * key the host platform keeps (Android Keystore / iOS Keychain wrap it on a phone; tests pass 32
 * random bytes). The AAD names the record, so records cannot be swapped. Storage backends only
 * ever see ciphertext.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { utf8 } from '../core/bytes.ts';
import { aesGcmOpen, aesGcmSeal, randomBytes } from '../crypto/index.ts';

export interface WalletStorage {
  get(name: string): Promise<Uint8Array | undefined>;
  put(name: string, value: Uint8Array): Promise<void>;
}

export class MemoryStorage implements WalletStorage {
  readonly records = new Map<string, Uint8Array>();
  async get(name: string): Promise<Uint8Array | undefined> {
    return this.records.get(name);
  }
  async put(name: string, value: Uint8Array): Promise<void> {
    this.records.set(name, Uint8Array.from(value));
  }
}

const NAME = /^[a-z0-9._-]{1,64}$/;

/** One file per record, written temp → fsync → rename, so a crash leaves the old or the new record. */
export class FileStorage implements WalletStorage {
  readonly #dir: string;
  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#dir = dir;
  }
  async get(name: string): Promise<Uint8Array | undefined> {
    if (!NAME.test(name)) throw new CityTrustError('INPUT_INVALID', 'bad record name');
    const p = join(this.#dir, name);
    return existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined;
  }
  async put(name: string, value: Uint8Array): Promise<void> {
    if (!NAME.test(name)) throw new CityTrustError('INPUT_INVALID', 'bad record name');
    const p = join(this.#dir, name);
    const tmp = `${p}.tmp`;
    writeFileSync(tmp, value, { mode: 0o600 });
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, p);
  }
}

/** Seals records under the storage key: IV (12) ‖ AES-256-GCM(ciphertext ‖ tag), AAD = "citytrust/wallet/v1/" ‖ name. */
export class SealedRecords {
  readonly #storage: WalletStorage;
  readonly #key: Uint8Array;
  constructor(storage: WalletStorage, storageKey: Uint8Array) {
    if (!(storageKey instanceof Uint8Array) || storageKey.length !== 32) throw new CityTrustError('CRYPTO_KEY_SIZE_UNSUPPORTED', 'the storage key is 32 bytes');
    this.#storage = storage;
    this.#key = Uint8Array.from(storageKey);
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    const sealed = await this.#storage.get(name);
    if (sealed === undefined) return undefined;
    try {
      return aesGcmOpen(this.#key, sealed.subarray(0, 12), sealed.subarray(12), utf8.encode(`citytrust/wallet/v1/${name}`));
    } catch (e) {
      if (isCityTrustError(e)) throw new CityTrustError('WALLET_STORAGE_CORRUPT', `record ${name} does not open`, { cause: e });
      throw e;
    }
  }

  async write(name: string, plaintext: Uint8Array): Promise<void> {
    const iv = randomBytes(12);
    const ct = aesGcmSeal(this.#key, iv, plaintext, utf8.encode(`citytrust/wallet/v1/${name}`));
    const out = new Uint8Array(12 + ct.length);
    out.set(iv);
    out.set(ct, 12);
    await this.#storage.put(name, out);
  }
}
