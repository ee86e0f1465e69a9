import { useState } from 'react';
import { q } from '../api.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { formatTime } from '../format.ts';
import { navigate, useLoad } from '../hooks.ts';
import type { AuditEventRow } from '../lib/leaf.ts';
import { useSession } from '../session-context.ts';
import { EventDetail } from './AuditEvent.tsx';

export type EventRow = AuditEventRow & { leafHash: string };

const PAGE = 50;
const SEQ = /^(0|[1-9][0-9]{0,15})$/;

/**
 * The audit log, a page of events at a time (newest page first). Opening an event shows its
 * fields and lets the browser verify it against the signed log (AuditEvent.tsx).
 */
export function Audit({ selected }: { selected: string | undefined }) {
  const { api } = useSession();
  const [after, setAfter] = useState<number | 'newest'>('newest');
  const [action, setAction] = useState('');
  const [filter, setFilter] = useState('');
  const [jump, setJump] = useState('');
  const page = useLoad(
    async (signal) => {
      let from: number | undefined;
      if (after === 'newest') {
        const { auditSize } = await api.get<{ auditSize: number }>('/readyz', signal);
        from = auditSize > PAGE ? auditSize - PAGE - 1 : undefined;
      } else from = after < 0 ? undefined : after;
      const events = await api.get<EventRow[]>(`/v1/audit/events${q({ after: from, limit: PAGE, action: filter })}`, signal);
      return { from, events };
    },
    [api, after, filter],
  );
  const events = page.data?.events ?? [];
  const first = events[0]?.seq;
  const last = events.at(-1)?.seq;

  return (
    <section aria-labelledby="audit-title">
      <div className="page-head">
        <h1 id="audit-title">Audit log</h1>
      </div>
      {selected !== undefined ? <EventDetail key={selected} seq={selected} /> : null}
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(action.trim());
          setAfter('newest');
        }}
      >
        <label>
          Action
          <input name="action" value={action} onChange={(e) => setAction(e.target.value)} placeholder="e.g. token.create" maxLength={100} autoComplete="off" />
        </label>
        <button type="submit">Filter</button>
        <span className="spacer" />
        <button type="button" onClick={() => setAfter(-1)}>
          Oldest
        </button>
        <button type="button" disabled={first === undefined || first === 0} onClick={() => setAfter(Math.max(-1, (first ?? 0) - PAGE - 1))}>
          ← Older
        </button>
        <button type="button" disabled={last === undefined || events.length < PAGE} onClick={() => setAfter(last ?? -1)}>
          Newer →
        </button>
        <button type="button" onClick={() => (after === 'newest' ? page.reload() : setAfter('newest'))}>
          Newest
        </button>
      </form>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (SEQ.test(jump)) navigate(`/audit/${jump}`);
        }}
      >
        <label>
          Event #
          <input name="jump" value={jump} onChange={(e) => setJump(e.target.value)} inputMode="numeric" autoComplete="off" />
        </label>
        <button type="submit">Open</button>
      </form>
      <ErrorNote error={page.error} />
      <table data-testid="events">
        <thead>
          <tr>
            <th>#</th>
            <th>Time</th>
            <th>Tenant</th>
            <th>Action</th>
            <th>Actor</th>
            <th>Subject</th>
          </tr>
        </thead>
        <tbody>
          {events.length === 0 && page.data ? (
            <tr>
              <td colSpan={6} className="muted">
                no events visible to you here
              </td>
            </tr>
          ) : null}
          {[...events].reverse().map((e) => (
            <tr key={e.seq} data-seq={e.seq} className={String(e.seq) === selected ? 'selected' : undefined}>
              <td>
                <a href={`#/audit/${e.seq}`}>{e.seq}</a>
              </td>
              <td>{formatTime(e.ts)}</td>
              <td>{e.tenant ?? <span className="muted">city</span>}</td>
              <td>{e.action}</td>
              <td className="mono">{e.actor}</td>
              <td className="mono">{e.subject}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
