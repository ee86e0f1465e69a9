/**
 * Structured logging with pino. Redaction is on by default for every path that could
 * carry a secret; code must still never pass key material to the logger.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'privateKey',
  '*.privateKey',
  'share',
  '*.share',
  'shares',
  '*.shares',
  'key',
  '*.key',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
];

export interface LogOptions {
  level?: string;
  /** Write to this stream instead of stdout (tests capture logs with it). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { service: 'citytrust' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that drops everything (tests and library defaults). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
