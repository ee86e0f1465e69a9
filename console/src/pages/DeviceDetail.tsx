import { useState } from 'react';
import { ApiError, hasRole, q } from '../api.ts';
import { Confirm } from '../components/Confirm.tsx';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import type { AuditEventRow } from '../lib/leaf.ts';
import { useSession } from '../session-context.ts';
import { DEVICE_ID, STATE_TONE, type Device, type DeviceState } from './Devices.tsx';
import { Certificates } from './Pki.tsx';

/** src/devices/types.ts TRANSITIONS: compromised and retired are final. */
const TRANSITIONS: Record<DeviceState, DeviceState[]> = {
  pending: ['active', 'suspended', 'compromised', 'retired'],
  active: ['suspended', 'compromised', 'retired'],
  suspended: ['active', 'compromised', 'retired'],
  compromised: [],
  retired: [],
};
const EFFECT: Record<DeviceState, string> = {
  pending: '',
  active: 'Certificates on hold are released.',
  suspended: 'Every certificate of the device goes on hold (OCSP and CRL say certificateHold) until it is active again.',
  compromised: 'Final. Every certificate is revoked with reason keyCompromise, and the key may never be certified again.',
  retired: 'Final. Every certificate is revoked (cessationOfOperation).',
};
const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;

interface Installed {
  name: string;
  repo: string;
  version: string;
  sha256: string;
  reportedAt: number;
}

const problemOf = (e: unknown): Problem => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });

export function DeviceDetail({ tenant, id }: { tenant: string; id: string }) {
  const { me } = useSession();
  if (me.tenant !== null && me.tenant !== tenant) {
    return <ErrorNote error={{ code: 'TENANT_FORBIDDEN', message: `this device belongs to another tenant; you are signed in for tenant ${me.tenant}` }} />;
  }
  if (!TENANT_ID.test(tenant) || !DEVICE_ID.test(id)) return <ErrorNote error={{ code: 'DEVICE_NOT_FOUND', message: 'there is no such device' }} />;
  return <Detail tenant={tenant} id={id} />;
}

function Detail({ tenant, id }: { tenant: string; id: string }) {
  const { api, me } = useSession();
  const path = `/v1/devices/${encodeURIComponent(tenant)}/${encodeURIComponent(id)}`;
  const device = useLoad((signal) => api.get<Device>(path, signal), [api, path]);
  const installed = useLoad((signal) => api.get<Installed[]>(`/v1/updates/devices/${encodeURIComponent(tenant)}/${encodeURIComponent(id)}`, signal), [api, tenant, id]);
  const history = useLoad(
    async (signal) => {
      if (!hasRole(me, 'auditor')) return undefined;
      const events = await api.get<AuditEventRow[]>(`/v1/audit/events${q({ action: 'device.state', limit: 1000 })}`, signal);
      return events.filter((e) => e.subject === id && e.tenant === tenant).reverse();
    },
    [api, tenant, id],
  );
  const [target, setTarget] = useState<DeviceState | undefined>(undefined);
  const [bootstrap, setBootstrap] = useState<{ token: string; expiresAt: number } | undefined>(undefined);
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [certsKey, setCertsKey] = useState(0);

  if (device.error) return <ErrorNote error={device.error} />;
  const d = device.data;
  if (!d) return <p className="muted">…</p>;
  const manage = hasRole(me, 'tenant-admin', 'operator');

  async function change(to: DeviceState) {
    setBusy(true);
    try {
      await api.post(`${path}/state`, { state: to });
      setError(undefined);
      device.reload();
      history.reload();
      setCertsKey((k) => k + 1);
    } catch (e) {
      setError(problemOf(e));
    } finally {
      setBusy(false);
      setTarget(undefined);
    }
  }

  async function issueBootstrap() {
    setBusy(true);
    try {
      setBootstrap(await api.post<{ token: string; expiresAt: number }>(`${path}/bootstrap`, {}));
      setError(undefined);
    } catch (e) {
      setError(problemOf(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="device-title" data-testid="device-detail">
      <div className="page-head">
        <h1 id="device-title">
          <span className="mono">{d.id}</span> <span className="muted">{d.type}</span>
        </h1>
        <span className={`badge ${STATE_TONE[d.state]}`} data-testid="device-state">
          {d.state}
        </span>
      </div>
      <p>
        <a href="#/devices">← all devices</a>
      </p>
      <ErrorNote error={error} title="Not changed" />
      <div className="grid">
        <article className="card">
          <dl className="fields">
            <dt>Tenant</dt>
            <dd>{d.tenant}</dd>
            <dt>Site</dt>
            <dd>{d.site}</dd>
            <dt>Label</dt>
            <dd>{d.label || '—'}</dd>
            <dt>Registered</dt>
            <dd>{formatTime(d.createdAt)}</dd>
            <dt>Last change</dt>
            <dd>{formatTime(d.updatedAt)}</dd>
          </dl>
          {d.type === 'meter' ? (
            <p>
              <a href={`#/meters/${encodeURIComponent(d.tenant)}/${encodeURIComponent(d.id)}`}>Readings, alerts and tamper events of this meter →</a>
            </p>
          ) : null}
          {d.type === 'reader' || d.type === 'gate' ? (
            <p>
              <a href={`#/readers/${encodeURIComponent(d.tenant)}/${encodeURIComponent(d.id)}`}>Taps and alerts at this reader →</a>
            </p>
          ) : null}
          {manage && TRANSITIONS[d.state].length > 0 ? (
            <div className="actions left">
              {TRANSITIONS[d.state].map((s) => (
                <button key={s} type="button" className={s === 'compromised' || s === 'retired' ? 'danger' : undefined} onClick={() => setTarget(s)}>
                  Mark {s}…
                </button>
              ))}
            </div>
          ) : null}
        </article>
        <article className="card">
          <h2>Software</h2>
          <ErrorNote error={installed.error} />
          {installed.data?.length === 0 ? <p className="muted">The device has reported no installed software yet.</p> : null}
          <ul className="plain">
            {(installed.data ?? []).map((i) => (
              <li key={`${i.repo}/${i.name}`}>
                <strong>{i.name}</strong> {i.version} <span className="muted small">reported {formatTime(i.reportedAt)}</span>
              </li>
            ))}
          </ul>
          <p className="muted small">From the device's signed install reports (TUF updates).</p>
          {manage && (d.state === 'pending' || d.state === 'active') ? (
            <>
              <h2>Enrolment</h2>
              {bootstrap ? (
                <div className="note secret" role="status" data-testid="bootstrap-token">
                  <strong>One-time bootstrap token, shown this once; valid until {formatTime(bootstrap.expiresAt)}:</strong>
                  <code className="mono block">{bootstrap.token}</code>
                </div>
              ) : (
                <button type="button" onClick={() => void issueBootstrap()} disabled={busy}>
                  Issue a bootstrap token
                </button>
              )}
            </>
          ) : null}
        </article>
      </div>
      <h2>Certificates</h2>
      <Certificates key={certsKey} deviceId={d.id} tenant={d.tenant} />
      <h2>State history</h2>
      {history.data === undefined && !history.error ? <p className="muted">The history comes from the audit log and needs the auditor role.</p> : null}
      <ErrorNote error={history.error} />
      {history.data ? (
        <table data-testid="device-history">
          <thead>
            <tr>
              <th>#</th>
              <th>Time</th>
              <th>Change</th>
              <th>By</th>
            </tr>
          </thead>
          <tbody>
            {history.data.length === 0 ? (
              <tr>
                <td colSpan={4} className="muted">
                  no state changes in the audit log
                </td>
              </tr>
            ) : null}
            {history.data.map((e) => {
              let change = e.details;
              try {
                const x = JSON.parse(e.details) as { from?: string; to?: string };
                change = `${x.from ?? '?'} → ${x.to ?? '?'}`;
              } catch {
                // shown as logged
              }
              return (
                <tr key={e.seq}>
                  <td>
                    <a href={`#/audit/${e.seq}`}>{e.seq}</a>
                  </td>
                  <td>{formatTime(e.ts)}</td>
                  <td>{change}</td>
                  <td className="mono">{e.actor}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {target ? (
        <Confirm title={`Mark ${target}`} word={target} busy={busy} onCancel={() => setTarget(undefined)} onConfirm={() => void change(target)}>
          <p>{EFFECT[target]}</p>
        </Confirm>
      ) : null}
    </section>
  );
}
