/** A credential service on a temporary SQLite store and a fresh software vault, plus a software wallet. */
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { openStore, type Store } from '../../src/store/index.ts';
import type { FixedClock } from '../../src/core/clock.ts';
import { fromBase64Url, toBase64Url } from '../../src/core/bytes.ts';
import { Tenants } from '../../src/access/tenants.ts';
import { createSignature, exportRawPublicKey, generateKeyPair, keyObjectAgreement } from '../../src/crypto/index.ts';
import {
  createCredentialServices,
  registrationToBeSigned,
  syncToBeSigned,
  openEnvelope,
  decodeProvisioningMessage,
  type CredentialServices,
  type CredentialSettings,
  type ProvisioningMessage,
} from '../../src/credentials/index.ts';
import type { SoftwareVault } from '../../src/vault/index.ts';
import { MemoryAudit, openFresh, tempDir } from '../vault/helpers.ts';

export interface Env {
  store: Store;
  clock: FixedClock;
  audit: MemoryAudit;
  vault: SoftwareVault;
  svc: CredentialServices;
}

export interface EnvOptions {
  /** PostgreSQL instead of a temporary SQLite file (test/services). */
  readonly databaseUrl?: string;
  readonly settings?: Partial<CredentialSettings>;
}

type T = { after: (fn: () => void | Promise<void>) => void };

export async function openEnv(t: T, tenants: string[] = ['metro', 'parking'], opts: EnvOptions = {}): Promise<Env> {
  const { vault, clock } = await openFresh(t);
  clock.set(Date.UTC(2026, 5, 10, 13, 0));
  const dir = tempDir(t);
  const store = await openStore({ dataDir: join(dir, 'db'), databaseUrl: opts.databaseUrl });
  t.after(() => store.close());
  const audit = new MemoryAudit();
  const svc = createCredentialServices({ store, vault, audit, clock, settings: { statusListSize: 1024, ...opts.settings } });
  t.after(() => svc.close());
  const ts = new Tenants({ store, clock, audit });
  for (const id of tenants) {
    await ts.create({ id, name: id }, 'test');
    await svc.rotateIssuerKey(id, 'ES256', 'test');
  }
  return { store, clock, audit, vault, svc };
}

/** A second server instance on the same store and vault (scale-out). */
export function secondInstance(t: T, env: Env, settings: Partial<CredentialSettings> = {}): Env {
  const svc = createCredentialServices({ store: env.store, vault: env.vault, audit: env.audit, clock: env.clock, settings: { statusListSize: 1024, ...settings } });
  t.after(() => svc.close());
  return { ...env, svc };
}

/** A phone: an SE key pair held by the test, registration, sync with ack, envelope opening. */
export class TestWallet {
  readonly key: { privateKey: KeyObject; publicKey: KeyObject } = generateKeyPair('P-256');
  id = '';
  ack = 0;
  readonly received: ProvisioningMessage[] = [];
  readonly env: Env;
  readonly tenant: string;
  constructor(env: Env, tenant: string) {
    this.env = env;
    this.tenant = tenant;
  }

  async register(): Promise<this> {
    const { challengeId, challenge } = await this.env.svc.wallets.createChallenge(this.tenant, 'test');
    const point = exportRawPublicKey(this.key.publicKey, 'uncompressed');
    const signature = createSignature('ES256', this.key.privateKey, registrationToBeSigned(this.tenant, fromBase64Url(challenge), point), 'raw');
    const w = await this.env.svc.wallets.register(this.tenant, { challengeId, publicKey: toBase64Url(point), signature: toBase64Url(signature) }, 'test');
    this.id = w.id;
    return this;
  }

  async signedSync(ack = this.ack): Promise<{ nonce: string; ack: number; signature: string }> {
    const { nonce } = await this.env.svc.wallets.nonce(this.id);
    return { nonce, ack, signature: toBase64Url(createSignature('ES256', this.key.privateKey, syncToBeSigned(this.id, fromBase64Url(nonce), ack), 'raw')) };
  }

  /** One sync round: opens what arrives, keeps each delivery once, acks next time. */
  async sync(): Promise<ProvisioningMessage[]> {
    const res = await this.env.svc.wallets.sync(this.id, await this.signedSync());
    const fresh: ProvisioningMessage[] = [];
    for (const d of res.deliveries) {
      const m = decodeProvisioningMessage(await openEnvelope(fromBase64Url(d.envelope), { walletId: this.id, agreement: keyObjectAgreement(this.key.privateKey) }));
      if (!this.received.some((r) => r.deliveryId === m.deliveryId)) {
        this.received.push(m);
        fresh.push(m);
      }
      this.ack = Math.max(this.ack, d.seq);
    }
    return fresh;
  }
}
