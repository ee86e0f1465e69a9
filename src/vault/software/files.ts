/**
 * File primitives for the keystore: crash-safe replacement and best-effort destruction.
 *
 * A write is temp file → fsync → rename → fsync(directory) (POSIX rename(2) is atomic within a
 * file system), so after `kill -9` or power loss a key file is either the old one or the new
 * one, never a torn mix; a stray temp file is all that can be left, and open() removes those.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, readdir, unlink, stat, mkdir } from 'node:fs/promises';
import { join, dirname, basename } from 'node:path';

export const TEMP_PREFIX = '.tmp-';

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeFileAtomic(path: string, data: Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `${TEMP_PREFIX}${basename(path)}-${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dir);
}

/**
 * Overwrites a file's bytes in place (random, then zeros), syncs, and unlinks it. On a
 * journalling, copy-on-write or flash-backed file system the old blocks may survive
 * elsewhere; what is on disk is only ever ciphertext under the master key, and the master
 * key is gone from memory first (docs/vault.md, tamper response).
 */
export async function overwriteAndRemove(path: string): Promise<void> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return;
  }
  try {
    const fh = await open(path, 'r+');
    try {
      if (size > 0) {
        await fh.write(randomBytes(size), 0, size, 0);
        await fh.sync();
        await fh.write(Buffer.alloc(size), 0, size, 0);
        await fh.sync();
      }
    } finally {
      await fh.close();
    }
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

export async function listFiles(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

export async function removeTempFiles(dir: string): Promise<void> {
  for (const name of await listFiles(dir)) if (name.startsWith(TEMP_PREFIX)) await overwriteAndRemove(join(dir, name));
}
