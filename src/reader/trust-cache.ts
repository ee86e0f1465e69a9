/**
 * The reader's offline trust cache (docs/reader.md §4): the trust list (issuer certificates signed by
 * the credential root, which the pinned city root certifies) and the Status List Tokens of the issuers it accepts. Everything is
 * verified before it replaces anything, all or nothing; nothing moves backwards (a list older than the
 * one held is ignored, so a replayed old list cannot un-revoke a credential); the verified bytes are
 * persisted atomically and verified again on load, so a restart while offline keeps deciding.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CityTrustError, isCityTrustError } from '../core/errors.ts';
import { bytesEqual } from '../core/bytes.ts';
import { CredentialTrust, verifyStatusListToken, type VerifiedStatusList } from '../credentials/device.ts';
import { CborTag, decodeCbor, encodeCbor, type CoseVerifierKey } from '../crypto/index.ts';
import { writeFileAtomic } from './files.ts';

export const TRUST_FILE = 'trust.cbor';
const FILE_LIMITS = { maxBytes: 64 << 20, maxDepth: 4, maxItems: 100_000 };

export interface TrustBundle {
  /** The trust list (COSE_Sign1, application/ct-trust+cwt). */
  readonly trustList?: Uint8Array;
  /** Status List Tokens (COSE_Sign1, application/statuslist+cwt). */
  readonly statusLists?: readonly Uint8Array[];
}

export interface TrustUpdate {
  readonly trustList: 'updated' | 'unchanged' | 'older-ignored' | 'absent';
  readonly statusLists: { readonly updated: number; readonly olderIgnored: number };
}

interface HeldList {
  readonly bytes: Uint8Array;
  readonly verified: VerifiedStatusList;
}

function invalid(message: string, cause?: unknown): never {
  throw new CityTrustError('READER_TRUST_CACHE_INVALID', message, cause === undefined ? undefined : { cause, details: isCityTrustError(cause) ? { reason: cause.code } : {} });
}

/** The sub (uri) and iat of a Status List Token, read before verification to know what to verify it as. */
function statusListClaims(bytes: Uint8Array): { uri: string; iat: number } {
  try {
    const env = decodeCbor(bytes, { maxBytes: 1 << 20, maxDepth: 8, maxItems: 64, allowedTags: [18] });
    const payload = env instanceof CborTag && Array.isArray(env.value) ? env.value[2] : undefined;
    const claims = payload instanceof Uint8Array ? decodeCbor(payload, { maxBytes: 1 << 20, maxDepth: 4, maxItems: 64, allowedTags: [] }) : undefined;
    const sub = claims instanceof Map ? claims.get(2) : undefined;
    const iat = claims instanceof Map ? claims.get(6) : undefined;
    if (typeof sub === 'string' && typeof iat === 'number') return { uri: sub, iat };
  } catch (e) {
    invalid('a status list token is not a COSE_Sign1 CWT', e);
  }
  return invalid('a status list token names no list (sub) or no iat');
}

export class TrustCache {
  readonly #root: CoseVerifierKey;
  readonly #dir: string | undefined;
  #trustBytes: Uint8Array | undefined;
  #trust: CredentialTrust | undefined;
  #trustReceived = 0;
  #lists = new Map<string, HeldList>();

  /** `dir` persists the cache (omit for a memory-only cache in tests). */
  constructor(opts: { readonly root: CoseVerifierKey; readonly dir?: string }) {
    this.#root = opts.root;
    this.#dir = opts.dir;
  }

  /** Loads and re-verifies what was persisted; a damaged file leaves the cache empty and is reported. */
  static open(opts: { readonly root: CoseVerifierKey; readonly dir: string; readonly now: number }): { cache: TrustCache; loadError?: CityTrustError } {
    const cache = new TrustCache(opts);
    const file = join(opts.dir, TRUST_FILE);
    if (!existsSync(file)) return { cache };
    try {
      const v = decodeCbor(new Uint8Array(readFileSync(file)), { ...FILE_LIMITS, allowedTags: [] });
      if (!(v instanceof Map) || !(v.get(1) instanceof Uint8Array) || !Array.isArray(v.get(2)) || typeof v.get(3) !== 'number') invalid('the persisted trust cache is malformed');
      // Integrity and origin are re-checked as of when the data arrived; whether it is still fresh
      // enough is the decision engine's question at each tap (statusMaxAgeSeconds, whenStale).
      cache.update({ trustList: v.get(1) as Uint8Array, statusLists: v.get(2) as Uint8Array[] }, v.get(3) as number, { persist: false, asReceived: true });
      return { cache };
    } catch (e) {
      return { cache: new TrustCache(opts), loadError: isCityTrustError(e, 'READER_TRUST_CACHE_INVALID') ? e : new CityTrustError('READER_TRUST_CACHE_INVALID', 'the persisted trust cache cannot be read', { cause: e }) };
    }
  }

  get trust(): CredentialTrust | undefined {
    return this.#trust;
  }

  /** The verified status list a credential names, if held. */
  statusList(uri: string): VerifiedStatusList | undefined {
    return this.#lists.get(uri)?.verified;
  }

  /** Seconds of issue of the trust list and of each list held (for refresh requests and status). */
  summary(): { trustListIat: number | undefined; trustListExp: number | undefined; statusLists: Record<string, number> } {
    return {
      trustListIat: this.#trust?.issuedAt,
      trustListExp: this.#trust?.expiresAt,
      statusLists: Object.fromEntries([...this.#lists].map(([uri, l]) => [uri, l.verified.iat])),
    };
  }

  /**
   * Verifies a bundle and applies it: all of it or (READER_TRUST_CACHE_INVALID) none of it.
   * `now` in milliseconds. Status lists held are re-verified under a new trust list.
   */
  update(bundle: TrustBundle, now: number, opts: { readonly persist?: boolean; readonly asReceived?: boolean } = {}): TrustUpdate {
    let trust = this.#trust;
    let trustBytes = this.#trustBytes;
    let trustState: TrustUpdate['trustList'] = 'absent';
    if (bundle.trustList !== undefined) {
      let next: CredentialTrust;
      try {
        next = CredentialTrust.fromTrustList(bundle.trustList, { root: this.#root, now: Math.floor(now / 1000) });
      } catch (e) {
        return invalid('the trust list does not verify against the pinned city root', e);
      }
      if (trust?.issuedAt !== undefined && next.issuedAt !== undefined && next.issuedAt < trust.issuedAt) trustState = 'older-ignored';
      // Same second, same bytes: nothing new. Same second, other bytes: the server re-signed after a
      // change within that second (a pushed rotation), so the list fetched last replaces the one held.
      else if (trust?.issuedAt !== undefined && next.issuedAt === trust.issuedAt && trustBytes !== undefined && bytesEqual(trustBytes, bundle.trustList)) trustState = 'unchanged';
      else {
        trust = next;
        trustBytes = bundle.trustList;
        trustState = 'updated';
      }
    }
    if (trust === undefined) {
      if ((bundle.statusLists ?? []).length > 0) invalid('status lists need a trust list first');
      return { trustList: trustState, statusLists: { updated: 0, olderIgnored: 0 } };
    }
    const verify = (bytes: Uint8Array): HeldList => {
      const { uri, iat } = statusListClaims(bytes);
      // A held list is re-verified as of its own issue time: its freshness is judged at each tap.
      const at = opts.asReceived === true ? iat * 1000 : now;
      const key = trust.keys();
      // The issuer is whoever holds the signing key in the trust list; verifyStatusListToken then checks it is that tenant's.
      let lastError: unknown;
      for (const tenant of new Set(key.map((k) => k.tenant))) {
        try {
          return { bytes, verified: verifyStatusListToken(bytes, { trust, uri, issuer: tenant, now: at }) };
        } catch (e) {
          lastError = e;
        }
      }
      return invalid(`the status list ${uri} does not verify under a trusted issuer`, lastError);
    };
    const lists = new Map<string, HeldList>();
    if (trustState === 'updated') {
      // Keep what still verifies under the new list (an issuer dropped from it takes its lists along).
      for (const [uri, held] of this.#lists) {
        try {
          lists.set(uri, { bytes: held.bytes, verified: verifyStatusListToken(held.bytes, { trust, uri, issuer: held.verified.issuerKey.tenant, now: held.verified.iat * 1000 }) });
        } catch {
          // dropped
        }
      }
    } else for (const [uri, held] of this.#lists) lists.set(uri, held);
    let updated = 0;
    let olderIgnored = 0;
    for (const bytes of bundle.statusLists ?? []) {
      const held = verify(bytes);
      const current = lists.get(held.verified.uri);
      if (current !== undefined && held.verified.iat < current.verified.iat) olderIgnored += 1;
      else if (current === undefined || held.verified.iat > current.verified.iat) {
        lists.set(held.verified.uri, held);
        updated += 1;
      }
    }
    if (opts.persist !== false && this.#dir !== undefined) {
      writeFileAtomic(join(this.#dir, TRUST_FILE), encodeCbor(new Map<number, unknown>([[1, trustBytes], [2, [...lists.values()].map((l) => l.bytes)], [3, trustState === 'updated' ? now : this.#trustReceived]])));
    }
    this.#trust = trust;
    this.#trustBytes = trustBytes;
    if (trustState === 'updated') this.#trustReceived = now;
    this.#lists = lists;
    return { trustList: trustState, statusLists: { updated, olderIgnored } };
  }
}
