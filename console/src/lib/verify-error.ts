/**
 * What the browser-side verifiers throw. The codes are the server's codes for the same
 * failures (src/core/errors.ts), so a person sees one vocabulary in the CLI, the API and here.
 */
export type VerifyCode = 'AUDIT_PROOF_INVALID' | 'AUDIT_RANGE_INVALID' | 'AUDIT_CHECKPOINT_INVALID' | 'AUDIT_KEY_INVALID' | 'AUDIT_LEAF_MISMATCH';

export class VerifyError extends Error {
  readonly code: VerifyCode;
  constructor(code: VerifyCode, message: string) {
    super(message);
    this.name = 'VerifyError';
    this.code = code;
  }
}

export function isVerifyError(e: unknown, code?: VerifyCode): e is VerifyError {
  return e instanceof VerifyError && (code === undefined || e.code === code);
}
