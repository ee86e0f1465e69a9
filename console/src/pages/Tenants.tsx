import { useState } from 'react';
import { ApiError, isCityAdmin } from '../api.ts';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';

export interface Tenant {
  id: string;
  name: string;
  status: string;
  createdAt: number;
}

/** The server's rule for tenant ids (src/server/routes/access.ts), checked before anything is sent. */
export const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;

export function Tenants() {
  const { api, me } = useSession();
  const list = useLoad((signal) => api.get<Tenant[]>('/v1/tenants', signal), [api]);
  return (
    <section aria-labelledby="tenants-title">
      <div className="page-head">
        <h1 id="tenants-title">{me.tenant ? 'Your tenant' : 'Tenants'}</h1>
      </div>
      <ErrorNote error={list.error} />
      <table>
        <thead>
          <tr>
            <th>Id</th>
            <th>Name</th>
            <th>Status</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((t) => (
            <tr key={t.id} data-tenant={t.id}>
              <td>
                <a href={`#/tenants/${encodeURIComponent(t.id)}`}>{t.id}</a>
              </td>
              <td>{t.name}</td>
              <td>{t.status}</td>
              <td>{formatTime(t.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {isCityAdmin(me) ? <CreateTenant onCreated={list.reload} /> : null}
    </section>
  );
}

function CreateTenant({ onCreated }: { onCreated(): void }) {
  const { api } = useSession();
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setDone(undefined);
    if (!TENANT_ID.test(id)) {
      setError({ code: 'INPUT_INVALID', message: 'a tenant id is 3–40 characters: lower-case letters, digits and inner hyphens' });
      return;
    }
    if (name.trim() === '' || name.length > 200) {
      setError({ code: 'INPUT_INVALID', message: 'a tenant needs a name of 1–200 characters' });
      return;
    }
    setBusy(true);
    try {
      const t = await api.post<Tenant>('/v1/tenants', { id, name: name.trim() });
      setError(undefined);
      setDone(`Tenant ${t.id} created.`);
      setId('');
      setName('');
      onCreated();
    } catch (err) {
      setError(err instanceof ApiError ? { code: err.code, message: err.message } : { code: 'NETWORK', message: String(err) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card form" onSubmit={(e) => void submit(e)} aria-labelledby="create-tenant" noValidate>
      <h2 id="create-tenant">Create a tenant</h2>
      <ErrorNote error={error} title="Not created" />
      {done ? (
        <p className="note ok" role="status">
          {done}
        </p>
      ) : null}
      <div className="row">
        <label>
          Id
          <input name="tenant-id" value={id} onChange={(e) => setId(e.target.value)} placeholder="metro" autoComplete="off" />
        </label>
        <label>
          Name
          <input name="tenant-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Metro Transit" autoComplete="off" />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          Create tenant
        </button>
      </div>
    </form>
  );
}
