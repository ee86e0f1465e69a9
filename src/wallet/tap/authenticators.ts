/**
 * How a wallet decides who a reader is (docs/tap-protocol.md §4.2). Two ways, both real checks:
 *
 * - X509ReaderAuthenticator: the chain must validate to the city root for the reader or gate
 *   profile (validity, key usage, policy, revocation from the wallet's cached CRLs) with the
 *   PKI's device-side validator; the identity is then read from the validated leaf.
 * - PinnedReaderAuthenticator: the issuer provisioned the wallet with the keys of its readers
 *   (Aliro's reader group keys); the leaf key must be one of them and the pin states the identity.
 */
import type { KeyObject } from 'node:crypto';
import { isCityTrustError } from '../../core/errors.ts';
import { exportSpkiPublicKey } from '../../crypto/index.ts';
import { validateChain } from '../../pki/validate.ts';
import { tapError } from '../../tap/errors.ts';
import type { ReaderAuthenticator, ReaderIdentity } from '../../tap/types.ts';
import { certificateKey, readerCertificateFacts } from './reader-cert.ts';

/**
 * What the PKI's device-side validator does for us: validate `chain` (leaf first) at `now` for the
 * profile, against the wallet's anchors and revocation data; throw a PKI_CHAIN_* code otherwise.
 */
export type ChainValidator = (chain: readonly Uint8Array[], opts: { readonly now: number; readonly profile: 'reader' | 'gate' }) => void | Promise<void>;

export interface X509ReaderAuthenticatorOptions {
  readonly validate: ChainValidator;
  /** Validated chains kept (by leaf bytes) for this many milliseconds; 0 disables the cache. */
  readonly cacheMs?: number;
  readonly cacheSize?: number;
}

export class X509ReaderAuthenticator implements ReaderAuthenticator {
  readonly #opts: X509ReaderAuthenticatorOptions;
  readonly #cache = new Map<string, { identity: ReaderIdentity; until: number }>();

  constructor(opts: X509ReaderAuthenticatorOptions) {
    this.#opts = opts;
  }

  async authenticate(chain: readonly Uint8Array[], now: number): Promise<ReaderIdentity> {
    const leaf = chain[0];
    if (leaf === undefined) throw tapError('TAP_READER_UNTRUSTED', 'the reader sent no certificate');
    const key = Buffer.concat(chain.map((c) => Buffer.from(c))).toString('base64');
    const hit = this.#cache.get(key);
    if (hit && now < hit.until) return hit.identity;
    const facts = readerCertificateFacts(leaf);
    try {
      await this.#opts.validate(chain, { now, profile: facts.profile });
    } catch (e) {
      if (isCityTrustError(e) && (e.code === 'PKI_CHAIN_REVOKED')) throw tapError('TAP_READER_REVOKED', 'the reader certificate is revoked', e);
      throw tapError('TAP_READER_UNTRUSTED', 'the reader chain does not validate to the city root for its profile', e, isCityTrustError(e) ? { reason: e.code } : undefined);
    }
    const identity: ReaderIdentity = Object.freeze({ tenant: facts.tenant, readerId: facts.readerId, profile: facts.profile, publicKey: facts.publicKey, ...(facts.site !== undefined && { site: facts.site }) });
    const ttl = this.#opts.cacheMs ?? 60_000;
    if (ttl > 0) {
      // A cached answer never outlives the certificate; revocation news arrives with the next CRL refresh, which clears the cache.
      if (this.#cache.size >= (this.#opts.cacheSize ?? 64)) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(key, { identity, until: Math.min(now + ttl, facts.notAfter) });
    }
    return identity;
  }

  /** Forget validated chains (call after new revocation data arrived). */
  clear(): void {
    this.#cache.clear();
  }
}

export interface CityReaderTrust {
  /** The city root certificate(s), DER, pinned in the wallet app. */
  readonly anchors: readonly Uint8Array[];
  /** Current CRLs of the readers CA (DER), refreshed while online; see `revocationRequired`. */
  readonly crls?: readonly Uint8Array[];
  /** Refuse readers whose revocation status no CRL covers (default: true when CRLs are given). */
  readonly revocationRequired?: boolean;
}

/**
 * The X.509 reader authenticator over the PKI's device-side validator (src/pki/validate.ts):
 * path to the pinned city root, reader/gate profile (key usage, EKU, policy), validity at the
 * wallet's time, and revocation from the CRLs the wallet holds. `setCrls` swaps in fresh CRLs
 * and forgets every cached validation.
 */
export class CityReaderAuthenticator extends X509ReaderAuthenticator {
  #trust: CityReaderTrust;

  constructor(trust: CityReaderTrust, opts: { cacheMs?: number } = {}) {
    super({
      validate: (chain, o) => {
        const t = this.#trust;
        validateChain(chain[0] as Uint8Array, {
          anchors: t.anchors,
          intermediates: chain.slice(1),
          time: o.now,
          profile: o.profile,
          ...(t.crls !== undefined && { revocation: { crls: t.crls, required: t.revocationRequired ?? true } }),
        });
      },
      ...(opts.cacheMs !== undefined && { cacheMs: opts.cacheMs }),
    });
    this.#trust = trust;
  }

  setCrls(crls: readonly Uint8Array[]): void {
    this.#trust = { ...this.#trust, crls };
    this.clear();
  }
}

export interface PinnedReader {
  readonly publicKey: KeyObject;
  readonly tenant: string;
  readonly readerId: string;
  readonly site?: string;
  readonly profile?: 'reader' | 'gate';
  /** Milliseconds; the pin is not honoured after this. */
  readonly notAfter?: number;
}

export class PinnedReaderAuthenticator implements ReaderAuthenticator {
  readonly #byKey = new Map<string, PinnedReader>();

  constructor(readers: readonly PinnedReader[]) {
    for (const r of readers) this.#byKey.set(Buffer.from(exportSpkiPublicKey(r.publicKey)).toString('base64'), r);
  }

  authenticate(chain: readonly Uint8Array[], now: number): ReaderIdentity {
    const leaf = chain[0];
    if (leaf === undefined) throw tapError('TAP_READER_UNTRUSTED', 'the reader sent no certificate');
    const pin = this.#byKey.get(Buffer.from(exportSpkiPublicKey(certificateKey(leaf))).toString('base64'));
    if (pin === undefined || (pin.notAfter !== undefined && now >= pin.notAfter)) throw tapError('TAP_READER_UNTRUSTED', 'the reader key is not one this wallet was provisioned with');
    return Object.freeze({ tenant: pin.tenant, readerId: pin.readerId, profile: pin.profile ?? 'reader', publicKey: pin.publicKey, ...(pin.site !== undefined && { site: pin.site }) });
  }
}
