import { q } from '../api.ts';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';
import { ErrorNote } from './ErrorNote.tsx';

export interface KeyInfo {
  id: string;
  type: string;
  label: string;
  tenant: string | null;
  usages: string[];
  currentVersion: number;
  versions: { version: number; state: string; createdAt: number }[];
  createdAt: number;
  destroyedAt?: number;
}

/** Vault keys of one scope: `tenant` undefined = the caller's own scope (the city's for a city-admin). */
export function KeysTable({ tenant }: { tenant: string | undefined }) {
  const { api } = useSession();
  const keys = useLoad((signal) => api.get<KeyInfo[]>(`/v1/vault/keys${q({ tenant })}`, signal), [api, tenant]);
  return (
    <>
      <ErrorNote error={keys.error} />
      {keys.data ? (
        <table data-testid="keys">
          <thead>
            <tr>
              <th>Key</th>
              <th>Type</th>
              <th>Label</th>
              <th>Usages</th>
              <th>Version</th>
              <th>Created</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {keys.data.length === 0 ? (
              <tr>
                <td colSpan={7} className="muted">
                  no keys in this scope
                </td>
              </tr>
            ) : null}
            {keys.data.map((k) => (
              <tr key={k.id}>
                <td className="mono">{k.id}</td>
                <td>{k.type}</td>
                <td>{k.label}</td>
                <td>{k.usages.join(', ')}</td>
                <td>
                  v{k.currentVersion} <span className="muted">of {k.versions.length}</span>
                </td>
                <td>{formatTime(k.createdAt)}</td>
                <td>{k.destroyedAt !== undefined ? <span className="badge bad">destroyed {formatTime(k.destroyedAt)}</span> : <span className="badge ok">active</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
