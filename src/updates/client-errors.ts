/**
 * Turns what tuf-js throws into our codes, so the device says *why* it refused. tuf-js wraps
 * snapshot and targets failures in a RuntimeError whose message carries the inner error's
 * text, so after the class checks we read that text; the patterns are pinned by the attack
 * tests (test/updates/attacks.test.ts), one per refusal. Device-side.
 */
import { CityTrustError, type ErrorCode } from '../core/errors.ts';

interface Rule {
  readonly test: RegExp;
  readonly code: ErrorCode;
  readonly why: string;
}

// Order matters: the first match wins.
const RULES: readonly Rule[] = [
  { test: /Max length reached|DownloadLengthMismatch/i, code: 'UPDATE_TARGET_TOO_LARGE', why: 'more bytes arrived than the signed length allows (endless data)' },
  { test: /is expired/i, code: 'UPDATE_METADATA_EXPIRED', why: 'metadata served is expired (freeze)' },
  { test: /(is less than current version|Expected version \d+, got \d+|New .* version \d+ is less)/i, code: 'UPDATE_METADATA_ROLLBACK', why: 'metadata served is older than what the device trusts (rollback)' },
  { test: /(does not match snapshot version|doesn't match timestamp|Missing file .* in new snapshot|Missing .*\.json in snapshot)/i, code: 'UPDATE_METADATA_MISMATCH', why: 'metadata versions do not match the files that reference them (mix-and-match)' },
  { test: /(hash|length) (verification )?(mismatch|failed)|LengthOrHashMismatch|(expected hash|expected length)/i, code: 'UPDATE_METADATA_MISMATCH', why: 'a metadata file does not have the length or hash its parent signed (mix-and-match)' },
  { test: /was signed by \d+\/\d+ keys/i, code: 'UPDATE_THRESHOLD_NOT_MET', why: 'metadata is not signed by the threshold of its role keys' },
  { test: /Unsupported (key type|algorithm)/i, code: 'UPDATE_KEY_TYPE_NOT_ALLOWED', why: 'metadata names a key type outside the allow-list' },
  { test: /(JSON|Unexpected token|is not defined|must be|expected '|invalid metadata type|signatures is not)/i, code: 'UPDATE_METADATA_MALFORMED', why: 'metadata is malformed' },
  { test: /(Failed to download|fetch failed|ECONNREFUSED|ENOTFOUND|timeout|aborted)/i, code: 'UPDATE_FETCH_FAILED', why: 'the repository could not be reached' },
];

function text(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}${e.cause ? ` / ${text(e.cause)}` : ''}`;
  return String(e);
}

export function classifyTufError(e: unknown, stage: string): CityTrustError {
  if (e instanceof CityTrustError) return e;
  const t = text(e);
  for (const r of RULES) {
    if (r.test.test(t)) return new CityTrustError(r.code, `${stage}: ${r.why}`, { cause: e, details: { stage } });
  }
  return new CityTrustError('UPDATE_METADATA_MALFORMED', `${stage}: the repository answered something the updater cannot accept`, { cause: e, details: { stage } });
}

/** Errors while downloading a target: a hash or length mismatch means the image was altered. */
export function classifyTargetError(e: unknown): CityTrustError {
  if (e instanceof CityTrustError) return e;
  const t = text(e);
  if (/Max length reached|DownloadLengthMismatch/i.test(t)) return new CityTrustError('UPDATE_TARGET_TOO_LARGE', 'the image is longer than its signed length (endless data); nothing was installed', { cause: e });
  if (/LengthOrHashMismatch|hash|length/i.test(t)) return new CityTrustError('UPDATE_TARGET_HASH_MISMATCH', 'the image does not match its signed hash (tampered); nothing was installed', { cause: e });
  if (/Failed to download|fetch failed|ECONNREFUSED|timeout|aborted/i.test(t)) return new CityTrustError('UPDATE_FETCH_FAILED', 'the image could not be downloaded; nothing was installed', { cause: e });
  return new CityTrustError('UPDATE_TARGET_HASH_MISMATCH', 'the image failed verification; nothing was installed', { cause: e });
}
