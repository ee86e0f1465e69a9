/**
 * One error class for everything a caller can act on, with a stable string `code`.
 *
 * The code table is the public contract: codes are never renamed or reused. Each code
 * carries the HTTP status the server maps it to and a one-line remedy the CLI prints.
 * Messages are safe for clients; the `cause` is for logs only and never leaves the process.
 */

interface CodeInfo {
  readonly status: number;
  readonly remedy: string;
}

// Keep sections by domain; add new codes at the end of their section.
const CODES = {
  // core / config / input
  CONFIG_INVALID: { status: 500, remedy: 'Fix the named configuration key (citytrust.config.json or CITYTRUST_* variable).' },
  INPUT_INVALID: { status: 400, remedy: 'Correct the request: a field is missing, of the wrong type or out of range.' },
  INPUT_MALFORMED_JSON: { status: 400, remedy: 'Send a well-formed JSON body with Content-Type: application/json.' },
  INPUT_TOO_LARGE: { status: 413, remedy: 'Send a smaller body; see server.bodyLimit.' },
  INPUT_UNSUPPORTED_MEDIA: { status: 415, remedy: 'Send the content type this endpoint documents.' },
  NOT_FOUND: { status: 404, remedy: 'Check the path or identifier; see /docs for the API.' },
  METHOD_NOT_ALLOWED: { status: 405, remedy: 'Use a method this route documents.' },
  RATE_LIMITED: { status: 429, remedy: 'Slow down and retry after the Retry-After interval.' },
  CONFLICT: { status: 409, remedy: 'The object already exists or changed meanwhile; reload and retry.' },
  INTERNAL: { status: 500, remedy: 'An unexpected fault; the server log has the request id and cause.' },
  UNAVAILABLE: { status: 503, remedy: 'A dependency is not ready (database, vault); retry shortly.' },

  // auth / tenants
  AUTH_MISSING: { status: 401, remedy: 'Send Authorization: Bearer <token>.' },
  AUTH_INVALID_TOKEN: { status: 401, remedy: 'The token is unknown or malformed; create a new one with `citytrust token create`.' },
  AUTH_TOKEN_REVOKED: { status: 401, remedy: 'The token was revoked; ask an administrator for a new one.' },
  AUTH_TOKEN_EXPIRED: { status: 401, remedy: 'The token has expired; ask an administrator for a new one.' },
  AUTH_FORBIDDEN: { status: 403, remedy: 'Your token lacks the role this action needs.' },
  TENANT_FORBIDDEN: { status: 403, remedy: 'The object belongs to another tenant; use a token of that tenant.' },
  TENANT_NOT_FOUND: { status: 404, remedy: 'Create the tenant first (`citytrust tenant create`).' },
  TENANT_EXISTS: { status: 409, remedy: 'Pick another tenant id.' },

  // store
  STORE_UNAVAILABLE: { status: 503, remedy: 'Check the database (DATABASE_URL or the data directory) and retry.' },
  STORE_MIGRATION_FAILED: { status: 500, remedy: 'A migration failed; the database was left at its previous version. See the log.' },
  STORE_NOT_INITIALISED: { status: 500, remedy: 'Run `citytrust init` first.' },

  // audit
  AUDIT_PROOF_INVALID: { status: 422, remedy: 'The proof does not match the given root; fetch a fresh proof.' },
  AUDIT_RANGE_INVALID: { status: 400, remedy: 'Ask for sizes and indices within the current tree size.' },
  AUDIT_LOG_CORRUPT: { status: 500, remedy: 'The stored log does not match its signed checkpoints: treat as an incident.' },
  AUDIT_CHECKPOINT_INVALID: { status: 422, remedy: 'The checkpoint is malformed or its signature does not verify with the log key.' },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof CODES;

export class CityTrustError extends Error {
  readonly code: ErrorCode;
  /** Extra, client-safe facts (e.g. the bad config key). Never secrets. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CityTrustError';
    this.code = code;
    this.details = options?.details;
  }

  get status(): number {
    return CODES[this.code].status;
  }

  get remedy(): string {
    return CODES[this.code].remedy;
  }

  /** What a client may see: code and message, never the cause or a stack. */
  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isCityTrustError(e: unknown, code?: ErrorCode): e is CityTrustError {
  return e instanceof CityTrustError && (code === undefined || e.code === code);
}

export function errorInfo(code: ErrorCode): CodeInfo {
  return CODES[code];
}

export function allErrorCodes(): ErrorCode[] {
  return Object.keys(CODES) as ErrorCode[];
}

/** Shorthand used at validation boundaries. */
export function fail(code: ErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new CityTrustError(code, message, details === undefined ? undefined : { details });
}
