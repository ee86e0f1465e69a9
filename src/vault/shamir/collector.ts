/**
 * Gathers shares one at a time (custodians type theirs in turn) until the threshold is met.
 * Every refusal leaves the collection as it was: a typo costs the custodian a retry, not the
 * shares already entered.
 */
import { CityTrustError } from '../../core/errors.ts';
import { constantTimeEqual } from '../../core/bytes.ts';
import { combineShares } from './shamir.ts';
import { decodeShare, type Share, type ShareKind } from './share-format.ts';

export interface ShareProgress {
  readonly threshold: number;
  readonly received: number;
}

export class ShareCollector {
  readonly #kind: ShareKind;
  readonly #setId: Uint8Array;
  readonly #threshold: number;
  readonly #length: number;
  #shares: Share[] = [];

  constructor(kind: ShareKind, setId: Uint8Array, threshold: number, length = 32) {
    this.#kind = kind;
    this.#setId = setId;
    this.#threshold = threshold;
    this.#length = length;
  }

  get progress(): ShareProgress {
    return { threshold: this.#threshold, received: this.#shares.length };
  }

  /** Validates and keeps one share; returns the secret once the threshold is reached. */
  add(text: unknown): Uint8Array | undefined {
    const share = decodeShare(text, this.#length);
    if (share.kind !== this.#kind) {
      throw new CityTrustError('VAULT_SHARE_MISMATCH', `this is a ${share.kind} share; a ${this.#kind} share is needed`);
    }
    if (!constantTimeEqual(share.setId, this.#setId)) {
      throw new CityTrustError('VAULT_SHARE_MISMATCH', 'the share belongs to another vault or backup');
    }
    if (share.threshold !== this.#threshold) {
      throw new CityTrustError('VAULT_SHARE_MISMATCH', 'the share was made for another threshold');
    }
    if (this.#shares.some((s) => s.x === share.x)) {
      throw new CityTrustError('VAULT_SHARE_DUPLICATE', `share number ${share.x} was already entered`);
    }
    this.#shares.push(share);
    if (this.#shares.length < this.#threshold) return undefined;
    const secret = combineShares(this.#shares);
    this.clear();
    return secret;
  }

  /** Forgets every share entered so far, overwriting their bytes. */
  clear(): void {
    for (const s of this.#shares) s.y.fill(0);
    this.#shares = [];
  }
}
