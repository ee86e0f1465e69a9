import { useCallback, useEffect, useMemo, useState } from 'react';
import { createApi, whoami, type ApiError, type Me } from './api.ts';
import { forgetToken, storedToken, storeToken } from './session.ts';
import { SessionContext, type Session } from './session-context.ts';
import type { Problem } from './components/ErrorNote.tsx';
import { SignIn } from './pages/SignIn.tsx';
import { Layout } from './Layout.tsx';

interface Signed {
  token: string;
  me: Me;
}

/**
 * Sign-in state. A reload re-asks the server who the stored token is, so a token revoked or
 * expired meanwhile lands on the sign-in page with its code instead of a half-working console.
 */
export function App() {
  const [signed, setSigned] = useState<Signed | undefined>(undefined);
  const [ended, setEnded] = useState<Problem | undefined>(undefined);
  const [restoring, setRestoring] = useState(() => storedToken() !== undefined);

  const end = useCallback((e?: ApiError) => {
    forgetToken();
    setSigned(undefined);
    setEnded(e ? { code: e.code, message: e.message } : undefined);
  }, []);

  useEffect(() => {
    const token = storedToken();
    if (token === undefined) return;
    whoami(token).then(
      (me) => {
        setSigned({ token, me });
        setRestoring(false);
      },
      (e: ApiError) => {
        end(e);
        setRestoring(false);
      },
    );
  }, [end]);

  const session = useMemo<Session | undefined>(() => {
    if (!signed) return undefined;
    return { me: signed.me, api: createApi(signed.token, end), signOut: () => end() };
  }, [signed, end]);

  if (restoring) return <p className="centered">Checking your session…</p>;
  if (!session) {
    return (
      <SignIn
        ended={ended}
        onSignedIn={(token, me) => {
          storeToken(token);
          setEnded(undefined);
          setSigned({ token, me });
          if (window.location.hash === '' || window.location.hash === '#/signin') window.location.hash = '#/';
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Layout />
    </SessionContext.Provider>
  );
}
