/** How lower-level failures surface as tap codes, so readers and wallets log one vocabulary. */
import { CityTrustError, isCityTrustError, type ErrorCode } from '../core/errors.ts';

export function tapError(code: ErrorCode, message: string, cause?: unknown, details?: Record<string, unknown>): CityTrustError {
  return new CityTrustError(code, message, { ...(cause !== undefined && { cause }), ...(details !== undefined && { details }) });
}

const CBOR_TO_TAP: Partial<Record<ErrorCode, ErrorCode>> = {
  CBOR_TRUNCATED: 'TAP_FRAME_TRUNCATED',
  CBOR_TOO_LARGE: 'TAP_FRAME_TOO_LARGE',
};

/** A CBOR decoding failure of a tap frame: a cut frame, an oversized one, or anything else malformed. */
export function frameError(e: unknown, what: string): CityTrustError {
  if (isCityTrustError(e) && e.code.startsWith('TAP_')) return e;
  const code = (isCityTrustError(e) && CBOR_TO_TAP[e.code]) || 'TAP_MESSAGE_MALFORMED';
  return tapError(code, `${what} is not well-formed`, e, isCityTrustError(e) ? { reason: e.code } : undefined);
}

/** Codes a peer may name in an error frame or a decline: only tap codes, so a peer cannot inject any other meaning. */
export const PEER_CODE = /^TAP_[A-Z0-9_]{2,40}$/;
