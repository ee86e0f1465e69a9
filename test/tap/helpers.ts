/**
 * A small world for tap tests, every key made at test time: a reader PKI (root and readers CA built
 * with the PKI's own certificate writer), a credential chain (city root → issuer → credentials), a
 * reader with a memory event sink, and a wallet whose holder key is a software stand-in for the SE.
 */
import type { KeyObject } from 'node:crypto';
import { FixedClock } from '../../src/core/clock.ts';
import {
  createCredential,
  createStatusListToken,
  createTrustList,
  StatusList,
  STATUS,
  verifyCredential,
  validateGrants,
  type CredentialClaims,
  type Grants,
} from '../../src/credentials/device.ts';
import { createSignature, exportSpkiPublicKey, generateKeyPair, keyObjectSigner, randomBytes, type KeyPair } from '../../src/crypto/index.ts';
import { buildCertificate, buildCrl, nameDer, type DerSigner } from '../../src/pki/x509/build.ts';
import { basicConstraints, certificatePolicies, crlNumber, extKeyUsage, keyUsage, subjectAltName } from '../../src/pki/x509/extensions.ts';
import { EKU_CLIENT_AUTH, POLICY_ARC } from '../../src/pki/x509/oids.ts';
import { deviceUrn } from '../../src/pki/profiles.ts';
import { Reader, validateReaderConfig, MemoryEventSink, TrustCache, type ReaderConfig } from '../../src/reader/index.ts';
import { WalletSession, type ReaderAuthenticator, type ReaderKeyMaterial, type TapResponder } from '../../src/tap/index.ts';
import { PinnedReaderAuthenticator, siteUrn, WalletTapResponder, type PinnedReader, type TapCredential, type WalletTapResponderOptions } from '../../src/wallet/tap/index.ts';
import type { WalletOutcome } from '../../src/tap/index.ts';
import { makeIssuer, makeRoot, NOW, NOW_S, type Issuer } from '../credentials/helpers.ts';

export { NOW, NOW_S };

export interface TestCa {
  readonly key: KeyPair;
  readonly name: Uint8Array;
  readonly der: Uint8Array;
  readonly signer: DerSigner;
}

let serial = 1;
function nextSerial(): Uint8Array {
  serial += 1;
  return Uint8Array.of(0x10, (serial >> 8) & 0xff, serial & 0xff);
}

function derSigner(privateKey: KeyObject): DerSigner {
  return { keyType: 'ec-p256', sign: async (d) => createSignature('ES256', privateKey, d, 'der') };
}

/** A CA certificate: self-signed when no issuer is given. */
export async function makeCa(cn: string, issuer?: TestCa): Promise<TestCa> {
  const key = generateKeyPair('P-256');
  const name = nameDer([['O', 'test city'], ['CN', cn]]);
  const signer = derSigner(key.privateKey);
  const der = await buildCertificate(
    {
      serial: nextSerial(),
      issuer: issuer?.name ?? name,
      subject: name,
      notBefore: NOW - 86_400_000,
      notAfter: NOW + 365 * 86_400_000,
      spki: exportSpkiPublicKey(key.publicKey),
      extensions: [basicConstraints(true, issuer ? 0 : 1), keyUsage(['keyCertSign', 'cRLSign'])],
    },
    issuer?.signer ?? signer,
  );
  return { key, name, der, signer };
}

/** A current CRL of `ca` revoking `serials`. */
export async function crlOf(ca: TestCa, serials: readonly Uint8Array[], now = NOW): Promise<Uint8Array> {
  return buildCrl({ issuer: ca.name, thisUpdate: now - 3600_000, nextUpdate: now + 86_400_000, entries: serials.map((serial) => ({ serial, revokedAt: now - 60_000, entryExtensions: [] })), extensions: [crlNumber(1)] }, ca.signer);
}

export interface TestReaderCert {
  readonly key: KeyPair;
  readonly der: Uint8Array;
  readonly serial: Uint8Array;
  readonly material: ReaderKeyMaterial;
}

export async function readerCert(ca: TestCa, o: { tenant: string; readerId: string; site?: string; profile?: 'reader' | 'gate'; notBefore?: number; notAfter?: number }): Promise<TestReaderCert> {
  const key = generateKeyPair('P-256');
  const profile = o.profile ?? 'reader';
  const sn = nextSerial();
  const der = await buildCertificate(
    {
      serial: sn,
      issuer: ca.name,
      subject: nameDer([['O', o.tenant], ['OU', profile], ['CN', o.readerId]]),
      notBefore: o.notBefore ?? NOW - 86_400_000,
      notAfter: o.notAfter ?? NOW + 365 * 86_400_000,
      spki: exportSpkiPublicKey(key.publicKey),
      extensions: [
        basicConstraints(false),
        keyUsage(['digitalSignature']),
        extKeyUsage([EKU_CLIENT_AUTH]),
        certificatePolicies([`${POLICY_ARC}.${profile === 'reader' ? 1 : 2}`]),
        subjectAltName({ uri: [deviceUrn(o.tenant, o.readerId), ...(o.site !== undefined ? [siteUrn(o.tenant, o.site)] : [])] }),
      ],
    },
    ca.signer,
  );
  return { key, der, serial: sn, material: { chain: [der, ca.der], signer: keyObjectSigner('ES256', key.privateKey) } };
}

export function pinOf(c: TestReaderCert, o: { tenant: string; readerId: string; site?: string }): PinnedReader {
  return { publicKey: c.key.publicKey, tenant: o.tenant, readerId: o.readerId, ...(o.site !== undefined && { site: o.site }) };
}

/** A credential in the wallet: bytes, claims and a software holder key standing in for the SE. */
export function tapCredential(bytes: Uint8Array, claims: CredentialClaims, holder: KeyPair, uv: () => number | null = () => 5): TapCredential {
  return { bytes, claims, sign: async (d) => createSignature('ES256', holder.privateKey, d, 'raw'), userVerification: uv };
}

export interface World {
  clock: FixedClock;
  root: ReturnType<typeof makeRoot>;
  issuer: Issuer;
  /** The city root (X.509) and the readers CA under it. */
  cityRoot: TestCa;
  ca: TestCa;
  readerCert: TestReaderCert;
  reader: Reader;
  sink: MemoryEventSink;
  trust: TrustCache;
  statusList: StatusList;
  statusUri: string;
  holder: KeyPair;
  /** Issues a credential bound to `holder` (default: the world's holder). */
  credential(grants: Partial<Grants>, over?: Partial<CredentialClaims>, holder?: KeyPair): Promise<TapCredential>;
  /** A wallet holding `credentials`, pinning the world's reader (override authenticator and policy via opts). */
  wallet(credentials: TapCredential[], opts?: Partial<WalletTapResponderOptions>): { responder: WalletTapResponder; outcomes: WalletOutcome[] };
  /** Signs and installs a new status list (and trust list) into the reader's cache. */
  publishStatus(iat?: number): Promise<void>;
  makeReader(config?: Partial<ReaderConfig>, material?: ReaderKeyMaterial): Reader;
}

export const DOOR = 'door:hq/floor3/d12';

export async function world(config: Partial<ReaderConfig> = {}): Promise<World> {
  const clock = new FixedClock(NOW);
  const root = makeRoot();
  const issuer = await makeIssuer(root, 'acme');
  const cityRoot = await makeCa('city root');
  const ca = await makeCa('readers CA', cityRoot);
  const rc = await readerCert(ca, { tenant: 'acme', readerId: 'door-12', site: 'hq' });
  const trust = new TrustCache({ root: root.verifier });
  const statusList = StatusList.empty(1024, 2);
  const statusUri = 'ct:teststatus1';
  const holder = generateKeyPair('P-256');
  const publishStatus = async (iat = Math.floor(clock.now() / 1000)): Promise<void> => {
    const trustList = await createTrustList({ certificates: [issuer.certificate], iat: NOW_S - 60, exp: NOW_S + 30 * 86400 }, root.signer, root.kid);
    const token = await createStatusListToken({ uri: statusUri, list: statusList, iat, exp: iat + 86400, ttl: 300 }, issuer.signer, issuer.kid);
    trust.update({ trustList, statusLists: [token] }, clock.now());
  };
  await publishStatus();
  let idx = 0;
  const makeReader = (over: Partial<ReaderConfig> = {}, material: ReaderKeyMaterial = rc.material): Reader => {
    const sink = new MemoryEventSink();
    return new Reader({
      config: validateReaderConfig({ readerId: 'door-12', tenant: 'acme', site: 'hq', resources: [DOOR], trustedTenants: ['acme'], tapDeadlineMs: 5000, ...config, ...over }),
      identity: material,
      trust,
      events: sink,
      clock,
    });
  };
  const sink = new MemoryEventSink();
  const reader = new Reader({
    config: validateReaderConfig({ readerId: 'door-12', tenant: 'acme', site: 'hq', resources: [DOOR], trustedTenants: ['acme'], tapDeadlineMs: 5000, ...config }),
    identity: rc.material,
    trust,
    events: sink,
    clock,
  });
  return {
    clock,
    root,
    issuer,
    cityRoot,
    ca,
    readerCert: rc,
    reader,
    sink,
    trust,
    statusList,
    statusUri,
    holder,
    publishStatus,
    makeReader,
    async credential(grants, over = {}, h = holder) {
      const claims: CredentialClaims = {
        iss: issuer.tenant,
        exp: NOW_S + 4 * 3600,
        nbf: NOW_S - 3600,
        iat: NOW_S - 3600,
        cti: randomBytes(8),
        holderKey: h.publicKey,
        status: { idx: idx++, uri: statusUri },
        grants: validateGrants(grants),
        ...over,
      };
      const bytes = await createCredential({ claims, signer: issuer.signer, kid: issuer.kid });
      // The wallet keeps what it was provisioned with; verifying here only decodes the claims for it.
      const verified = verifyCredential(bytes, { trust: trust.trust!, now: Math.min(clock.now(), (claims.exp - 120) * 1000), clockSkewSeconds: 1e9 });
      return tapCredential(bytes, verified.claims, h);
    },
    wallet(credentials, opts = {}) {
      const outcomes: WalletOutcome[] = [];
      const responder = new WalletTapResponder({
        authenticator: new PinnedReaderAuthenticator([pinOf(rc, { tenant: 'acme', readerId: 'door-12', site: 'hq' })]),
        credentials: { credentials: () => credentials },
        clock,
        onOutcome: (o) => outcomes.push(o),
        ...opts,
      });
      return { responder, outcomes };
    },
  };
}

export { STATUS };

/**
 * A wallet that presents `cred` to any reader it authenticates, whatever the request: a dishonest or
 * buggy wallet, so the reader's own decision is what the test sees.
 */
export function presentingWallet(w: World, cred: TapCredential, authenticator?: ReaderAuthenticator): TapResponder {
  let s: WalletSession | undefined;
  const auth = authenticator ?? new PinnedReaderAuthenticator([pinOf(w.readerCert, { tenant: 'acme', readerId: 'door-12', site: 'hq' })]);
  return {
    async handle(m) {
      if (m[1] === 1) s = new WalletSession({ authenticator: auth, presenter: { present: async () => ({ credential: cred.bytes, userVerification: cred.userVerification(), sign: (d) => cred.sign(d) }) }, now: () => w.clock.now() });
      return s === undefined ? new Uint8Array(0) : s.handle(m);
    },
  };
}
