/**
 * Seal requests and the per-wallet targets they resolve to, shared by the inline sealer and the
 * seal workers (./seal-pool.ts, ./seal-worker.ts). Pure public-key work: nothing here holds a
 * secret of the server.
 */
import { CityTrustError } from '../core/errors.ts';
import { bytesEqual } from '../core/bytes.ts';
import { importRawPublicKey } from '../crypto/index.ts';
import { sealTarget, sealTo, type SealTarget } from './envelope.ts';

/** One envelope to seal: the wallet as registered (SEC 1 point, kid) and the plaintext. */
export interface SealRequest {
  readonly walletId: string;
  /** The wallet's secure-element key, SEC 1 point (as stored at registration). */
  readonly point: Uint8Array;
  readonly kid: Uint8Array;
  readonly plaintext: Uint8Array;
}

export type SealReply = { readonly ok: true; readonly envelope: Uint8Array } | { readonly ok: false; readonly code: string; readonly message: string };

const MAX_TARGETS = 4096;

/**
 * Imported wallet keys by wallet id. Importing a point (decoding and the on-curve check) costs
 * about as much as the ECDH itself, and a wallet receives many envelopes; a hit must match the
 * point byte for byte, so a cache entry can never seal to a key other than the one asked for.
 */
export class SealTargets {
  readonly #byWallet = new Map<string, { point: Uint8Array; kid: Uint8Array; target: SealTarget }>();

  target(r: SealRequest): SealTarget {
    const hit = this.#byWallet.get(r.walletId);
    if (hit && bytesEqual(hit.point, r.point) && bytesEqual(hit.kid, r.kid)) return hit.target;
    let key;
    try {
      key = importRawPublicKey('P-256', r.point);
    } catch (e) {
      throw new CityTrustError('WALLET_KEY_INVALID', 'the wallet key is not a P-256 point', { cause: e });
    }
    const target = sealTarget(r.walletId, key, r.kid);
    if (this.#byWallet.size >= MAX_TARGETS) this.#byWallet.delete(this.#byWallet.keys().next().value as string);
    this.#byWallet.set(r.walletId, { point: Uint8Array.from(r.point), kid: Uint8Array.from(r.kid), target });
    return target;
  }

  seal(r: SealRequest): Uint8Array {
    return sealTo(this.target(r), r.plaintext);
  }

  /** Seals and reports a failure as data (for the worker boundary, where errors do not cross intact). */
  reply(r: SealRequest): SealReply {
    try {
      return { ok: true, envelope: this.seal(r) };
    } catch (e) {
      if (e instanceof CityTrustError) return { ok: false, code: e.code, message: e.message };
      return { ok: false, code: 'INTERNAL', message: 'sealing failed' };
    }
  }
}
