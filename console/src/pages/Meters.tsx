import { useState } from 'react';
import { ApiError, hasRole, q } from '../api.ts';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { TenantSelect, useTenantChoice } from '../components/TenantPicker.tsx';
import { formatTime } from '../format.ts';
import { navigate, useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';

export interface Meter {
  tenant: string;
  id: string;
  district: string;
  class: string;
  relay: string;
  lastCounter: number;
  lastReadingAt: number | null;
  lastImportWh: number | null;
  lastExportWh: number | null;
  tariffId: number | null;
  createdAt: number;
}

export interface MeterAlert {
  id: string;
  meterId: string;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  count: number;
  firstAt: number;
  lastAt: number;
  counter: number | null;
}

export interface Command {
  id: string;
  tenant: string;
  action: string;
  args: { tariffId?: number; activateAt?: number };
  reason: string;
  meterCount: number;
  approvalsRequired: number;
  approvals: string[];
  state: 'awaiting-approval' | 'dispatched' | 'refused' | 'cancelled' | 'expired' | string;
  refusal: string | null;
  requestedBy: string;
  requestedAt: number;
  approveBy: number;
  dispatchedAt: number | null;
  expiresAt: number | null;
  targets?: { meterId: string; district: string; state: string; counter: number | null; result: string | null; sentAt: number | null; ackedAt: number | null }[];
}

export const ACTIONS = ['disconnect', 'reconnect', 'tariff', 'time-sync'];
export const METER_ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const SEVERITY_TONE: Record<string, string> = { info: '', warning: 'warn', critical: 'bad' };
export const COMMAND_TONE: Record<string, string> = { 'awaiting-approval': 'warn', dispatched: 'ok', refused: 'bad', cancelled: 'muted', expired: 'muted' };
const problemOf = (e: unknown): Problem => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });
const kwh = (wh: number | null): string => (wh === null ? '—' : `${(wh / 1000).toLocaleString('en', { maximumFractionDigits: 1 })} kWh`);

/** Smart meters of one tenant: the meters, their alerts, and commands with their approval flow. */
export function Meters() {
  const { api, me } = useSession();
  const choice = useTenantChoice();
  const tenant = choice.tenant;
  const base = tenant === undefined ? undefined : `/v1/metering/tenants/${encodeURIComponent(tenant)}`;
  const meters = useLoad((signal) => (base ? api.get<Meter[]>(`${base}/meters${q({ limit: 500 })}`, signal) : Promise.resolve([])), [api, base]);
  const alerts = useLoad((signal) => (base ? api.get<MeterAlert[]>(`${base}/alerts${q({ limit: 50 })}`, signal) : Promise.resolve([])), [api, base]);
  const commands = useLoad((signal) => (base ? api.get<Command[]>(`${base}/commands${q({ limit: 50 })}`, signal) : Promise.resolve([])), [api, base]);

  return (
    <section aria-labelledby="meters-title">
      <div className="page-head">
        <h1 id="meters-title">Smart meters</h1>
        <TenantSelect choice={choice} />
      </div>
      <h2>Commands</h2>
      <ErrorNote error={commands.error} />
      <CommandsTable tenant={tenant} commands={commands.data} />
      {tenant !== undefined && hasRole(me, 'operator') ? <RequestCommand tenant={tenant} meters={meters.data ?? []} onRequested={(c) => navigate(`/meters/${encodeURIComponent(c.tenant)}/commands/${c.id}`)} /> : null}

      <h2>Alerts</h2>
      <ErrorNote error={alerts.error} />
      <table data-testid="meter-alerts">
        <thead>
          <tr>
            <th>Severity</th>
            <th>Kind</th>
            <th>Meter</th>
            <th>Count</th>
            <th>First</th>
            <th>Last</th>
          </tr>
        </thead>
        <tbody>
          {alerts.data?.length === 0 ? (
            <tr>
              <td colSpan={6} className="muted">
                no alerts
              </td>
            </tr>
          ) : null}
          {(alerts.data ?? []).map((a) => (
            <tr key={a.id} data-kind={a.kind}>
              <td>
                <span className={`badge ${SEVERITY_TONE[a.severity] ?? ''}`}>{a.severity}</span>
              </td>
              <td>
                <code>{a.kind}</code>
              </td>
              <td className="mono">{tenant ? <a href={`#/meters/${encodeURIComponent(tenant)}/${encodeURIComponent(a.meterId)}`}>{a.meterId}</a> : a.meterId}</td>
              <td>{a.count}</td>
              <td className="small">{formatTime(a.firstAt)}</td>
              <td className="small">{formatTime(a.lastAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Meters</h2>
      <ErrorNote error={meters.error} />
      <table data-testid="meters">
        <thead>
          <tr>
            <th>Meter</th>
            <th>District</th>
            <th>Class</th>
            <th>Relay</th>
            <th>Import</th>
            <th>Last reading</th>
            <th>Tariff</th>
          </tr>
        </thead>
        <tbody>
          {meters.data?.length === 0 ? (
            <tr>
              <td colSpan={7} className="muted">
                no meters registered
              </td>
            </tr>
          ) : null}
          {(meters.data ?? []).map((m) => (
            <tr key={m.id} data-meter={m.id}>
              <td className="mono">
                <a href={`#/meters/${encodeURIComponent(m.tenant)}/${encodeURIComponent(m.id)}`}>{m.id}</a>
              </td>
              <td>{m.district}</td>
              <td>{m.class}</td>
              <td>
                <span className={`badge ${m.relay === 'connected' ? 'ok' : 'warn'}`}>{m.relay}</span>
              </td>
              <td>{kwh(m.lastImportWh)}</td>
              <td className="small">{formatTime(m.lastReadingAt)}</td>
              <td>{m.tariffId ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function CommandsTable({ tenant, commands }: { tenant: string | undefined; commands: Command[] | undefined }) {
  return (
    <table data-testid="commands">
      <thead>
        <tr>
          <th>Command</th>
          <th>Action</th>
          <th>Meters</th>
          <th>Approvals</th>
          <th>Requested</th>
          <th>State</th>
        </tr>
      </thead>
      <tbody>
        {commands?.length === 0 ? (
          <tr>
            <td colSpan={6} className="muted">
              no commands
            </td>
          </tr>
        ) : null}
        {(commands ?? []).map((c) => (
          <tr key={c.id} data-command={c.id} data-state={c.state}>
            <td className="mono small">{tenant ? <a href={`#/meters/${encodeURIComponent(tenant)}/commands/${c.id}`}>{c.id}</a> : c.id}</td>
            <td>{c.action}</td>
            <td>{c.meterCount}</td>
            <td>{c.state === 'awaiting-approval' ? `${c.approvals.length} of ${c.approvalsRequired}` : c.approvalsRequired === 0 ? 'none needed' : `${c.approvalsRequired} required`}</td>
            <td className="small">{formatTime(c.requestedAt)}</td>
            <td>
              <span className={`badge ${COMMAND_TONE[c.state] ?? ''}`}>{c.state}</span>
              {c.refusal ? <div className="small">{c.refusal}</div> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RequestCommand({ tenant, meters, onRequested }: { tenant: string; meters: Meter[]; onRequested(c: Command): void }) {
  const { api } = useSession();
  const [action, setAction] = useState('disconnect');
  const [district, setDistrict] = useState('');
  const [list, setList] = useState('');
  const [tariff, setTariff] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const districts = [...new Set(meters.map((m) => m.district))].sort();

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    const named = list
      .split(/[\s,]+/)
      .map((x) => x.trim())
      .filter((x) => x !== '');
    const chosen = [...new Set([...named, ...(district ? meters.filter((m) => m.district === district).map((m) => m.id) : [])])];
    if (chosen.length === 0) return setError({ code: 'INPUT_INVALID', message: 'name at least one meter, or pick a district' });
    const bad = chosen.find((m) => !METER_ID.test(m));
    if (bad !== undefined) return setError({ code: 'INPUT_INVALID', message: `"${bad}" is not a meter id` });
    if (reason.trim() === '') return setError({ code: 'INPUT_INVALID', message: 'say why: the reason goes to the audit log and to the approvers' });
    let args: { tariffId: number } | undefined;
    if (action === 'tariff') {
      const t = Number(tariff);
      if (tariff.trim() === '' || !Number.isInteger(t) || t < 0 || t > 4_294_967_295) return setError({ code: 'INPUT_INVALID', message: 'a tariff id is a whole number' });
      args = { tariffId: t };
    }
    setBusy(true);
    try {
      const c = await api.post<Command>(`/v1/metering/tenants/${encodeURIComponent(tenant)}/commands`, { action, meters: chosen, reason: reason.trim(), ...(args ? { args } : {}) });
      setError(undefined);
      onRequested(c);
    } catch (err) {
      setError(problemOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card form" onSubmit={(e) => void submit(e)} aria-labelledby="cmd-title" noValidate>
      <h2 id="cmd-title">Request a command</h2>
      <ErrorNote error={error} title="Not requested" />
      <div className="row">
        <label>
          Action
          <select name="cmd-action" value={action} onChange={(e) => setAction(e.target.value)}>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label>
          Every meter of district
          <select name="cmd-district" value={district} onChange={(e) => setDistrict(e.target.value)}>
            <option value="">—</option>
            {districts.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label className="grow">
          and/or meters
          <input name="cmd-meters" value={list} onChange={(e) => setList(e.target.value)} placeholder="m-0001, m-0002" autoComplete="off" />
        </label>
        {action === 'tariff' ? (
          <label>
            Tariff id
            <input name="cmd-tariff" value={tariff} onChange={(e) => setTariff(e.target.value)} inputMode="numeric" autoComplete="off" />
          </label>
        ) : null}
        <label className="grow">
          Reason
          <input name="cmd-reason" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} autoComplete="off" />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          Request
        </button>
      </div>
      <p className="muted small">
        Commands to protected customers or to many meters wait for a second operator's approval; the blackout guard refuses what would cut too much of a district or the city at once. Dispatched
        commands are signed by the vault and carry a counter and an expiry.
      </p>
    </form>
  );
}
