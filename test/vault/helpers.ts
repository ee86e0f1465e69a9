/** Test helpers for the vault: an in-memory audit sink and throwaway data directories. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { AuditEventInput, AuditReceipt, AuditSink } from '../../src/audit/types.ts';
import { FixedClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/log.ts';
import { isCityTrustError, type ErrorCode } from '../../src/core/errors.ts';
import { SoftwareVault, type SoftwareVaultOptions } from '../../src/vault/index.ts';
import type { VaultCaller } from '../../src/vault/index.ts';

export class MemoryAudit implements AuditSink {
  readonly events: AuditEventInput[] = [];
  failing = false;
  async append(event: AuditEventInput): Promise<AuditReceipt> {
    if (this.failing) throw new Error('audit store down');
    this.events.push(structuredClone(event));
    return { index: this.events.length - 1 };
  }
  actions(): string[] {
    return this.events.map((e) => e.action);
  }
}

export const CITY: VaultCaller = { actor: 'token:city-admin', tenant: null };
export const TRANSIT: VaultCaller = { actor: 'token:transit', tenant: 'transit' };
export const UTILITY: VaultCaller = { actor: 'token:utility', tenant: 'utility' };

export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'citytrust-vault-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Opened {
  vault: SoftwareVault;
  audit: MemoryAudit;
  clock: FixedClock;
  dir: string;
  shares: string[];
}

/** A fresh, initialised and unsealed software vault in a temporary directory. */
export async function openFresh(t: { after: (fn: () => void | Promise<void>) => void }, opts: Partial<SoftwareVaultOptions> & { shares?: number; threshold?: number } = {}): Promise<Opened> {
  const dir = opts.dataDir ?? tempDir(t);
  const audit = new MemoryAudit();
  const clock = new FixedClock();
  const vault = await SoftwareVault.open({ dataDir: dir, clock, logger: silentLogger(), audit, usageFlushMs: 0, ...opts });
  const { shares } = await vault.init(CITY, { shares: opts.shares ?? 5, threshold: opts.threshold ?? 3 });
  t.after(() => vault.close());
  return { vault, audit, clock, dir, shares };
}

export async function reopen(o: Pick<Opened, 'dir' | 'audit' | 'clock'>, opts: Partial<SoftwareVaultOptions> = {}): Promise<SoftwareVault> {
  return SoftwareVault.open({ dataDir: o.dir, clock: o.clock, logger: silentLogger(), audit: o.audit, usageFlushMs: 0, ...opts });
}

/** Asserts the promise rejects with a CityTrustError of this code. */
export async function rejectsWith(p: Promise<unknown> | (() => Promise<unknown>), code: ErrorCode): Promise<void> {
  await assert.rejects(typeof p === 'function' ? p() : p, (e: unknown) => {
    assert.ok(isCityTrustError(e), `expected CityTrustError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

export function throwsWith(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isCityTrustError(e), `expected CityTrustError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}
