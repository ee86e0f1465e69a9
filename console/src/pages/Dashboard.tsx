import { useEffect, useRef, useState } from 'react';
import { ApiError, hasRole } from '../api.ts';
import { Bars } from '../components/Bars.tsx';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { Sparkline } from '../components/Sparkline.tsx';
import { VaultBadge, type VaultStatus } from '../components/VaultBadge.tsx';
import { formatTime } from '../format.ts';
import { usePoll } from '../hooks.ts';
import { verifyAdvance, verifyCheckpointAnswer, type CheckpointAnswer, type WatchedHead } from '../lib/audit-proof.ts';
import { httpCounts, rate, samples, type HttpCounts } from '../lib/metrics.ts';
import { useSession } from '../session-context.ts';
import { SEVERITY_TONE, type MeterAlert } from './Meters.tsx';

const WINDOW = 60;
/** The dashboard refreshes more often than once a second, so a slow answer or a late timer still leaves one refresh in every second. */
export const REFRESH_MS = 750;

interface Tenant {
  id: string;
  name: string;
  status: string;
}

interface LogWatch {
  checkpointSize: number;
  /** When the latest checkpoint was signed (ms), when the server says. */
  checkpointAt?: number;
  vkey: string;
  /** Checkpoints whose signature and consistency with the previous one this browser verified. */
  verified: number;
  failure?: Problem;
}

interface View {
  at: number;
  vault?: VaultStatus;
  auditSize?: number;
  tenants?: Tenant[];
  requests: number[];
  audit: number[];
  /** Meter frames stored per second (citytrust_meter_frames_stored). */
  meters: number[];
  metersStored?: number;
  byClass: Record<string, number>;
  taps?: { now: ReaderStats; since: ReaderStats; rates: number[] };
  alerts?: (MeterAlert & { tenant: string })[];
}

interface ReaderStats {
  readers: number;
  events: number;
  granted: number;
  denied: number;
  alerts: number;
  byReason: Record<string, number>;
}

const problemOf = (e: unknown): Problem => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });

/**
 * Refreshes every second (a poll never overlaps the previous one). An auditor's dashboard also
 * watches the audit log: each new checkpoint's signature and its consistency with the last one
 * are verified in this browser (RFC 9162 §2.1.4.2), so a rewritten history shows up here.
 */
export function Dashboard() {
  const { api, me } = useSession();
  const auditor = hasRole(me, 'auditor');
  const [view, setView] = useState<View>({ at: 0, requests: [], audit: [], meters: [], byClass: {} });
  const [error, setError] = useState<Problem | undefined>(undefined);
  const pushes = useStatusPushes();
  const last = useRef<{ t: number; http?: HttpCounts; auditSize?: number; metersStored?: number; firstHttp?: HttpCounts; taps?: ReaderStats; firstTaps?: ReaderStats; tick: number }>({ t: 0, tick: 0 });
  const readers = hasRole(me, 'operator', 'tenant-admin', 'auditor');
  const watched = useLogWatch(auditor);

  usePoll(async (signal) => {
    const prev = last.current;
    const tick = prev.tick + 1;
    try {
      // One round trip a second: two requests (three every fifth second); the audit log size
      // comes with the metrics. The log watch runs on its own (useLogWatch), so its proofs
      // never delay this refresh.
      // Meter alerts every fifth second, in the same round trip, for the tenants in scope (a
      // city-wide token: the first ten it knows of).
      const alertTenants = me.tenant !== null ? [me.tenant] : (view.tenants ?? []).slice(0, 10).map((t) => t.id);
      const wantAlerts = readers && alertTenants.length > 0 && (tick % 5 === 1 || view.alerts === undefined);
      const [vault, metricsText, tenants, taps, alertLists] = await Promise.all([
        api.get<VaultStatus>('/v1/vault/status', signal),
        api.text('/metrics', signal),
        tick % 5 === 1 || view.tenants === undefined ? api.get<Tenant[]>('/v1/tenants', signal) : Promise.resolve(view.tenants),
        readers ? api.get<ReaderStats>('/v1/readers/stats', signal) : Promise.resolve(undefined),
        wantAlerts
          ? Promise.all(alertTenants.map((t) => api.get<MeterAlert[]>(`/v1/metering/tenants/${encodeURIComponent(t)}/alerts?limit=5`, signal).then((list) => list.map((a) => ({ ...a, tenant: t })))))
          : Promise.resolve(undefined),
      ]);
      const alerts = alertLists
        ? alertLists
            .flat()
            .sort((a, b) => b.lastAt - a.lastAt)
            .slice(0, 8)
        : view.alerts;

      const now = performance.now();
      const http = httpCounts(metricsText);
      const ready = { auditSize: samples(metricsText, 'citytrust_audit_log_size')[0]?.value ?? 0 };
      const metersStored = samples(metricsText, 'citytrust_meter_frames_stored')[0]?.value;
      const dt = (now - prev.t) / 1000;
      const reqRate = prev.http ? rate(prev.http.total, http.total, dt) : 0;
      const auditRate = prev.auditSize !== undefined ? rate(prev.auditSize, ready.auditSize, dt) : 0;
      const meterRate = prev.metersStored !== undefined && metersStored !== undefined ? rate(prev.metersStored, metersStored, dt) : 0;

      const tapRate = taps && prev.taps ? rate(prev.taps.events, taps.events, dt) : 0;
      const firstTaps = prev.firstTaps ?? taps;
      const firstHttp = prev.firstHttp ?? http;
      const byClass: Record<string, number> = {};
      for (const [k, v] of Object.entries(http.byClass)) byClass[k] = v - (firstHttp.byClass[k] ?? 0);
      last.current = { t: now, http, auditSize: ready.auditSize, firstHttp, tick, ...(metersStored !== undefined ? { metersStored } : {}), ...(taps ? { taps } : {}), ...(firstTaps ? { firstTaps } : {}) };
      setView((v) => ({
        at: Date.now(),
        vault,
        auditSize: ready.auditSize,
        tenants,
        ...(alerts ? { alerts } : {}),
        requests: prev.http ? [...v.requests, reqRate].slice(-WINDOW) : v.requests,
        audit: prev.auditSize !== undefined ? [...v.audit, auditRate].slice(-WINDOW) : v.audit,
        meters: prev.metersStored !== undefined ? [...v.meters, meterRate].slice(-WINDOW) : v.meters,
        ...(metersStored !== undefined ? { metersStored } : {}),
        byClass,
        ...(taps && firstTaps ? { taps: { now: taps, since: firstTaps, rates: prev.taps ? [...(v.taps?.rates ?? []), tapRate].slice(-WINDOW) : (v.taps?.rates ?? []) } } : {}),
      }));
      setError(undefined);
    } catch (e) {
      if (!signal.aborted) setError(problemOf(e));
      last.current = { ...prev, tick };
    }
  }, REFRESH_MS);

  const v = view.vault;
  const log = watched;
  return (
    <section aria-labelledby="dash-title">
      <div className="page-head">
        <h1 id="dash-title">Dashboard</h1>
        <span className="live" data-testid="updated" data-at={view.at}>
          {view.at ? `updated ${formatTime(view.at).slice(11)}` : 'loading…'}
        </span>
      </div>
      <ErrorNote error={error} title="Could not refresh" />
      <div className="grid">
        <article className="card" aria-labelledby="card-vault">
          <h2 id="card-vault">Key vault</h2>
          {v ? (
            <>
              <p>
                <VaultBadge state={v.state} /> <span className="muted">{v.backend} backend</span>
              </p>
              {v.state === 'sealed' && v.unseal ? (
                <p>
                  Unseal shares received: {v.unseal.received} of {v.unseal.threshold}
                </p>
              ) : null}
              {v.tamper ? (
                <p className="alert" role="alert">
                  Tamper response at {formatTime(v.tamper.at)} ({v.tamper.source}): {v.tamper.reason}
                </p>
              ) : null}
              <a href="#/vault">Vault details →</a>
            </>
          ) : (
            <p className="muted">…</p>
          )}
        </article>

        <article className="card" aria-labelledby="card-log">
          <h2 id="card-log">Audit log</h2>
          <p className="big" data-testid="audit-size">
            {view.auditSize ?? '…'} <small>events</small>
          </p>
          {log ? (
            <>
              <p>
                Latest signed checkpoint: {log.checkpointSize} events{' '}
                <span className="muted">({Math.max(0, (view.auditSize ?? 0) - log.checkpointSize)} not yet checkpointed)</span>
                {log.checkpointAt !== undefined && view.at ? (
                  <>
                    {' '}
                    signed <span data-testid="checkpoint-age">{Math.max(0, Math.round((view.at - log.checkpointAt) / 1000))} s ago</span>
                  </>
                ) : null}
              </p>
              {log.failure ? (
                <ErrorNote error={log.failure} title="The audit log failed a check in this browser" />
              ) : (
                <p className="verified" data-testid="log-watch">
                  ✓ {log.verified} checkpoint{log.verified === 1 ? '' : 's'} verified in this browser since sign-in: Ed25519 signature, and each one extends the last (RFC 9162 consistency)
                </p>
              )}
              <p className="muted mono small wrap" title="the log's verifier key (signed-note vkey)">
                {log.vkey}
              </p>
            </>
          ) : auditor ? (
            <p className="muted">waiting for the first checkpoint…</p>
          ) : (
            <p className="muted">Checkpoints and proofs need the auditor role.</p>
          )}
        </article>

        <article className="card" aria-labelledby="card-tenants">
          <h2 id="card-tenants">{me.tenant ? 'Your tenant' : 'Tenants'}</h2>
          <p className="big">{view.tenants?.length ?? '…'}</p>
          <ul className="plain">
            {(view.tenants ?? []).slice(0, 8).map((t) => (
              <li key={t.id}>
                <a href={`#/tenants/${encodeURIComponent(t.id)}`}>{t.name}</a> <span className="muted">{t.id}</span>
              </li>
            ))}
          </ul>
        </article>

        {view.alerts ? (
          <article className="card" aria-labelledby="card-alerts" data-testid="alerts">
            <h2 id="card-alerts">Meter alerts</h2>
            {view.alerts.length === 0 ? <p className="muted">No alerts.</p> : null}
            <ul className="plain small">
              {view.alerts.map((a) => (
                <li key={`${a.tenant}/${a.id}`}>
                  <span className={`badge ${SEVERITY_TONE[a.severity] ?? ''}`}>{a.severity}</span> <code>{a.kind}</code>{' '}
                  <a href={`#/meters/${encodeURIComponent(a.tenant)}/${encodeURIComponent(a.meterId)}`}>{a.meterId}</a> ×{a.count} <span className="muted">{formatTime(a.lastAt).slice(11)}</span>
                </li>
              ))}
            </ul>
            <p className="muted small">Refused frames, implausible readings, tamper events and refused commands, newest first.</p>
          </article>
        ) : null}

        <article className="card" aria-labelledby="card-status">
          <h2 id="card-status">Status pushed to readers</h2>
          <p className="big" data-testid="status-pushes">
            {pushes.count} <small>list versions since you opened this page</small>
          </p>
          <ul className="plain small">
            {pushes.recent.map((p) => (
              <li key={`${p.list}-${p.version}`}>
                {formatTime(p.at).slice(11)} <span className="mono">ct:{p.list}</span> version {p.version}
              </li>
            ))}
          </ul>
          <p className="muted small">Every revocation or suspension publishes a new status list version at once, announced to online readers over server-sent events.</p>
        </article>

        {view.taps ? (
          <article className="card wide" aria-labelledby="card-taps" data-testid="taps">
            <h2 id="card-taps">Taps at readers</h2>
            <div className="charts">
              <Sparkline values={view.taps.rates} label="Taps uploaded" unit="/s" />
              <Bars
                label="Decisions since you opened the dashboard"
                items={[
                  { key: 'granted', value: view.taps.now.granted - view.taps.since.granted, tone: 'ok' as const },
                  { key: 'denied', value: view.taps.now.denied - view.taps.since.denied, tone: 'bad' as const },
                ]}
              />
              <Bars
                label="Denials by reason since you opened the dashboard"
                items={Object.entries(view.taps.now.byReason)
                  .map(([key, value]) => ({ key, value: value - (view.taps?.since.byReason[key] ?? 0), tone: 'bad' as const }))
                  .filter((i) => i.value > 0)
                  .sort((a, b) => b.value - a.value)}
              />
            </div>
            <p className="muted small">
              {view.taps.now.readers} readers; {view.taps.now.events} taps in all ({view.taps.now.granted} granted, {view.taps.now.denied} denied){view.taps.now.alerts > 0 ? `; ${view.taps.now.alerts} alerts` : ''}. Decided offline at the readers, counted when they upload. <a href="#/readers">Readers →</a>
            </p>
          </article>
        ) : null}
        <article className="card wide" aria-labelledby="card-traffic">
          <h2 id="card-traffic">Traffic (last {WINDOW} s, this server)</h2>
          <div className="charts">
            <Sparkline values={view.requests} label="API requests" unit="/s" />
            <Sparkline values={view.audit} label="Audit events" unit="/s" />
            <Sparkline values={view.meters} label="Meter frames stored" unit="/s" />
            <Bars
              label="API answers since you opened the dashboard"
              items={Object.entries(view.byClass)
                .filter(([, value]) => value > 0)
                .sort()
                .map(([key, value]) => ({ key, value, tone: key.startsWith('2') || key.startsWith('3') ? 'ok' : key.startsWith('4') ? 'warn' : 'bad' }))}
            />
          </div>
          <p className="muted small">
            Refreshed every {REFRESH_MS} ms.{view.metersStored !== undefined ? ` ${view.metersStored} meter frames stored by this server since it started.` : ''}
          </p>
        </article>
      </div>
    </section>
  );
}

interface Push {
  list: string;
  version: number;
  at: number;
}

/** Status list versions announced on /v1/status/events (public, the same stream online readers follow). */
function useStatusPushes(): { count: number; recent: Push[] } {
  const [state, setState] = useState<{ count: number; recent: Push[] }>({ count: 0, recent: [] });
  useEffect(() => {
    const events = new EventSource('/v1/status/events');
    events.addEventListener('status', (ev) => {
      try {
        const d = JSON.parse((ev as MessageEvent<string>).data) as { list?: unknown; version?: unknown };
        if (typeof d.list !== 'string' || typeof d.version !== 'number') return;
        const push = { list: d.list, version: d.version, at: Date.now() };
        setState((s) => ({ count: s.count + 1, recent: [push, ...s.recent].slice(0, 5) }));
      } catch {
        // a malformed event is skipped
      }
    });
    return () => events.close();
  }, []);
  return state;
}

/**
 * An auditor's watch over the audit log, on its own one-second poll: each new checkpoint's
 * Ed25519 signature and its RFC 9162 consistency with the last verified one are checked in this
 * browser. A failure sticks: the card stays red until the page is reloaded.
 */
function useLogWatch(auditor: boolean): LogWatch | undefined {
  const { api } = useSession();
  const [log, setLog] = useState<LogWatch | undefined>(undefined);
  const head = useRef<WatchedHead | undefined>(undefined);
  const current = useRef<LogWatch | undefined>(undefined);
  usePoll(async (signal) => {
    const prev = current.current;
    if (!auditor || prev?.failure) return;
    const checkpoint = await api.get<CheckpointAnswer>('/v1/audit/checkpoint', signal);
    if (checkpoint.size === 0 || checkpoint.size === prev?.checkpointSize) return;
    let next: LogWatch;
    try {
      const { checkpoint: cp, vkey } = await verifyCheckpointAnswer(checkpoint);
      head.current = await verifyAdvance(head.current, cp, {
        checkpoint: async () => checkpoint,
        inclusion: () => Promise.reject(new Error('unused')),
        consistency: (from, to) => api.get(`/v1/audit/proof/consistency?from=${from}&to=${to}`, signal),
      });
      next = { checkpointSize: cp.size, vkey, verified: (prev?.verified ?? 0) + 1, ...(typeof checkpoint.createdAt === 'number' ? { checkpointAt: checkpoint.createdAt } : {}) };
    } catch (e) {
      if (signal.aborted) throw e;
      const p = problemOf(e);
      next = { checkpointSize: checkpoint.size, vkey: prev?.vkey ?? '', verified: prev?.verified ?? 0, failure: { code: (e as { code?: string }).code ?? p.code, message: (e as Error).message ?? p.message } };
    }
    current.current = next;
    setLog(next);
  }, 1000);
  return log;
}
