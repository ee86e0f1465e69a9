import { useState, type FormEvent } from 'react';
import { ApiError, q } from '../api.ts';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';
import { ErrorNote, type Problem } from './ErrorNote.tsx';

const KEY_TYPES = ['ec-p256', 'ec-p384', 'ed25519', 'aes-256-gcm', 'hmac-sha256'] as const;

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

/**
 * Vault keys of one scope: `tenant` undefined = the caller's own scope (the city's for a city-admin).
 * With `manage` (city-admin, tenant-admin) a key can be created and rotated; a bad label is refused
 * before anything is sent, and the server's refusal is shown with its code.
 */
export function KeysTable({ tenant, manage = false }: { tenant: string | undefined; manage?: boolean }) {
  const { api } = useSession();
  const keys = useLoad((signal) => api.get<KeyInfo[]>(`/v1/vault/keys${q({ tenant })}`, signal), [api, tenant]);
  const [problem, setProblem] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setProblem(undefined);
    try {
      await fn();
      keys.reload();
    } catch (e) {
      setProblem(e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });
    } finally {
      setBusy(false);
    }
  };
  const create = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const label = String(f.get('key-label') ?? '').trim();
    const type = String(f.get('key-type') ?? '');
    if (label === '' || label.length > 200) {
      setProblem({ code: 'INPUT_INVALID', message: 'a key needs a label of 1 to 200 characters' });
      return;
    }
    void act(() => api.post(`/v1/vault/keys${q({ tenant })}`, { type, label }));
  };
  return (
    <>
      <ErrorNote error={keys.error} />
      {manage ? (
        <form className="inline" onSubmit={create} aria-label="Create a vault key">
          <select name="key-type" defaultValue="ec-p256" aria-label="key type">
            {KEY_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>{' '}
          <input name="key-label" placeholder="label" aria-label="key label" maxLength={300} />{' '}
          <button type="submit" disabled={busy}>
            Create key
          </button>
        </form>
      ) : null}
      <ErrorNote error={problem} title="The vault refused" />
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
              {manage ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {keys.data.length === 0 ? (
              <tr>
                <td colSpan={manage ? 8 : 7} className="muted">
                  no keys in this scope
                </td>
              </tr>
            ) : null}
            {keys.data.map((k) => (
              <tr key={k.id} data-key-label={k.label} data-version={k.currentVersion}>
                <td className="mono">{k.id}</td>
                <td>{k.type}</td>
                <td>{k.label}</td>
                <td>{k.usages.join(', ')}</td>
                <td>
                  v{k.currentVersion} <span className="muted">of {k.versions.length}</span>
                </td>
                <td>{formatTime(k.createdAt)}</td>
                <td>{k.destroyedAt !== undefined ? <span className="badge bad">destroyed {formatTime(k.destroyedAt)}</span> : <span className="badge ok">active</span>}</td>
                {manage ? (
                  <td>
                    {k.destroyedAt === undefined ? (
                      <button type="button" disabled={busy} onClick={() => void act(() => api.post(`/v1/vault/keys/${encodeURIComponent(k.id)}/rotate${q({ tenant })}`))}>
                        Rotate
                      </button>
                    ) : null}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
