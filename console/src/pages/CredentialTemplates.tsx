import { useState } from 'react';
import { ApiError, hasRole, q, type Api } from '../api.ts';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';

export interface Template {
  tenant: string;
  id: string;
  name: string;
  validitySeconds: number;
  grants: { zones?: string[]; resources?: string[]; class?: number };
  createdAt: number;
}

interface IssuerKey {
  kid: string;
  alg: string;
  state: string;
  createdAt: number;
  retiredAt: number | null;
  certificateExpiresAt: number;
}

const problemOf = (e: unknown): Problem => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });
const TEMPLATE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const LIST_ITEM = /^[\p{L}\p{N} ._:/#-]{1,64}$/u;

function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

export function Templates({ tenant, templates, error, onCreated }: { tenant: string; templates: Template[] | undefined; error: Problem | undefined; onCreated(): void }) {
  const { api, me } = useSession();
  return (
    <>
      <h2>Templates</h2>
      <ErrorNote error={error} />
      <table data-testid="templates">
        <thead>
          <tr>
            <th>Id</th>
            <th>Name</th>
            <th>Validity</th>
            <th>Zones</th>
            <th>Resources</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {(templates ?? []).map((t) => (
            <tr key={t.id} data-template={t.id}>
              <td className="mono">{t.id}</td>
              <td>{t.name}</td>
              <td>{Math.round(t.validitySeconds / 3600)} h</td>
              <td>{t.grants.zones?.join(', ') ?? '—'}</td>
              <td>{t.grants.resources?.join(', ') ?? '—'}</td>
              <td>{formatTime(t.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {hasRole(me, 'issuer', 'tenant-admin') ? <CreateTemplate api={api} tenant={tenant} onCreated={onCreated} /> : null}
    </>
  );
}

function CreateTemplate({ api, tenant, onCreated }: { api: Api; tenant: string; onCreated(): void }) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [hours, setHours] = useState('24');
  const [zones, setZones] = useState('');
  const [resources, setResources] = useState('');
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    const z = splitList(zones);
    const r = splitList(resources);
    const h = Number(hours);
    if (!TEMPLATE_ID.test(id)) return setError({ code: 'INPUT_INVALID', message: 'a template id is lower-case letters, digits and hyphens, up to 63' });
    if (name.trim() === '') return setError({ code: 'INPUT_INVALID', message: 'a template needs a name' });
    if (!Number.isFinite(h) || h <= 0 || h > 24 * 3660) return setError({ code: 'INPUT_INVALID', message: 'validity is a positive number of hours (up to ten years)' });
    if (z.length + r.length === 0) return setError({ code: 'INPUT_INVALID', message: 'grant at least one zone or resource' });
    if (![...z, ...r].every((x) => LIST_ITEM.test(x))) return setError({ code: 'INPUT_INVALID', message: 'zones and resources are short names separated by commas' });
    setBusy(true);
    try {
      await api.post('/v1/credentials/templates', { tenant, id, name: name.trim(), validitySeconds: Math.round(h * 3600), grants: { ...(z.length ? { zones: z } : {}), ...(r.length ? { resources: r } : {}) } });
      setError(undefined);
      setId('');
      setName('');
      setZones('');
      setResources('');
      onCreated();
    } catch (err) {
      setError(problemOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card form" onSubmit={(e) => void submit(e)} aria-labelledby="tpl-title" noValidate>
      <h2 id="tpl-title">Create a template</h2>
      <ErrorNote error={error} title="Not created" />
      <div className="row">
        <label>
          Id
          <input name="tpl-id" value={id} onChange={(e) => setId(e.target.value)} placeholder="day-ab" autoComplete="off" />
        </label>
        <label>
          Name
          <input name="tpl-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Day ticket A–B" autoComplete="off" />
        </label>
        <label>
          Valid for (hours)
          <input name="tpl-hours" value={hours} onChange={(e) => setHours(e.target.value)} inputMode="decimal" autoComplete="off" />
        </label>
        <label>
          Zones
          <input name="tpl-zones" value={zones} onChange={(e) => setZones(e.target.value)} placeholder="A, B" autoComplete="off" />
        </label>
        <label>
          Resources
          <input name="tpl-resources" value={resources} onChange={(e) => setResources(e.target.value)} placeholder="door-3" autoComplete="off" />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          Create template
        </button>
      </div>
    </form>
  );
}

export function IssuerKeys({ tenant }: { tenant: string }) {
  const { api, me } = useSession();
  const scoped = me.tenant === null ? tenant : undefined;
  const keys = useLoad((signal) => api.get<IssuerKey[]>(`/v1/credentials/issuer-keys${q({ tenant: scoped })}`, signal), [api, scoped]);
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  async function rotate() {
    setBusy(true);
    try {
      await api.post('/v1/credentials/issuer-keys', { tenant });
      setError(undefined);
      keys.reload();
    } catch (e) {
      setError(problemOf(e));
    } finally {
      setBusy(false);
    }
  }
  const current = (keys.data ?? []).some((k) => k.state === 'active' || k.state === 'current');
  return (
    <>
      <h2>Issuer keys</h2>
      <ErrorNote error={keys.error ?? error} />
      <table data-testid="issuer-keys">
        <thead>
          <tr>
            <th>Key id</th>
            <th>Algorithm</th>
            <th>State</th>
            <th>Created</th>
            <th>Certificate expires</th>
          </tr>
        </thead>
        <tbody>
          {keys.data?.length === 0 ? (
            <tr>
              <td colSpan={5} className="muted">
                no issuer key yet: a tenant-admin creates one before the first issuance
              </td>
            </tr>
          ) : null}
          {(keys.data ?? []).map((k) => (
            <tr key={k.kid}>
              <td className="mono">{k.kid}</td>
              <td>{k.alg}</td>
              <td>{k.state}</td>
              <td>{formatTime(k.createdAt)}</td>
              <td>{formatTime(k.certificateExpiresAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {hasRole(me, 'tenant-admin') ? (
        <button type="button" onClick={() => void rotate()} disabled={busy}>
          {current ? 'Rotate the issuer key' : 'Create the issuer key'}
        </button>
      ) : null}
    </>
  );
}
