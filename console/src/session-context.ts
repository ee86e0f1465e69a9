import { createContext, useContext } from 'react';
import type { Api, Me } from './api.ts';

export interface Session {
  api: Api;
  me: Me;
  signOut(): void;
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in console');
  return s;
}
