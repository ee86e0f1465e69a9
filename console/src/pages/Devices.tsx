import { useState } from 'react';
import { ApiError, hasRole, q } from '../api.ts';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { TenantSelect, useTenantChoice } from '../components/TenantPicker.tsx';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';

export interface Device {
  tenant: string;
  id: string;
  type: string;
  site: string;
  label: string;
  state: DeviceState;
  createdAt: number;
  updatedAt: number;
}

export type DeviceState = 'pending' | 'active' | 'suspended' | 'compromised' | 'retired';
export const DEVICE_TYPES = ['reader', 'gate', 'vehicle', 'meter', 'service', 'server', 'signer'];
export const STATE_TONE: Record<DeviceState, string> = { pending: 'warn', active: 'ok', suspended: 'warn', compromised: 'bad', retired: 'muted' };
/** The server's device id rule (src/devices/types.ts). */
export const DEVICE_ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const problemOf = (e: unknown): Problem => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });

export function Devices() {
  const { api, me } = useSession();
  const choice = useTenantChoice();
  const [state, setState] = useState('');
  const [type, setType] = useState('');
  // A city-wide token lists every tenant's devices; the tenant picker is for registering.
  const list = useLoad((signal) => api.get<Device[]>(`/v1/devices${q({ state, type, limit: 500 })}`, signal), [api, state, type]);
  return (
    <section aria-labelledby="devices-title">
      <div className="page-head">
        <h1 id="devices-title">Devices</h1>
      </div>
      <div className="toolbar">
        <label className="inline">
          State{' '}
          <select name="device-state" value={state} onChange={(e) => setState(e.target.value)}>
            <option value="">any</option>
            {Object.keys(STATE_TONE).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          Type{' '}
          <select name="device-type" value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">any</option>
            {DEVICE_TYPES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={list.error} />
      <table data-testid="devices">
        <thead>
          <tr>
            <th>Device</th>
            {me.tenant === null ? <th>Tenant</th> : null}
            <th>Type</th>
            <th>Site</th>
            <th>Label</th>
            <th>State</th>
            <th>Changed</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.length === 0 ? (
            <tr>
              <td colSpan={7} className="muted">
                no devices
              </td>
            </tr>
          ) : null}
          {(list.data ?? []).map((d) => (
            <tr key={`${d.tenant}/${d.id}`} data-device={d.id} data-state={d.state}>
              <td className="mono">
                <a href={`#/devices/${encodeURIComponent(d.tenant)}/${encodeURIComponent(d.id)}`}>{d.id}</a>
              </td>
              {me.tenant === null ? <td>{d.tenant}</td> : null}
              <td>{d.type}</td>
              <td>{d.site}</td>
              <td>{d.label}</td>
              <td>
                <span className={`badge ${STATE_TONE[d.state]}`}>{d.state}</span>
              </td>
              <td className="small">{formatTime(d.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {hasRole(me, 'tenant-admin', 'operator') ? (
        <>
          <div className="page-head">
            <h2>Register a device</h2>
            <TenantSelect choice={choice} />
          </div>
          {choice.tenant ? <RegisterDevice tenant={choice.tenant} onRegistered={list.reload} /> : null}
        </>
      ) : null}
    </section>
  );
}

function RegisterDevice({ tenant, onRegistered }: { tenant: string; onRegistered(): void }) {
  const { api } = useSession();
  const [id, setId] = useState('');
  const [type, setType] = useState('reader');
  const [site, setSite] = useState('');
  const [label, setLabel] = useState('');
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (!DEVICE_ID.test(id)) return setError({ code: 'INPUT_INVALID', message: 'a device id is 1–63 characters of a–z, 0–9, ".", "_", "-", starting with a letter or digit' });
    if (site.trim() === '' || site.length > 100) return setError({ code: 'INPUT_INVALID', message: 'name the site (up to 100 characters)' });
    setBusy(true);
    try {
      await api.post('/v1/devices', { tenant, id, type, site: site.trim(), ...(label.trim() ? { label: label.trim() } : {}) });
      setError(undefined);
      setId('');
      setLabel('');
      onRegistered();
    } catch (err) {
      setError(problemOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card form" onSubmit={(e) => void submit(e)} noValidate aria-label="Register a device">
      <ErrorNote error={error} title="Not registered" />
      <div className="row">
        <label>
          Id
          <input name="device-id" value={id} onChange={(e) => setId(e.target.value)} placeholder="gate-12" autoComplete="off" />
        </label>
        <label>
          Type
          <select name="device-new-type" value={type} onChange={(e) => setType(e.target.value)}>
            {DEVICE_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Site
          <input name="device-site" value={site} onChange={(e) => setSite(e.target.value)} placeholder="Central Station, north hall" autoComplete="off" />
        </label>
        <label>
          Label
          <input name="device-label" value={label} onChange={(e) => setLabel(e.target.value)} autoComplete="off" />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          Register
        </button>
      </div>
      <p className="muted small">A device starts pending; it becomes active when it enrols with the one-time bootstrap token its page issues.</p>
    </form>
  );
}
