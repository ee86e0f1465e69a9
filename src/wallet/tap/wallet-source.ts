/**
 * The wallet's multi-application store as a tap credential source: every valid credential of every
 * tenant, signed through Wallet.present (the secure element with the credential's own
 * user-verification policy). The user-verification age the wallet states is the policy's bound:
 * the element signs only after a verification at most that old, so the statement is true.
 */
import { fromBase64Url } from '../../core/bytes.ts';
import { decodeClaims, type CredentialClaims } from '../../credentials/device.ts';
import { CborTag, decodeCbor } from '../../crypto/index.ts';
import type { Wallet } from '../wallet.ts';
import type { TapCredential, TapCredentialSource } from './responder.ts';

function claimsOf(bytes: Uint8Array): CredentialClaims {
  const v = decodeCbor(bytes, { maxBytes: 4096, maxDepth: 8, maxItems: 512, allowedTags: [18] });
  const arr = v instanceof CborTag ? v.value : v;
  if (!Array.isArray(arr) || !(arr[2] instanceof Uint8Array)) throw new Error('not a COSE_Sign1');
  return decodeClaims(arr[2]);
}

export function walletCredentialSource(wallet: Pick<Wallet, 'credentials' | 'present'>): TapCredentialSource {
  const decoded = new Map<string, { bytes: Uint8Array; claims: CredentialClaims } | null>();
  return {
    credentials() {
      const out: TapCredential[] = [];
      for (const c of wallet.credentials()) {
        if (c.status !== 'valid') continue;
        let d = decoded.get(c.id);
        if (d === undefined) {
          try {
            const bytes = fromBase64Url(c.credential);
            d = { bytes, claims: claimsOf(bytes) };
          } catch {
            // A stored credential we cannot read is never presented (the wallet's sync reports it).
            d = null;
          }
          decoded.set(c.id, d);
        }
        if (d === null) continue;
        const { bytes, claims } = d;
        out.push({
          bytes,
          claims,
          sign: async (data) => (await wallet.present(c.id, data)).signature,
          userVerification: () => c.userVerificationSeconds ?? null,
        });
      }
      return out;
    },
  };
}
