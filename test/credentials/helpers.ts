/** Throwaway keys, a trust chain and sample credentials for credential tests (keys made at test time). */
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import { coseVerifierKey, generateKeyPair, keyObjectSigner, randomBytes, type CoseSigner, type CoseVerifierKey } from '../../src/crypto/index.ts';
import { isCityTrustError, type ErrorCode } from '../../src/core/errors.ts';
import {
  createCredential,
  createIssuerCertificate,
  CredentialTrust,
  keyIdOf,
  validateGrants,
  verifyIssuerCertificate,
  type CredentialClaims,
  type Grants,
  type IssuerAlgorithm,
  type TrustedIssuerKey,
} from '../../src/credentials/device.ts';

export const NOW = Date.UTC(2026, 5, 10, 13, 0); // Wednesday 10 June 2026, 15:00 in Berlin
export const NOW_S = Math.floor(NOW / 1000);

export interface Issuer {
  tenant: string;
  alg: IssuerAlgorithm;
  signer: CoseSigner;
  publicKey: KeyObject;
  kid: Uint8Array;
  trusted: TrustedIssuerKey;
  certificate: Uint8Array;
}

export interface Chain {
  root: { signer: CoseSigner; verifier: CoseVerifierKey; kid: Uint8Array };
  issuer: Issuer;
  trust: CredentialTrust;
  holder: { privateKey: KeyObject; publicKey: KeyObject };
}

export function makeRoot(): Chain['root'] {
  const kp = generateKeyPair('P-256');
  return { signer: keyObjectSigner('ES256', kp.privateKey), verifier: coseVerifierKey('ES256', kp.publicKey), kid: keyIdOf(kp.publicKey) };
}

export async function makeIssuer(root: Chain['root'], tenant = 'metro', alg: IssuerAlgorithm = 'ES256', extra: { signUntil?: number } = {}): Promise<Issuer> {
  const kp = generateKeyPair(alg === 'ES256' ? 'P-256' : 'Ed25519');
  const certificate = await createIssuerCertificate(
    { tenant, alg, publicKey: kp.publicKey, iat: NOW_S - 86400, nbf: NOW_S - 86400, exp: NOW_S + 365 * 86400, ...extra },
    root.signer,
    root.kid,
  );
  const trusted = verifyIssuerCertificate(certificate, { root: root.verifier, now: NOW_S });
  return { tenant, alg, signer: keyObjectSigner(alg, kp.privateKey), publicKey: kp.publicKey, kid: keyIdOf(kp.publicKey), trusted, certificate };
}

export async function makeChain(alg: IssuerAlgorithm = 'ES256'): Promise<Chain> {
  const root = makeRoot();
  const issuer = await makeIssuer(root, 'metro', alg);
  return { root, issuer, trust: CredentialTrust.of([issuer.trusted]), holder: generateKeyPair('P-256') };
}

/** The typical transit ticket: 3 zones, one time window, class, holder key, status. */
export function ticketGrants(): Grants {
  return validateGrants({ zones: ['A', 'B', 'C'], schedule: [[0x1f, 540, 1020]], timeZone: 'Europe/Berlin', class: 1 });
}

export function claimsFor(chain: Chain, over: Partial<CredentialClaims> = {}): CredentialClaims {
  return {
    iss: chain.issuer.tenant,
    exp: NOW_S + 4 * 3600,
    nbf: NOW_S - 3600,
    iat: NOW_S - 3600,
    cti: randomBytes(8),
    holderKey: chain.holder.publicKey,
    status: { idx: 131071, uri: 'ct:k3v9q2xa' },
    grants: ticketGrants(),
    ...over,
  };
}

export async function issue(chain: Chain, over: Partial<CredentialClaims> = {}, issuer: Issuer = chain.issuer): Promise<Uint8Array> {
  return createCredential({ claims: claimsFor(chain, { iss: issuer.tenant, ...over }), signer: issuer.signer, kid: issuer.kid });
}

export function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isCityTrustError(e), `expected CityTrustError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  });
}

export async function rejectsCode(p: Promise<unknown> | (() => Promise<unknown>), code: ErrorCode): Promise<void> {
  await assert.rejects(typeof p === 'function' ? p() : p, (e: unknown) => {
    assert.ok(isCityTrustError(e), `expected CityTrustError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  });
}
