/**
 * The console's only door to the server: same-origin fetch with the bearer token, and every
 * failure turned into an ApiError carrying the API's stable code. Authentication failures
 * (unknown, revoked or expired token) end the session: the caller sees the code, then sign-in.
 */
export const AUTH_ENDING_CODES = new Set(['AUTH_MISSING', 'AUTH_INVALID_TOKEN', 'AUTH_TOKEN_REVOKED', 'AUTH_TOKEN_EXPIRED']);

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

export interface Api {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
  /** Unauthenticated text (Prometheus /metrics). */
  text(path: string, signal?: AbortSignal): Promise<string>;
}

// Parse boundary: an error body is {code, message} when the server wrote it; anything else
// (a proxy's page, a cut connection) becomes a code of our own.
async function errorOf(r: Response): Promise<ApiError> {
  try {
    const body: unknown = await r.json();
    if (typeof body === 'object' && body !== null) {
      const { code, message } = body as { code?: unknown; message?: unknown };
      if (typeof code === 'string' && typeof message === 'string') return new ApiError(code, message, r.status);
    }
  } catch {
    // fall through
  }
  return new ApiError(r.status === 503 ? 'UNAVAILABLE' : 'HTTP_ERROR', `the server answered HTTP ${r.status}`, r.status);
}

export function createApi(token: string, onAuthEnded: (e: ApiError) => void): Api {
  async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let r: Response;
    try {
      r = await fetch(path, { method, headers, cache: 'no-store', credentials: 'omit', ...(body !== undefined ? { body: JSON.stringify(body) } : {}), ...(signal ? { signal } : {}) });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new ApiError('NETWORK', 'the server cannot be reached', 0);
    }
    if (!r.ok) {
      const e = await errorOf(r);
      if (AUTH_ENDING_CODES.has(e.code)) onAuthEnded(e);
      throw e;
    }
    if (r.status === 204) return undefined as T;
    return (await r.json()) as T;
  }
  return {
    get: (path, signal) => call('GET', path, undefined, signal),
    post: (path, body) => call('POST', path, body ?? {}),
    del: (path) => call('DELETE', path),
    text: async (path, signal) => {
      const r = await fetch(path, { cache: 'no-store', credentials: 'omit', ...(signal ? { signal } : {}) });
      if (!r.ok) throw await errorOf(r);
      return r.text();
    },
  };
}

/** Signs in: asks the server who the token is, without keeping anything if it refuses. */
export async function whoami(token: string): Promise<Me> {
  let ended: ApiError | undefined;
  const api = createApi(token, (e) => (ended = e));
  try {
    return await api.get<Me>('/v1/whoami');
  } catch (e) {
    throw ended ?? e;
  }
}

export type Role = 'city-admin' | 'tenant-admin' | 'issuer' | 'operator' | 'auditor';

export interface Me {
  tokenId: string;
  tenant: string | null;
  roles: Role[];
  label: string;
  expiresAt: number | null;
}

export function hasRole(me: Me, ...roles: Role[]): boolean {
  return me.roles.includes('city-admin') || roles.some((r) => me.roles.includes(r));
}

export const isCityAdmin = (me: Me): boolean => me.roles.includes('city-admin');

/** Query-string values are always encoded: ids typed into a URL must not reshape the request. */
export function q(params: Record<string, string | number | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}
