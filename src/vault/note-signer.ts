/**
 * A NoteSigner for the audit log's checkpoints (C2SP signed-note) backed by an Ed25519 vault key.
 * The signer calls the vault as CHECKPOINT_ACTOR, whose uses are not counted (see usage.ts).
 */
import type { NoteSigner } from '../audit/types.ts';
import { CityTrustError } from '../core/errors.ts';
import { CHECKPOINT_ACTOR } from './usage.ts';
import type { KeyVault } from './types.ts';

export async function vaultNoteSigner(vault: KeyVault, keyId: string, name: string): Promise<NoteSigner> {
  const caller = { actor: CHECKPOINT_ACTOR, tenant: null };
  const info = await vault.getKey(caller, keyId);
  if (info.type !== 'ed25519' || !info.usages.includes('sign')) {
    throw new CityTrustError('VAULT_USAGE_DENIED', 'checkpoints are signed by an Ed25519 key with the sign usage');
  }
  // The public key of the version current now; a rotation needs a new signer (and a new note key).
  const pub = await vault.publicKey(caller, keyId);
  const version = pub.version;
  return {
    name,
    publicKey: pub.raw,
    async sign(message: Uint8Array): Promise<Uint8Array> {
      const s = await vault.sign(caller, keyId, message);
      if (s.version !== version) throw new CityTrustError('VAULT_USAGE_DENIED', 'the checkpoint key was rotated; create a new note signer');
      return s.signature;
    },
  };
}
