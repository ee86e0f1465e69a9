/**
 * A reader's state directory (docs/reader.md §8), for the CLI, the simulator and software readers:
 *
 *   reader.json   configuration (validateReaderConfig)
 *   root.json     the pinned city root {"alg": "ES384" | "ES256" | "EdDSA", "spki": base64url}: the PKI
 *                 root CA's key (which certifies the credential root in every trust list), or, for
 *                 readers set up before the PKI, the credential root itself (ES256)
 *   key.pem       the reader key, PKCS#8, mode 0600: a software stand-in for the secure element
 *   chain.pem     the reader certificate and its issuing CA, after enrolment
 *   trust.cbor    the offline trust cache
 *   events/, state.cbor, instance   the event queue
 *
 * A reader with a secure element keeps everything but key.pem here and passes its own signer.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { CityTrustError } from '../core/errors.ts';
import { fromBase64Url, toBase64Url } from '../core/bytes.ts';
import { pinnedRootKey } from '../credentials/device.ts';
import { exportSpkiPublicKey, generateKeyPair, keyObjectSigner, publicKeyOf, type CoseSigner, type CoseVerifierKey } from '../crypto/index.ts';
import type { ReaderKeyMaterial } from '../tap/types.ts';
import { validateReaderConfig, type ReaderConfig } from './config.ts';
import { fromPemBlocks, toPemBlock } from './enrol.ts';
import { writeFileAtomic } from './files.ts';
import { EventQueue } from './queue.ts';
import { Reader } from './reader.ts';
import { ReaderOnline } from './online.ts';
import { TrustCache } from './trust-cache.ts';

export const HOME_FILES = { config: 'reader.json', root: 'root.json', key: 'key.pem', chain: 'chain.pem' } as const;

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CityTrustError('READER_CONFIG_INVALID', `${what} (${path}) is missing or not JSON`, { cause: e });
  }
}

/**
 * The key a reader pins, from what an installer has: the PKI root certificate (DER or PEM), or an
 * SPKI (DER or PEM `PUBLIC KEY`) of the PKI root (P-384, P-256 or Ed25519) or of the credential root.
 */
export function rootPinOf(input: Uint8Array | string): { verifier: CoseVerifierKey; spki: Uint8Array } {
  let der: Uint8Array;
  if (typeof input === 'string') {
    const m = /-----BEGIN (CERTIFICATE|PUBLIC KEY)-----([\s\S]*?)-----END \1-----/.exec(input);
    if (!m) throw new CityTrustError('READER_CONFIG_INVALID', 'the city root is a PEM CERTIFICATE or PUBLIC KEY');
    der = new Uint8Array(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64'));
  } else der = input;
  let spki = der;
  try {
    spki = new Uint8Array(new X509Certificate(Buffer.from(der)).publicKey.export({ type: 'spki', format: 'der' }));
  } catch {
    // not a certificate: an SPKI
  }
  let verifier: CoseVerifierKey;
  try {
    verifier = pinnedRootKey(spki);
  } catch (e) {
    throw new CityTrustError('READER_CONFIG_INVALID', 'the city root is not a P-384, P-256 or Ed25519 certificate or SPKI', { cause: e });
  }
  return { verifier, spki: exportSpkiPublicKey(verifier.key) };
}

/** Creates a state directory: configuration, pinned root, a fresh software key. Refuses to overwrite. */
export function initReaderHome(dir: string, config: unknown, root: Uint8Array | string): ReaderConfig {
  const c = validateReaderConfig(config);
  if (existsSync(join(dir, HOME_FILES.config))) throw new CityTrustError('CONFLICT', `${dir} already holds a reader`);
  const pin = rootPinOf(root);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(join(dir, HOME_FILES.root), new TextEncoder().encode(JSON.stringify({ alg: pin.verifier.alg, spki: toBase64Url(pin.spki) })));
  const key = generateKeyPair('P-256');
  writeFileAtomic(join(dir, HOME_FILES.key), new TextEncoder().encode(key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), 0o600);
  writeFileAtomic(join(dir, HOME_FILES.config), new TextEncoder().encode(`${JSON.stringify(c, null, 2)}\n`));
  return c;
}

export interface ReaderHome {
  readonly dir: string;
  readonly config: ReaderConfig;
  readonly signer: CoseSigner;
  readonly publicKey: KeyObject;
  /** Certificate chain, leaf first; empty before enrolment. */
  readonly chain: Uint8Array[];
  readonly trust: TrustCache;
  readonly trustLoadError: CityTrustError | undefined;
  readonly queue: EventQueue;
  /** A Reader ready to tap (READER_NOT_ENROLLED before enrolment). */
  reader(): Reader;
  /** The online side (READER_CONFIG_INVALID without serverUrl). */
  online(fetchImpl?: typeof fetch): ReaderOnline;
  /** Stores the chain returned by enrolment. */
  saveChain(chain: readonly Uint8Array[]): void;
}

export function openReaderHome(dir: string, clock: Clock): ReaderHome {
  const config = validateReaderConfig(readJson(join(dir, HOME_FILES.config), 'the reader configuration'));
  const root = readJson(join(dir, HOME_FILES.root), 'the pinned root') as { alg?: unknown; spki?: unknown };
  if ((root.alg !== 'ES256' && root.alg !== 'ES384' && root.alg !== 'EdDSA') || typeof root.spki !== 'string') throw new CityTrustError('READER_CONFIG_INVALID', 'root.json is {"alg": "ES384" | "ES256" | "EdDSA", "spki": base64url}');
  const rootKey = rootPinOf(fromBase64Url(root.spki)).verifier;
  if (rootKey.alg !== root.alg) throw new CityTrustError('READER_CONFIG_INVALID', `root.json names ${root.alg} for a ${rootKey.alg} key`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(join(dir, HOME_FILES.key), 'utf8'));
  } catch (e) {
    throw new CityTrustError('READER_CONFIG_INVALID', 'key.pem is missing or not a PKCS#8 key', { cause: e });
  }
  const signer = keyObjectSigner('ES256', privateKey);
  const chainFile = join(dir, HOME_FILES.chain);
  let chain = existsSync(chainFile) ? fromPemBlocks(readFileSync(chainFile, 'utf8')) : [];
  const { cache: trust, loadError } = TrustCache.open({ root: rootKey, dir, now: clock.now() });
  const queue = EventQueue.open(dir);
  const material = (): ReaderKeyMaterial => {
    if (chain.length === 0) throw new CityTrustError('READER_NOT_ENROLLED', 'the reader has no certificate yet; enrol it first');
    return { chain, signer };
  };
  return {
    dir,
    config,
    signer,
    publicKey: publicKeyOf(privateKey),
    get chain() {
      return chain;
    },
    trust,
    trustLoadError: loadError ?? undefined,
    queue,
    reader: () => new Reader({ config, identity: material(), trust, events: queue, clock }),
    online: (fetchImpl) => new ReaderOnline({ config, identity: material(), trust, queue, clock, ...(fetchImpl !== undefined && { fetch: fetchImpl }) }),
    saveChain(next) {
      writeFileAtomic(chainFile, new TextEncoder().encode(next.map((c) => toPemBlock('CERTIFICATE', c)).join('')));
      chain = [...next];
    },
  };
}

