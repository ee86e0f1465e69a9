/**
 * The tap test vector of docs/tap-protocol.md §6: every key is derived from a public label (so no
 * key material sits in the repository), nonces come from labels too, and every signature is
 * deterministic (RFC 6979), so one full tap gives the same bytes on every run.
 */

import { createHash } from 'node:crypto';
import { FixedClock } from '../../src/core/clock.ts';
import { createCredential, createIssuerCertificate, createStatusListToken, createTrustList, keyIdOf, StatusList, validateGrants, verifyCredential, type CredentialClaims } from '../../src/credentials/device.ts';
import { coseVerifierKey, ecdsaRawToDer, exportSpkiPublicKey, importRawPrivateKey, publicKeyOf, type KeyPair } from '../../src/crypto/index.ts';
import { buildCertificate, nameDer } from '../../src/pki/x509/build.ts';
import { basicConstraints, certificatePolicies, extKeyUsage, keyUsage, subjectAltName } from '../../src/pki/x509/extensions.ts';
import { EKU_CLIENT_AUTH, POLICY_ARC } from '../../src/pki/x509/oids.ts';
import { deviceUrn } from '../../src/pki/profiles.ts';
import { MemoryEventSink, Reader, TrustCache, validateReaderConfig, type TapOutcome } from '../../src/reader/index.ts';
import { memoryLink, type TapLink, type TapRandomness, type TapResponder } from '../../src/tap/index.ts';
import { CityReaderAuthenticator, siteUrn, WalletTapResponder, type TapCredential } from '../../src/wallet/tap/index.ts';
import type { WalletOutcome } from '../../src/tap/index.ts';
import { deterministicSign, deterministicSigner, scalarFromLabel, to32 } from './rfc6979.ts';

export const VECTOR_NOW = Date.UTC(2026, 5, 10, 13, 0);
const NOW_S = Math.floor(VECTOR_NOW / 1000);

export function keyFromLabel(label: string): KeyPair & { scalar: bigint } {
  const scalar = scalarFromLabel(label);
  const privateKey = importRawPrivateKey('P-256', to32(scalar));
  return { privateKey, publicKey: publicKeyOf(privateKey), scalar };
}

export function bytesFromLabel(label: string, n: number): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`citytrust tap vector: ${label}`).digest()).slice(0, n);
}

function fixedRandomness(ephemeral: KeyPair, nonce: Uint8Array): TapRandomness {
  return { ephemeralKeyPair: () => ephemeral, nonce: (n) => nonce.slice(0, n) };
}

function derSigner(x: bigint) {
  return { keyType: 'ec-p256' as const, sign: async (d: Uint8Array) => ecdsaRawToDer(deterministicSign(x, d), 'P-256') };
}

export interface VectorRun {
  readonly frames: Uint8Array[];
  readonly outcome: TapOutcome;
  readonly wallet: WalletOutcome;
  readonly keys: { readerEphemeral: KeyPair; walletEphemeral: KeyPair; reader: KeyPair; holder: KeyPair; issuer: KeyPair };
  readonly readerNonce: Uint8Array;
  readonly walletNonce: Uint8Array;
  readonly readerCertificate: Uint8Array;
  readonly readersCa: Uint8Array;
  readonly cityRoot: Uint8Array;
  readonly credential: Uint8Array;
}

/** Runs the vector's tap; `linkFor` puts a transport in between (default: in memory). */
export async function runVector(linkFor?: (wallet: TapResponder) => Promise<TapLink>): Promise<VectorRun> {
  const clock = new FixedClock(VECTOR_NOW);
  // Credentials side: city credential root → issuer certificate for "acme" → one door credential.
  const credRoot = keyFromLabel('city credential root');
  const issuer = keyFromLabel('issuer acme');
  const holder = keyFromLabel('holder');
  const rootSigner = deterministicSigner(credRoot.scalar);
  const rootKid = keyIdOf(credRoot.publicKey);
  const issuerSigner = deterministicSigner(issuer.scalar);
  const issuerKid = keyIdOf(issuer.publicKey);
  const issuerCertificate = await createIssuerCertificate({ tenant: 'acme', alg: 'ES256', publicKey: issuer.publicKey, iat: NOW_S - 86400, nbf: NOW_S - 86400, exp: NOW_S + 365 * 86400 }, rootSigner, rootKid);
  const claims: CredentialClaims = {
    iss: 'acme',
    exp: NOW_S + 4 * 3600,
    nbf: NOW_S - 3600,
    iat: NOW_S - 3600,
    cti: bytesFromLabel('cti', 8),
    holderKey: holder.publicKey,
    status: { idx: 7, uri: 'ct:vectorlist1' },
    grants: validateGrants({ resources: ['door:hq/floor3/*'] }),
  };
  const credential = await createCredential({ claims, signer: issuerSigner, kid: issuerKid });
  const trust = new TrustCache({ root: coseVerifierKey('ES256', credRoot.publicKey) });
  trust.update(
    {
      trustList: await createTrustList({ certificates: [issuerCertificate], iat: NOW_S - 60, exp: NOW_S + 30 * 86400 }, rootSigner, rootKid),
      statusLists: [await createStatusListToken({ uri: 'ct:vectorlist1', list: StatusList.empty(1024, 2), iat: NOW_S - 60, exp: NOW_S + 86400, ttl: 300 }, issuerSigner, issuerKid)],
    },
    VECTOR_NOW,
  );

  // Reader PKI: city root → readers CA → reader door-12 at site hq.
  const x509Root = keyFromLabel('x509 city root');
  const x509Readers = keyFromLabel('x509 readers CA');
  const reader = keyFromLabel('reader door-12');
  const rootName = nameDer([['O', 'test city'], ['CN', 'city root']]);
  const readersName = nameDer([['O', 'test city'], ['CN', 'readers CA']]);
  const validity = { notBefore: VECTOR_NOW - 86_400_000, notAfter: VECTOR_NOW + 365 * 86_400_000 };
  const cityRoot = await buildCertificate({ serial: Uint8Array.of(1), issuer: rootName, subject: rootName, ...validity, spki: exportSpkiPublicKey(x509Root.publicKey), extensions: [basicConstraints(true, 1), keyUsage(['keyCertSign', 'cRLSign'])] }, derSigner(x509Root.scalar));
  const readersCa = await buildCertificate({ serial: Uint8Array.of(2), issuer: rootName, subject: readersName, ...validity, spki: exportSpkiPublicKey(x509Readers.publicKey), extensions: [basicConstraints(true, 0), keyUsage(['keyCertSign', 'cRLSign'])] }, derSigner(x509Root.scalar));
  const readerCertificate = await buildCertificate(
    {
      serial: Uint8Array.of(3),
      issuer: readersName,
      subject: nameDer([['O', 'acme'], ['OU', 'reader'], ['CN', 'door-12']]),
      ...validity,
      spki: exportSpkiPublicKey(reader.publicKey),
      extensions: [basicConstraints(false), keyUsage(['digitalSignature']), extKeyUsage([EKU_CLIENT_AUTH]), certificatePolicies([`${POLICY_ARC}.1`]), subjectAltName({ uri: [deviceUrn('acme', 'door-12'), siteUrn('acme', 'hq')] })],
    },
    derSigner(x509Readers.scalar),
  );

  const readerEphemeral = keyFromLabel('reader ephemeral');
  const walletEphemeral = keyFromLabel('wallet ephemeral');
  const readerNonce = bytesFromLabel('reader nonce', 16);
  const walletNonce = bytesFromLabel('wallet nonce', 16);

  const tapCredential: TapCredential = {
    bytes: credential,
    claims: verifyCredential(credential, { trust: trust.trust!, now: VECTOR_NOW }).claims,
    sign: async (d) => deterministicSign(holder.scalar, d),
    userVerification: () => 5,
  };
  let walletOutcome: WalletOutcome | undefined;
  const wallet = new WalletTapResponder({
    authenticator: new CityReaderAuthenticator({ anchors: [cityRoot] }),
    credentials: { credentials: () => [tapCredential] },
    clock,
    random: fixedRandomness(walletEphemeral, walletNonce),
    onOutcome: (o) => (walletOutcome = o),
  });
  const tapReader = new Reader({
    config: validateReaderConfig({ readerId: 'door-12', tenant: 'acme', site: 'hq', resources: ['door:hq/floor3/d12'], trustedTenants: ['acme'] }),
    identity: { chain: [readerCertificate, readersCa], signer: deterministicSigner(reader.scalar) },
    trust,
    events: new MemoryEventSink(),
    clock,
    random: fixedRandomness(readerEphemeral, readerNonce),
  });
  const frames: Uint8Array[] = [];
  const capture: TapResponder = { handle: async (m) => { frames.push(m); const a = await wallet.handle(m); frames.push(a); return a; } };
  const outcome = await tapReader.tap(linkFor ? await linkFor(capture) : memoryLink(capture));
  return {
    frames,
    outcome,
    wallet: walletOutcome as WalletOutcome,
    keys: { readerEphemeral, walletEphemeral, reader, holder, issuer },
    readerNonce,
    walletNonce,
    readerCertificate,
    readersCa,
    cityRoot,
    credential,
  };
}


