/** A PKI on a fresh SQLite store and software vault, with keys and CSRs made at test time. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { FixedClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/log.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { Tenants } from '../../src/access/tenants.ts';
import { SoftwareVault } from '../../src/vault/index.ts';
import { Devices, BootstrapTokens } from '../../src/devices/index.ts';
import { Pki, type PkiSettings } from '../../src/pki/index.ts';
import { MemoryAudit } from '../vault/helpers.ts';
import { bitString, explicit, oid, seq, setOf, smallUint, tlv, utf8, extensionDer } from '../../src/pki/x509/asn1.ts';
import { generalNames, type SanInput } from '../../src/pki/x509/extensions.ts';

export interface TestPki {
  pki: Pki;
  devices: Devices;
  bootstrap: BootstrapTokens;
  tenants: Tenants;
  store: Store;
  vault: SoftwareVault;
  audit: MemoryAudit;
  clock: FixedClock;
  dir: string;
}

export const T0 = Date.UTC(2026, 10, 22, 12);

/** A PKI with its hierarchy created, and tenants `transit` and `utility`. */
export async function openPki(t: { after: (fn: () => Promise<void> | void) => void }, settings: Partial<PkiSettings> = {}, init = true, databaseUrl?: string): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'citytrust-pki-'));
  const clock = new FixedClock(T0);
  const audit = new MemoryAudit();
  const store = await openStore({ dataDir: dir, databaseUrl });
  const vault = await SoftwareVault.open({ dataDir: join(dir, 'vault'), clock, logger: silentLogger(), audit, usageFlushMs: 0 });
  await vault.init({ actor: 'test', tenant: null }, { shares: 1, threshold: 1 });
  const tenants = new Tenants({ store, clock, audit });
  await tenants.create({ id: 'transit', name: 'Transit' }, 'test');
  await tenants.create({ id: 'utility', name: 'Utility' }, 'test');
  const devices = new Devices({ store, clock, audit });
  const bootstrap = new BootstrapTokens({ store, clock, audit, devices, defaultTtlSeconds: 3600 });
  const pki = new Pki({ store, vault, clock, audit, devices, bootstrap, settings });
  if (init) await pki.init('test:admin');
  t.after(async () => {
    await vault.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { pki, devices, bootstrap, tenants, store, vault, audit, clock, dir };
}

export type CurveName = 'P-256' | 'P-384' | 'ed25519' | 'secp256k1' | 'P-521' | 'rsa';

export function keyPair(kind: CurveName = 'P-256'): { privateKey: KeyObject; publicKey: KeyObject } {
  if (kind === 'ed25519') return generateKeyPairSync('ed25519');
  if (kind === 'rsa') return generateKeyPairSync('rsa', { modulusLength: 1024 });
  return generateKeyPairSync('ec', { namedCurve: kind });
}

export interface CsrOptions {
  names?: SanInput;
  ca?: boolean;
  keyCertSign?: boolean;
  /** Sign with another key than the one in the request. */
  signWith?: KeyObject;
  hash?: 'sha256' | 'sha384' | 'sha1';
  cn?: string;
}

const SIG_OID: Record<string, string> = { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha1: '1.2.840.10045.4.1' };

/** A PKCS#10 request written by hand, so tests can ask for anything (RFC 2986 §4). */
export function makeCsr(key: { privateKey: KeyObject; publicKey: KeyObject }, o: CsrOptions = {}): Uint8Array {
  const spki = new Uint8Array(key.publicKey.export({ type: 'spki', format: 'der' }));
  const exts: Uint8Array[] = [];
  if (o.ca) exts.push(extensionDer('2.5.29.19', true, seq(Uint8Array.of(0x01, 0x01, 0xff))));
  if (o.keyCertSign) exts.push(extensionDer('2.5.29.15', true, bitString(Uint8Array.of(0x06), 1)));
  if (o.names) exts.push(extensionDer('2.5.29.17', false, seq(...generalNames(o.names))));
  const attrs = exts.length > 0 ? [seq(oid('1.2.840.113549.1.9.14'), setOf(seq(...exts)))] : [];
  const info = seq(smallUint(0), seq(setOf(seq(oid('2.5.4.3'), utf8(o.cn ?? 'device')))), spki, tlv(0xa0, ...attrs));
  const signer = o.signWith ?? key.privateKey;
  const isEd = signer.asymmetricKeyType === 'ed25519';
  const isRsa = signer.asymmetricKeyType === 'rsa';
  const hash = o.hash ?? 'sha256';
  const sig = new Uint8Array(nodeSign(isEd ? null : hash, info, isRsa ? signer : { key: signer, dsaEncoding: 'der' }));
  const alg = isEd ? seq(oid('1.3.101.112')) : isRsa ? seq(oid('1.2.840.113549.1.1.11'), Uint8Array.of(5, 0)) : seq(oid(SIG_OID[hash]!));
  return seq(info, alg, bitString(sig));
}

export { explicit };
