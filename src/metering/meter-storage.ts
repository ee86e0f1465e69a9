/**
 * What a meter keeps across power cycles: its identity key (the simulated secure element), its
 * certificate, the head-end keys it trusts, its counters and registers. Device-side.
 *
 * The invocation counter is reserved *before* use and written durably (temp file, fsync, rename,
 * fsync of the directory), so a crash can skip counter values — the head-end sees a gap — but
 * never reuses one, which would reuse a GCM IV under the same key.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, existsSync, rmSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CityTrustError } from '../core/errors.ts';

export interface HeadEndKeyRecord {
  /** 8-byte key id, hex. */
  readonly keyId: string;
  /** SubjectPublicKeyInfo DER, base64 (from the validated certificate). */
  readonly spki: string;
  /** The head-end certificate from the meters CA, DER base64 (absent in state written before certificates). */
  readonly certificate?: string;
  readonly notAfter?: number;
}

export interface PersistedMeterState {
  readonly format: 1;
  readonly tenant: string;
  readonly meterId: string;
  /** P-256 private scalar, base64url (the simulated secure element); absent once wiped. */
  identityKey?: string;
  /** Meter certificate DER, base64. */
  certificate?: string;
  /** City roots (certificate DER, base64) the head-end's certificates must chain to. */
  roots?: string[];
  /** Head-end keys whose certificates validated, and the CA chain above them (DER, base64). */
  headEnd?: { keyAgreement: HeadEndKeyRecord; commandKeys: HeadEndKeyRecord[]; chain?: string[] };
  /** Highest invocation counter reserved; counters up to it may have been used. */
  counterReserved: number;
  /** Highest command counter accepted. */
  commandCounter: number;
  /** Command id (hex) of that command: a re-sent copy is acked `already-executed`, not executed again. */
  lastCommand?: { id: string };
  importWh: number;
  exportWh: number;
  relayConnected: boolean;
  tariffId: number;
  /** Offset of the meter clock from its oscillator, set by time-sync commands (ms). */
  clockOffsetMs: number;
  wiped: boolean;
}

export interface MeterStorage {
  load(): PersistedMeterState | undefined;
  /** Resolves only once the state is durable. */
  save(state: PersistedMeterState): void;
}

/** In memory only: for simulations of many meters (benchmarks) where durability is not the point. */
export class MemoryMeterStorage implements MeterStorage {
  #state: string | undefined;
  load(): PersistedMeterState | undefined {
    return this.#state === undefined ? undefined : (JSON.parse(this.#state) as PersistedMeterState);
  }
  save(state: PersistedMeterState): void {
    this.#state = JSON.stringify(state);
  }
}

/** One JSON file, replaced atomically and durably on every save; mode 0600. */
export class FileMeterStorage implements MeterStorage {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }

  load(): PersistedMeterState | undefined {
    if (!existsSync(this.path)) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (e) {
      throw new CityTrustError('METER_NOT_PROVISIONED', 'the meter state file is unreadable', { cause: e });
    }
    if (parsed === null || typeof parsed !== 'object' || (parsed as { format?: unknown }).format !== 1) {
      throw new CityTrustError('METER_NOT_PROVISIONED', 'the meter state file has an unknown format');
    }
    return parsed as PersistedMeterState;
  }

  save(state: PersistedMeterState): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${basename(this.path)}.tmp-${randomBytes(6).toString('hex')}`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(tmp, this.path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}
