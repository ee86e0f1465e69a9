/**
 * The credential of docs/credential-format.md §Example, rebuilt from public test keys: the issuer
 * is the Ed25519 key of RFC 8032 §7.1 test 1 (COSE WG eddsa-sig-01), so the signature is
 * deterministic; the holder is the P-256 key of COSE WG ecdsa-sig-01 (public half only).
 */
import type { KeyObject } from 'node:crypto';
import { fromCoseKey, keyObjectSigner } from '../../src/crypto/index.ts';
import { createCredential, keyIdOf, validateGrants, type CredentialClaims } from '../../src/credentials/device.ts';
import { coseKeyMapFromJson, loadCose } from '../crypto/cose-vectors.ts';

export async function docExample(): Promise<{ bytes: Uint8Array; issuer: KeyObject; claims: CredentialClaims }> {
  const issuer = fromCoseKey(coseKeyMapFromJson(loadCose('eddsa-examples', 'eddsa-sig-01.json').input.sign0.key));
  const holderJson = { ...loadCose('ecdsa-examples', 'ecdsa-sig-01.json').input.sign0.key } as Record<string, unknown>;
  delete holderJson.d;
  const holder = fromCoseKey(coseKeyMapFromJson(holderJson as never));
  const claims: CredentialClaims = {
    iss: 'metro',
    iat: 1781096400, // 2026-06-10T13:00:00Z
    nbf: 1781096400,
    exp: 1781110800, // four hours later
    cti: Uint8Array.from([0x4d, 0x2f, 0x91, 0x0c, 0x7a, 0x33, 0xe1, 0x58]),
    holderKey: holder.publicKey as KeyObject,
    status: { idx: 70123, uri: 'ct:k3v9q2xa' },
    grants: validateGrants({ zones: ['A', 'B', 'C'], schedule: [[0x1f, 540, 1020]], timeZone: 'Europe/Berlin', class: 1 }),
  };
  const bytes = await createCredential({ claims, signer: keyObjectSigner('EdDSA', issuer.privateKey as KeyObject), kid: keyIdOf(issuer.publicKey as KeyObject) });
  return { bytes, issuer: issuer.publicKey as KeyObject, claims };
}
