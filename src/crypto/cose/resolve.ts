/** Key selection for verifiers: a fixed key, or a resolver the caller writes over its trust store. */
import { CityTrustError } from '../../core/errors.ts';
import type { CoseAlgorithmName } from './algorithms.ts';
import type { HeaderMap } from './headers.ts';

/** What a resolver sees: the (already allow-listed) algorithm, the kid, and both buckets. */
export interface KeyHints {
  readonly alg: CoseAlgorithmName;
  readonly kid: Uint8Array | undefined;
  readonly protectedHeaders: HeaderMap;
  readonly unprotectedHeaders: HeaderMap;
}

/** Returns the key to use for a message, or undefined when none is trusted for it. */
export type KeyResolver<K> = (hints: KeyHints) => K | undefined;

export function resolveKey<K extends object>(key: K | KeyResolver<K>, hints: KeyHints): K {
  const k = typeof key === 'function' ? (key as KeyResolver<K>)(hints) : key;
  if (k === undefined || k === null) throw new CityTrustError('COSE_KEY_NOT_FOUND', 'no trusted key for this message');
  return k;
}
