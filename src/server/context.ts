/**
 * Wiring: the one place (with the CLI and the simulator) where real collaborators are
 * created and handed to the domain modules.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync, mkdirSync, renameSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.ts';
import type { Config } from '../core/config.ts';
import { createLogger } from '../core/log.ts';
import { openStore, type Store } from '../store/db.ts';
import { AuditLog } from '../audit/log.ts';
import type { NoteSigner } from '../audit/types.ts';
import { Tenants } from '../access/tenants.ts';
import { Tokens } from '../access/tokens.ts';

export interface AppContext {
  config: Config;
  clock: Clock;
  logger: Logger;
  store: Store;
  audit: AuditLog;
  tenants: Tenants;
  tokens: Tokens;
}

export interface OpenContextOptions {
  logger?: Logger;
  clock?: Clock;
  /** Start the checkpoint timer (servers do; one-shot CLI commands do not). */
  checkpointing?: boolean;
}

const SIGNER_FILE = 'audit-checkpoint-key.pem';

/**
 * Checkpoint signer held in a key file (0600) in the data directory.
 * This is the bootstrap signer of the Foundation release: once the key vault is wired in,
 * checkpoints are signed by a vault key and this file is no longer created.
 */
export function fileNoteSigner(dataDir: string, name: string): NoteSigner {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, SIGNER_FILE);
  let key: KeyObject;
  if (existsSync(file)) {
    key = createPrivateKey(readFileSync(file));
  } else {
    key = generateKeyPairSync('ed25519').privateKey;
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
    chmodSync(file, 0o600);
  }
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  return {
    name,
    publicKey,
    sign: async (message) => new Uint8Array(edSign(null, message, key)),
  };
}

export async function openContext(config: Config, opts: OpenContextOptions = {}): Promise<AppContext> {
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  const clock = opts.clock ?? systemClock;
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    const signer = fileNoteSigner(config.dataDir, config.audit.logName);
    const audit = await AuditLog.open({
      store,
      signer,
      clock,
      logger,
      origin: config.audit.logName,
      checkpointIntervalMs: config.audit.checkpointIntervalMs,
      maxBatch: config.audit.maxBatch,
    });
    if (opts.checkpointing) audit.startCheckpointing();
    return { config, clock, logger, store, audit, tenants: new Tenants({ store, clock, audit }), tokens: new Tokens({ store, clock, audit }) };
  } catch (e) {
    await store.close();
    throw e;
  }
}

export async function closeContext(ctx: AppContext): Promise<void> {
  await ctx.audit.close();
  await ctx.store.close();
}
