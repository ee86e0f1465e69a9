/**
 * Signing metadata with vault keys. The vault signs the canonical bytes; no private key is
 * ever in this process. Every signature is checked against the published public key before
 * it is used, so a vault key that does not match its TUF key (a restore gone wrong, a
 * swapped id) fails here instead of on every device.
 */
import type { KeyVault, VaultCaller } from '../vault/types.ts';
import { CityTrustError } from '../core/errors.ts';
import { parseTufKey, type TufPublicKey } from './keys.ts';
import { canonicalBytes, metadataFile, verifyTufSignature, type Signed, type TufSignature } from './metadata.ts';

export interface MetadataSigner {
  readonly keyid: string;
  sign(data: Uint8Array): Promise<TufSignature>;
}

export function vaultSigner(vault: KeyVault, caller: VaultCaller, vaultKeyId: string, keyid: string, key: TufPublicKey): MetadataSigner {
  const { keyObject } = parseTufKey(key);
  return {
    keyid,
    async sign(data: Uint8Array): Promise<TufSignature> {
      // ECDSA signatures in TUF are DER (what tuf-js hands to crypto.verify); Ed25519 has one form.
      const s = await vault.sign(caller, vaultKeyId, data, key.keytype === 'ed25519' ? {} : { format: 'der' });
      const sig = Buffer.from(s.signature).toString('hex');
      if (!verifyTufSignature(keyObject, data, sig)) throw new CityTrustError('UPDATE_SIGNATURE_INVALID', `vault key ${vaultKeyId} does not match TUF key ${keyid}`);
      return { keyid, sig };
    },
  };
}

/** Signs with every signer given; returns the file bytes. */
export async function signMetadata(signed: Signed, signers: readonly MetadataSigner[]): Promise<{ body: Uint8Array; signatures: TufSignature[] }> {
  const data = canonicalBytes(signed);
  const signatures: TufSignature[] = [];
  for (const s of signers) signatures.push(await s.sign(data));
  return { body: metadataFile(signed, signatures), signatures };
}
