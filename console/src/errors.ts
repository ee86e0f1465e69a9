/** What a person should do about the codes the console meets most; the API's own message comes first. */
const REMEDIES: Record<string, string> = {
  AUTH_MISSING: 'Sign in with an API token.',
  AUTH_INVALID_TOKEN: 'The token is unknown or mistyped. Paste the whole token (ct_…); an administrator can create one with `citytrust token create`.',
  AUTH_TOKEN_REVOKED: 'This token was revoked. Ask an administrator for a new one.',
  AUTH_TOKEN_EXPIRED: 'Your session has expired: the token reached its end of life. Ask an administrator for a new one.',
  AUTH_FORBIDDEN: 'Your token lacks the role this needs.',
  TENANT_FORBIDDEN: 'This belongs to another tenant. Your token sees only its own tenant.',
  TENANT_NOT_FOUND: 'There is no such tenant.',
  TENANT_EXISTS: 'A tenant with this id exists already; pick another id.',
  NOT_FOUND: 'There is nothing here, or it is not yours to see.',
  INPUT_INVALID: 'Correct the form: a field is missing or out of range. Nothing was changed.',
  RATE_LIMITED: 'Too many requests; the console retries by itself.',
  VAULT_SEALED: 'The vault is sealed: unseal it with the threshold number of shares.',
  VAULT_ZEROIZED: 'The vault destroyed its keys after a tamper event: investigate, then re-initialise and restore from backup.',
  VAULT_SHARE_MALFORMED: 'Enter the share exactly as printed (it starts with cts1-).',
  NETWORK: 'The server does not answer. Check that it runs; the console retries by itself.',
  CONSOLE_TOKEN_SHAPE: 'A citytrust token looks like ct_ followed by 16 hex digits, an underscore and 43 characters.',
};

export function remedyFor(code: string): string | undefined {
  return REMEDIES[code];
}
