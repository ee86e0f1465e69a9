import { useState } from 'react';
import { ApiError, hasRole, q } from '../api.ts';
import { Confirm } from '../components/Confirm.tsx';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { Sparkline } from '../components/Sparkline.tsx';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';
import { COMMAND_TONE, METER_ID, SEVERITY_TONE, type Command, type Meter, type MeterAlert } from './Meters.tsx';

const TENANT = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;
const COMMAND = /^mc_[0-9a-f]{32}$/;
const problemOf = (e: unknown): Problem => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });

interface Reading {
  counter: number;
  meterTime: number;
  receivedAt: number;
  importWh: number;
  exportWh: number;
  powerW: number;
  flags: string[];
}

/** A typed address of another tenant is refused before anything is asked of the server. */
function guard(myTenant: string | null, tenant: string): Problem | undefined {
  if (myTenant !== null && myTenant !== tenant) return { code: 'TENANT_FORBIDDEN', message: `this belongs to another tenant; you are signed in for tenant ${myTenant}` };
  if (!TENANT.test(tenant)) return { code: 'TENANT_NOT_FOUND', message: 'there is no such tenant' };
  return undefined;
}

export function MeterDetail({ tenant, id }: { tenant: string; id: string }) {
  const { me } = useSession();
  const refused = guard(me.tenant, tenant) ?? (METER_ID.test(id) ? undefined : { code: 'METER_NOT_FOUND', message: 'there is no such meter' });
  if (refused) return <ErrorNote error={refused} />;
  return <MeterView tenant={tenant} id={id} />;
}

function MeterView({ tenant, id }: { tenant: string; id: string }) {
  const { api, me } = useSession();
  const base = `/v1/metering/tenants/${encodeURIComponent(tenant)}/meters/${encodeURIComponent(id)}`;
  const meter = useLoad((signal) => api.get<Meter>(base, signal), [api, base]);
  const readings = useLoad(
    async (signal) => {
      const m = await api.get<Meter>(base, signal);
      return api.get<Reading[]>(`${base}/readings${q({ after: m.lastCounter > 100 ? m.lastCounter - 100 : undefined, limit: 100 })}`, signal);
    },
    [api, base],
  );
  const alerts = useLoad((signal) => api.get<MeterAlert[]>(`/v1/metering/tenants/${encodeURIComponent(tenant)}/alerts${q({ meter: id, limit: 50 })}`, signal), [api, tenant, id]);
  const [customer, setCustomer] = useState<{ name: string; address: string; protected: boolean } | undefined>(undefined);
  const [error, setError] = useState<Problem | undefined>(undefined);

  if (meter.error) return <ErrorNote error={meter.error} />;
  const m = meter.data;
  if (!m) return <p className="muted">…</p>;
  const list = [...(readings.data ?? [])].reverse();

  async function showCustomer() {
    try {
      setCustomer(await api.get(`${base}/customer`));
      setError(undefined);
    } catch (e) {
      setError(problemOf(e));
    }
  }

  return (
    <section aria-labelledby="meter-title" data-testid="meter-detail">
      <div className="page-head">
        <h1 id="meter-title">
          Meter <span className="mono">{m.id}</span>
        </h1>
        <span className={`badge ${m.relay === 'connected' ? 'ok' : 'warn'}`} data-testid="meter-relay">
          {m.relay}
        </span>
      </div>
      <p>
        <a href="#/meters">← all meters</a>
      </p>
      <ErrorNote error={error} />
      <div className="grid">
        <article className="card">
          <dl className="fields">
            <dt>Tenant</dt>
            <dd>{m.tenant}</dd>
            <dt>District</dt>
            <dd>{m.district}</dd>
            <dt>Class</dt>
            <dd>{m.class}</dd>
            <dt>Tariff</dt>
            <dd>{m.tariffId ?? '—'}</dd>
            <dt>Last counter</dt>
            <dd>{m.lastCounter}</dd>
            <dt>Last reading</dt>
            <dd>{formatTime(m.lastReadingAt)}</dd>
          </dl>
          {hasRole(me, 'tenant-admin', 'operator') ? (
            customer ? (
              <dl className="fields" data-testid="customer">
                <dt>Customer</dt>
                <dd>{customer.name}</dd>
                <dt>Address</dt>
                <dd>{customer.address}</dd>
                <dt>Protected</dt>
                <dd>{customer.protected ? 'yes: commands need a second approver' : 'no'}</dd>
              </dl>
            ) : (
              <button type="button" onClick={() => void showCustomer()}>
                Show customer data (the read is audited)
              </button>
            )
          ) : null}
        </article>
        <article className="card">
          <Sparkline values={list.map((r) => r.powerW).reverse()} label="Power" unit="W" />
        </article>
      </div>
      <h2>Readings</h2>
      <ErrorNote error={readings.error} />
      <table data-testid="readings">
        <thead>
          <tr>
            <th>Counter</th>
            <th>Meter time</th>
            <th>Import</th>
            <th>Export</th>
            <th>Power</th>
            <th>Plausibility</th>
          </tr>
        </thead>
        <tbody>
          {list.slice(0, 50).map((r) => (
            <tr key={r.counter}>
              <td>{r.counter}</td>
              <td className="small">{formatTime(r.meterTime)}</td>
              <td>{r.importWh} Wh</td>
              <td>{r.exportWh} Wh</td>
              <td>{r.powerW} W</td>
              <td>{r.flags.length ? r.flags.map((f) => <span key={f} className="badge warn">{f}</span>) : <span className="muted">ok</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Alerts</h2>
      <ErrorNote error={alerts.error} />
      <ul className="plain">
        {(alerts.data ?? []).map((a) => (
          <li key={a.id}>
            <span className={`badge ${SEVERITY_TONE[a.severity] ?? ''}`}>{a.severity}</span> <code>{a.kind}</code> ×{a.count}, last {formatTime(a.lastAt)}
          </li>
        ))}
        {alerts.data?.length === 0 ? <li className="muted">no alerts for this meter</li> : null}
      </ul>
    </section>
  );
}

export function CommandDetail({ tenant, id }: { tenant: string; id: string }) {
  const { me } = useSession();
  const refused = guard(me.tenant, tenant) ?? (COMMAND.test(id) ? undefined : { code: 'METER_COMMAND_NOT_FOUND', message: 'there is no such command' });
  if (refused) return <ErrorNote error={refused} />;
  return <CommandView tenant={tenant} id={id} />;
}

function CommandView({ tenant, id }: { tenant: string; id: string }) {
  const { api, me } = useSession();
  const base = `/v1/metering/tenants/${encodeURIComponent(tenant)}/commands/${id}`;
  const cmd = useLoad((signal) => api.get<Command>(base, signal), [api, base]);
  const [confirm, setConfirm] = useState<'approve' | 'cancel' | undefined>(undefined);
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  async function act(verb: 'approve' | 'cancel' | 'dispatch') {
    setBusy(true);
    try {
      await api.post(`${base}/${verb}`);
      setError(undefined);
      cmd.reload();
    } catch (e) {
      setError(problemOf(e));
    } finally {
      setBusy(false);
      setConfirm(undefined);
    }
  }

  if (cmd.error) return <ErrorNote error={cmd.error} />;
  const c = cmd.data;
  if (!c) return <p className="muted">…</p>;
  const operator = hasRole(me, 'operator');
  const mine = c.requestedBy === `token:${me.tokenId}`;
  const approved = c.approvals.includes(`token:${me.tokenId}`);

  return (
    <section aria-labelledby="command-title" data-testid="command-detail">
      <div className="page-head">
        <h1 id="command-title">
          {c.action} <span className="muted">to {c.meterCount} meter{c.meterCount === 1 ? '' : 's'}</span>
        </h1>
        <span className={`badge ${COMMAND_TONE[c.state] ?? ''}`} data-testid="command-state">
          {c.state}
        </span>
      </div>
      <p>
        <a href="#/meters">← meters and commands</a>
      </p>
      <ErrorNote error={error} title="Not done" />
      <div className="grid">
        <article className="card">
          <dl className="fields">
            <dt>Command</dt>
            <dd className="mono">{c.id}</dd>
            <dt>Reason</dt>
            <dd>{c.reason}</dd>
            {c.args.tariffId !== undefined ? (
              <>
                <dt>Tariff</dt>
                <dd>{c.args.tariffId}</dd>
              </>
            ) : null}
            <dt>Requested</dt>
            <dd>
              {formatTime(c.requestedAt)} by <span className="mono">{c.requestedBy}</span>
            </dd>
            <dt>Approve by</dt>
            <dd>{formatTime(c.approveBy)}</dd>
            {c.dispatchedAt ? (
              <>
                <dt>Dispatched</dt>
                <dd>
                  {formatTime(c.dispatchedAt)}, valid at the meters until {formatTime(c.expiresAt)}
                </dd>
              </>
            ) : null}
            {c.refusal ? (
              <>
                <dt>Refused</dt>
                <dd>
                  <code>{c.refusal}</code>
                </dd>
              </>
            ) : null}
          </dl>
        </article>
        <article className="card" data-testid="approvals">
          <h2>
            Approvals {c.approvals.length} of {c.approvalsRequired}
          </h2>
          <ul className="plain">
            {c.approvals.map((a) => (
              <li key={a} className="mono">
                ✓ {a}
              </li>
            ))}
          </ul>
          {operator && c.state === 'awaiting-approval' ? (
            <div className="actions left">
              {mine ? (
                <span className="muted small">You requested this command; another operator approves it.</span>
              ) : approved ? (
                <span className="muted small">You approved it; it waits for another operator.</span>
              ) : (
                <button type="button" className="primary" onClick={() => setConfirm('approve')}>
                  Approve…
                </button>
              )}
              <button type="button" onClick={() => setConfirm('cancel')}>
                Cancel the command…
              </button>
            </div>
          ) : null}
          {operator && c.state === 'dispatched' && (c.targets ?? []).some((t) => t.sentAt === null) ? (
            <button type="button" onClick={() => void act('dispatch')} disabled={busy}>
              Dispatch again
            </button>
          ) : null}
        </article>
      </div>
      <h2>Meters</h2>
      <table data-testid="targets">
        <thead>
          <tr>
            <th>Meter</th>
            <th>District</th>
            <th>State</th>
            <th>Counter</th>
            <th>Sent</th>
            <th>Acknowledged</th>
          </tr>
        </thead>
        <tbody>
          {(c.targets ?? []).map((t) => (
            <tr key={t.meterId} data-target={t.meterId} data-state={t.state}>
              <td className="mono">
                <a href={`#/meters/${encodeURIComponent(tenant)}/${encodeURIComponent(t.meterId)}`}>{t.meterId}</a>
              </td>
              <td>{t.district}</td>
              <td>{t.state}</td>
              <td>{t.counter ?? '—'}</td>
              <td className="small">{formatTime(t.sentAt)}</td>
              <td className="small">
                {formatTime(t.ackedAt)}
                {t.result ? ` (${t.result})` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {confirm === 'approve' ? (
        <Confirm title="Approve command" word="approve" busy={busy} onCancel={() => setConfirm(undefined)} onConfirm={() => void act('approve')}>
          <p>
            <strong>{c.action}</strong> for {c.meterCount} meter{c.meterCount === 1 ? '' : 's'}: “{c.reason}”. The last approval needed dispatches it at once, signed by the vault.
          </p>
        </Confirm>
      ) : null}
      {confirm === 'cancel' ? (
        <Confirm title="Cancel command" word="cancel" busy={busy} onCancel={() => setConfirm(undefined)} onConfirm={() => void act('cancel')}>
          <p>The command is dropped; nothing reaches the meters.</p>
        </Confirm>
      ) : null}
    </section>
  );
}
