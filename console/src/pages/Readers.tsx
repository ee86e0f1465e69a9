import { q } from '../api.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';

interface Reader {
  tenant: string;
  id: string;
  site: string;
  profile: string;
  firstSeen: number;
  lastSeen: number;
  lastUploadAt: number | null;
  lastSeq: number;
  events: number;
  granted: number;
  denied: number;
  alerts: number;
}

interface TapEvent {
  seq: number;
  at: number;
  receivedAt: number;
  site: string;
  allow: boolean;
  reason: string;
  code: string | null;
  resource: string | null;
  zones: string[] | null;
  credentialId: string | null;
  statusStale: boolean;
  alert: boolean;
}

const READER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const TENANT = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;

/** Readers and gates with their tap counters, and one reader's uploaded tap events. */
export function Readers({ tenant, id }: { tenant: string | undefined; id: string | undefined }) {
  const { api } = useSession();
  const readers = useLoad((signal) => api.get<Reader[]>('/v1/readers', signal), [api]);
  return (
    <section aria-labelledby="readers-title">
      <div className="page-head">
        <h1 id="readers-title">Readers</h1>
      </div>
      <ErrorNote error={readers.error} />
      <table data-testid="readers">
        <thead>
          <tr>
            <th>Reader</th>
            <th>Tenant</th>
            <th>Site</th>
            <th>Last upload</th>
            <th>Taps</th>
            <th>Granted</th>
            <th>Denied</th>
            <th>Alerts</th>
          </tr>
        </thead>
        <tbody>
          {readers.data?.length === 0 ? (
            <tr>
              <td colSpan={8} className="muted">
                no reader has uploaded events yet
              </td>
            </tr>
          ) : null}
          {(readers.data ?? []).map((r) => (
            <tr key={`${r.tenant}/${r.id}`} data-reader={r.id} className={r.id === id && r.tenant === tenant ? 'selected' : undefined}>
              <td className="mono">
                <a href={`#/readers/${encodeURIComponent(r.tenant)}/${encodeURIComponent(r.id)}`}>{r.id}</a>
              </td>
              <td>{r.tenant}</td>
              <td>{r.site}</td>
              <td className="small">{formatTime(r.lastUploadAt)}</td>
              <td>{r.events}</td>
              <td>{r.granted}</td>
              <td>{r.denied}</td>
              <td>{r.alerts > 0 ? <span className="badge bad">{r.alerts}</span> : 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {tenant !== undefined && id !== undefined ? <ReaderEvents key={`${tenant}/${id}`} tenant={tenant} id={id} lastSeq={readers.data?.find((r) => r.tenant === tenant && r.id === id)?.lastSeq} /> : null}
    </section>
  );
}

/** The latest events: the API pages oldest first after a sequence number, so start near the reader's last. */
const SHOWN = 200;

function ReaderEvents({ tenant, id, lastSeq }: { tenant: string; id: string; lastSeq: number | undefined }) {
  const { api, me } = useSession();
  const foreign = me.tenant !== null && me.tenant !== tenant;
  const valid = TENANT.test(tenant) && READER.test(id);
  const events = useLoad(
    (signal) => (foreign || !valid ? Promise.resolve([]) : api.get<TapEvent[]>(`/v1/readers/${encodeURIComponent(id)}/events${q({ tenant: me.tenant === null ? tenant : undefined, after: lastSeq !== undefined && lastSeq > SHOWN ? lastSeq - SHOWN : undefined, limit: SHOWN })}`, signal)),
    [api, tenant, id, foreign, valid, lastSeq],
  );
  if (foreign) return <ErrorNote error={{ code: 'TENANT_FORBIDDEN', message: `this reader belongs to another tenant; you are signed in for tenant ${me.tenant}` }} />;
  if (!valid) return <ErrorNote error={{ code: 'READER_NOT_FOUND', message: 'there is no such reader' }} />;
  const list = [...(events.data ?? [])].reverse();
  return (
    <>
      <h2>
        Taps at <span className="mono">{id}</span>
      </h2>
      <ErrorNote error={events.error} />
      <table data-testid="reader-events">
        <thead>
          <tr>
            <th>#</th>
            <th>At</th>
            <th>Decision</th>
            <th>Reason</th>
            <th>Resource / zones</th>
            <th>Credential</th>
          </tr>
        </thead>
        <tbody>
          {list.map((e) => (
            <tr key={e.seq} data-allow={e.allow} data-reason={e.reason}>
              <td>{e.seq}</td>
              <td className="small">{formatTime(e.at)}</td>
              <td>
                <span className={`badge ${e.allow ? 'ok' : 'bad'}`}>{e.allow ? 'granted' : 'denied'}</span>
                {e.alert ? <span className="badge bad">alert</span> : null}
                {e.statusStale ? <span className="badge warn">stale status</span> : null}
              </td>
              <td>
                {e.reason}
                {e.code ? <code className="small"> {e.code}</code> : null}
              </td>
              <td className="small">{e.resource ?? e.zones?.join(', ') ?? '—'}</td>
              <td className="mono small">{e.credentialId ? <a href={`#/credentials/${e.credentialId}`}>{e.credentialId}</a> : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">Newest first, the latest 200. Events are decided offline at the reader and uploaded signed with its certificate key.</p>
    </>
  );
}
