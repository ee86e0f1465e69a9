/**
 * The one error mapping: every failure leaves as HTTP status + {code, message}. Fastify's own
 * errors (bad JSON, body too large, schema validation, rate limit) become CityTrustErrors
 * with specific codes; anything unexpected is INTERNAL with the cause only in the log.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { CityTrustError, type ErrorCode } from '../core/errors.ts';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INPUT_MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INPUT_MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'INPUT_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INPUT_INVALID',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'INPUT_UNSUPPORTED_MEDIA',
  FST_ERR_VALIDATION: 'INPUT_INVALID',
};

export function toCityTrustError(err: unknown): CityTrustError {
  if (err instanceof CityTrustError) return err;
  const fe = err as Partial<FastifyError> & { validation?: unknown };
  if (fe && typeof fe === 'object') {
    if (fe.validation) return new CityTrustError('INPUT_INVALID', `request ${fe.message ?? 'is invalid'}`, { cause: err });
    if (fe.statusCode === 429) return new CityTrustError('RATE_LIMITED', 'too many requests', { cause: err });
    const code = fe.code ? FASTIFY_CODES[fe.code] : undefined;
    if (code === 'INPUT_MALFORMED_JSON') return new CityTrustError(code, 'the request body is not valid JSON', { cause: err });
    if (code === 'INPUT_TOO_LARGE') return new CityTrustError(code, 'the request body is too large', { cause: err });
    if (code === 'INPUT_UNSUPPORTED_MEDIA') return new CityTrustError(code, 'unsupported content type', { cause: err });
    if (code) return new CityTrustError(code, 'the request is invalid', { cause: err });
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return new CityTrustError('INPUT_INVALID', 'the request is invalid', { cause: err });
    }
  }
  return new CityTrustError('INTERNAL', 'internal error', { cause: err });
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const e = toCityTrustError(err);
  if (e.status >= 500) req.log.error({ err, code: e.code }, 'request failed');
  else req.log.info({ code: e.code, cause: e.cause instanceof Error ? e.cause.message : undefined }, 'request refused');
  if (e.code === 'RATE_LIMITED') {
    const retry = (reply.getHeader('retry-after') as string | undefined) ?? '1';
    reply.header('retry-after', retry);
  }
  void reply.status(e.status).type('application/json; charset=utf-8').send(e.toJSON());
}
