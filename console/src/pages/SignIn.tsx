import { useState } from 'react';
import { ApiError, whoami, type Me } from '../api.ts';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { TOKEN_SHAPE } from '../session.ts';

export function SignIn({ ended, onSignedIn }: { ended: Problem | undefined; onSignedIn(token: string, me: Me): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    const t = token.trim();
    if (!TOKEN_SHAPE.test(t)) {
      // Caught here so a mistyped token is never sent anywhere.
      setError({ code: 'CONSOLE_TOKEN_SHAPE', message: 'this is not a citytrust API token' });
      return;
    }
    setBusy(true);
    try {
      const me = await whoami(t);
      setToken('');
      onSignedIn(t, me);
    } catch (err) {
      setError(err instanceof ApiError ? { code: err.code, message: err.message } : { code: 'NETWORK', message: 'the server cannot be reached' });
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <form onSubmit={(e) => void submit(e)} className="card" aria-labelledby="signin-title">
        <h1 id="signin-title">
          <span className="logo" aria-hidden="true" /> citytrust console
        </h1>
        {ended && !error ? <ErrorNote error={ended} title="Your session ended" /> : null}
        <ErrorNote error={error} title="Sign-in refused" />
        <label>
          API token
          <input
            name="token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder="ct_…"
            value={token}
            onChange={(e) => {
              setToken(e.target.value);
              setError(undefined);
            }}
          />
        </label>
        <button type="submit" className="primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="hint">
          The token stays in this browser tab only (sessionStorage) and is sent to this server alone. <code>citytrust init</code> and <code>citytrust demo</code> print an admin token; <code>citytrust token create</code> makes more.
        </p>
      </form>
    </main>
  );
}
