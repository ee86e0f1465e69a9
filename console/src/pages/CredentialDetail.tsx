import { useEffect, useState } from 'react';
import { ApiError, hasRole } from '../api.ts';
import { Confirm } from '../components/Confirm.tsx';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { readStatusListToken, statusAt, type CredentialStatus } from '../lib/status-list.ts';
import { useSession } from '../session-context.ts';
import { StatusBadge, type Credential } from './Credentials.tsx';

const ID = /^[0-9a-f]{16}$/;
const LIST = /^[a-z0-9]{4,32}$/;
type Verb = 'suspend' | 'resume' | 'revoke';

const problemOf = (e: unknown): Problem => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });

export function CredentialDetail({ id }: { id: string }) {
  const { api, me } = useSession();
  const valid = ID.test(id);
  const cred = useLoad((signal) => (valid ? api.get<Credential>(`/v1/credentials/${id}`, signal) : Promise.resolve(undefined)), [api, id, valid]);
  const [confirm, setConfirm] = useState<Verb | undefined>(undefined);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  if (!valid) return <ErrorNote error={{ code: 'CREDENTIAL_NOT_FOUND', message: 'a credential id is 16 hex digits' }} />;
  if (cred.error) return <ErrorNote error={cred.error} />;
  const c = cred.data;
  if (!c) return <p className="muted">…</p>;
  const issuer = hasRole(me, 'issuer');

  async function act(verb: Verb) {
    setBusy(true);
    try {
      await api.post(`/v1/credentials/${id}/${verb}`, reason.trim() ? { reason: reason.trim() } : {});
      setError(undefined);
      setReason('');
      cred.reload();
    } catch (e) {
      setError(problemOf(e));
    } finally {
      setBusy(false);
      setConfirm(undefined);
    }
  }

  return (
    <section aria-labelledby="credential-title" data-testid="credential-detail">
      <div className="page-head">
        <h1 id="credential-title">
          Credential <span className="mono">{c.id}</span>
        </h1>
        <StatusBadge status={c.status} />
      </div>
      <p>
        <a href="#/credentials">← all credentials</a>
      </p>
      <ErrorNote error={error} title="Not changed" />
      <div className="grid">
        <article className="card">
          <dl className="fields">
            <dt>Tenant</dt>
            <dd>{c.tenant}</dd>
            <dt>Template</dt>
            <dd>{c.template ?? '—'}</dd>
            <dt>Wallet</dt>
            <dd className="mono">{c.wallet}</dd>
            <dt>Valid</dt>
            <dd>
              {formatTime(c.validFrom * 1000)} – {formatTime(c.validUntil * 1000)}
            </dd>
            <dt>Issued</dt>
            <dd>
              {formatTime(c.issuedAt * 1000)} by issuer key <span className="mono">{c.issuerKid}</span>
            </dd>
            <dt>Size</dt>
            <dd>{c.size} bytes (COSE_Sign1 CWT)</dd>
            <dt>Status slot</dt>
            <dd className="mono">
              ct:{c.statusList} #{c.statusIndex}
            </dd>
            {c.reason ? (
              <>
                <dt>Reason</dt>
                <dd>{c.reason}</dd>
              </>
            ) : null}
            {c.replacedBy ? (
              <>
                <dt>Replaced by</dt>
                <dd>
                  <a href={`#/credentials/${c.replacedBy}`}>{c.replacedBy}</a>
                </dd>
              </>
            ) : null}
          </dl>
          {issuer && c.status !== 'revoked' ? (
            <div className="actions left">
              {c.status === 'active' ? (
                <button type="button" onClick={() => setConfirm('suspend')}>
                  Suspend…
                </button>
              ) : (
                <button type="button" onClick={() => setConfirm('resume')}>
                  Resume…
                </button>
              )}
              <button type="button" className="danger" onClick={() => setConfirm('revoke')}>
                Revoke…
              </button>
            </div>
          ) : null}
        </article>
        <StatusEffect list={c.statusList} index={c.statusIndex} expected={c.status} />
      </div>
      {confirm ? (
        <Confirm title={`${confirm[0]!.toUpperCase()}${confirm.slice(1)} credential`} word={confirm} busy={busy} onCancel={() => setConfirm(undefined)} onConfirm={() => void act(confirm)}>
          <p>
            {confirm === 'revoke'
              ? 'Revoked for good: the status list marks it invalid at once and every reader refuses it once its cached list refreshes. The wallet is told.'
              : confirm === 'suspend'
                ? 'Suspended until resumed: readers refuse it meanwhile. The wallet is told.'
                : 'Readers accept it again once their cached list refreshes.'}
          </p>
          <label>
            Reason (optional, in the audit log)
            <input name="reason" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={200} />
          </label>
        </Confirm>
      ) : null}
    </section>
  );
}

interface Seen {
  version: number | undefined;
  at: number;
  slot: CredentialStatus | undefined;
  error?: string;
}

/**
 * The effect of a status change as readers see it: the public Status List Token, fetched and
 * decoded in this browser whenever the server announces a new version over server-sent events.
 */
function StatusEffect({ list, index, expected }: { list: string; index: number; expected: Credential['status'] }) {
  const [seen, setSeen] = useState<Seen[]>([]);
  useEffect(() => {
    if (!LIST.test(list)) return undefined;
    let stopped = false;
    const read = async (version: number | undefined) => {
      try {
        const r = await fetch(`/v1/status/${list}`, { cache: 'no-store', credentials: 'omit' });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const view = await readStatusListToken(new Uint8Array(await r.arrayBuffer()));
        if (!stopped) setSeen((s) => [{ version, at: Date.now(), slot: statusAt(view, index) }, ...s].slice(0, 8));
      } catch (e) {
        if (!stopped) setSeen((s) => [{ version, at: Date.now(), slot: undefined, error: (e as Error).message }, ...s].slice(0, 8));
      }
    };
    void read(undefined);
    const events = new EventSource('/v1/status/events');
    events.addEventListener('status', (ev) => {
      try {
        const d = JSON.parse((ev as MessageEvent<string>).data) as { list?: unknown; version?: unknown };
        if (d.list === list) void read(typeof d.version === 'number' ? d.version : undefined);
      } catch {
        // a malformed event is ignored; the next one re-reads the list
      }
    });
    return () => {
      stopped = true;
      events.close();
    };
  }, [list, index]);
  const want: CredentialStatus = expected === 'active' ? 'valid' : expected;
  const latest = seen[0];
  return (
    <article className="card" aria-labelledby="effect-title" data-testid="status-effect">
      <h2 id="effect-title">What readers see</h2>
      <p className="small muted">
        The public Status List Token <code>/v1/status/{list}</code>, re-read when the server announces a new version (server-sent events) and decoded in this browser: slot #{index}.
      </p>
      {latest ? (
        <p data-testid="status-slot" data-slot={latest.slot ?? 'error'}>
          Slot now reads <strong>{latest.slot ?? `unreadable (${latest.error})`}</strong>
          {latest.slot === want ? <span className="verified"> ✓ matches the credential's status</span> : <span className="muted"> (the credential is {expected}; waiting for the next list version)</span>}
        </p>
      ) : (
        <p className="muted">reading…</p>
      )}
      <ul className="plain small">
        {seen.map((s, i) => (
          <li key={`${s.at}-${i}`}>
            {formatTime(s.at).slice(11)} {s.version !== undefined ? `version ${s.version} announced` : 'first read'}: {s.slot ?? s.error}
          </li>
        ))}
      </ul>
      <p className="small muted">The browser does not check this token's signature here; readers do, against the tenant's issuer key from the trust list.</p>
    </article>
  );
}
