/**
 * The signed-in token lives in this tab's sessionStorage only: it survives a reload, is gone
 * when the tab closes, and is never written to localStorage, a cookie or the URL.
 */
const KEY = 'citytrust.token';
/** The same shape the server checks (src/access/tokens.ts): ct_<16 hex>_<43 base64url>. */
export const TOKEN_SHAPE = /^ct_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

export function storedToken(): string | undefined {
  try {
    const t = sessionStorage.getItem(KEY);
    return t !== null && TOKEN_SHAPE.test(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled: nothing was kept
  }
}
