/** A COSE signer backed by a vault key: the private key never leaves the vault (docs/vault.md). */
import { CityTrustError } from '../core/errors.ts';
import type { CoseSignAlgorithm, CoseSigner } from '../crypto/index.ts';
import type { KeyVault, VaultCaller } from '../vault/types.ts';
import type { IssuerAlgorithm } from './trust.ts';

export function vaultCoseSigner(vault: KeyVault, caller: VaultCaller, keyId: string, alg: CoseSignAlgorithm): CoseSigner {
  return {
    alg,
    // RFC 9053 §2.1: COSE carries ECDSA signatures as r ‖ s, so the vault is asked for P1363.
    sign: async (tbs) => (await vault.sign(caller, keyId, tbs, { format: 'p1363' })).signature,
  };
}

export function vaultKeyType(alg: IssuerAlgorithm): 'ec-p256' | 'ed25519' {
  if (alg === 'ES256') return 'ec-p256';
  if (alg === 'EdDSA') return 'ed25519';
  throw new CityTrustError('INPUT_INVALID', 'issuer keys sign with ES256 or EdDSA');
}
