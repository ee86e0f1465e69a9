import { useState } from 'react';
import { ApiError, q } from '../api.ts';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { verifyEvent, type CheckpointAnswer, type EventVerification, type InclusionAnswer, type ProofSource, type StepId } from '../lib/audit-proof.ts';
import { useSession } from '../session-context.ts';
import type { EventRow } from './Audit.tsx';

const SEQ = /^(0|[1-9][0-9]{0,15})$/;
const PIN_KEY = 'citytrust.pinnedVkey';

const STEP_TITLES: Record<StepId, string> = {
  leaf: 'The event as shown is the event the log stored',
  signature: 'The checkpoint is signed by the log key',
  inclusion: 'The event is in the signed log',
};

function pinned(): string {
  try {
    return sessionStorage.getItem(PIN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function EventDetail({ seq }: { seq: string }) {
  const { api } = useSession();
  const valid = SEQ.test(seq) && Number.isSafeInteger(Number(seq));
  const n = Number(seq);
  const found = useLoad(
    async (signal) => {
      if (!valid) return undefined;
      const events = await api.get<EventRow[]>(`/v1/audit/events${q({ after: n > 0 ? n - 1 : undefined, limit: 1 })}`, signal);
      // A tenant's auditor asking for another tenant's event gets that tenant's next event
      // instead; it is not the one asked for, so the page says "not found" and shows nothing.
      return events[0]?.seq === n ? events[0] : undefined;
    },
    [api, seq],
  );
  const [result, setResult] = useState<EventVerification | undefined>(undefined);
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [pin, setPin] = useState(pinned);

  if (!valid) return <ErrorNote error={{ code: 'INPUT_INVALID', message: 'an event number is a whole number' }} />;
  if (found.error) return <ErrorNote error={found.error} />;
  if (found.loading && !found.data) return <p className="muted">…</p>;
  const e = found.data;
  if (!e) return <ErrorNote error={{ code: 'NOT_FOUND', message: `no audit event #${seq} is visible to you` }} />;

  const src: ProofSource = {
    checkpoint: () => api.get<CheckpointAnswer>('/v1/audit/checkpoint'),
    inclusion: (index, size) => api.get<InclusionAnswer>(`/v1/audit/proof/inclusion${q({ index, size })}`),
    consistency: (from, to) => api.get(`/v1/audit/proof/consistency${q({ from, to })}`),
  };

  async function verify() {
    setBusy(true);
    setError(undefined);
    try {
      sessionStorage.setItem(PIN_KEY, pin.trim());
      setResult(await verifyEvent(e!, src, pin.trim() === '' ? undefined : pin.trim()));
    } catch (err) {
      setError(err instanceof ApiError ? { code: err.code, message: err.message } : { code: 'NETWORK', message: String(err) });
    } finally {
      setBusy(false);
    }
  }

  let details: string;
  try {
    details = JSON.stringify(JSON.parse(e.details), null, 2);
  } catch {
    details = e.details;
  }

  return (
    <article className="card event" aria-labelledby="event-title" data-testid="event-detail">
      <h2 id="event-title">
        Event #{e.seq} <span className="muted">{e.action}</span>
      </h2>
      <dl className="fields">
        <dt>Time</dt>
        <dd>
          {formatTime(e.ts)} <span className="muted mono">({e.ts})</span>
        </dd>
        <dt>Tenant</dt>
        <dd>{e.tenant ?? 'city-wide'}</dd>
        <dt>Actor</dt>
        <dd className="mono">{e.actor}</dd>
        <dt>Subject</dt>
        <dd className="mono">{e.subject}</dd>
        <dt>Details</dt>
        <dd>
          <pre>{details}</pre>
        </dd>
        <dt>Leaf hash</dt>
        <dd className="mono small">{e.leafHash}</dd>
      </dl>
      <form
        className="toolbar"
        onSubmit={(ev) => {
          ev.preventDefault();
          void verify();
        }}
      >
        <label className="grow">
          Pinned log key (optional)
          <input name="vkey" value={pin} onChange={(ev) => setPin(ev.target.value)} placeholder="name+keyid+base64 — as `citytrust audit checkpoint` prints it" autoComplete="off" spellCheck={false} />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Verifying…' : 'Verify in this browser'}
        </button>
      </form>
      <ErrorNote error={error} title="Could not fetch the proof" />
      {result ? (
        <div className={`verification ${result.ok ? 'ok' : 'failed'}`} data-testid="verification" data-ok={result.ok}>
          <ol>
            {result.steps.map((s) => (
              <li key={s.id} className={s.state} data-step={s.id} data-state={s.state}>
                <span className="mark" aria-hidden="true">
                  {s.state === 'ok' ? '✓' : s.state === 'waiting' ? '…' : '✗'}
                </span>{' '}
                <strong>{STEP_TITLES[s.id]}</strong> {s.code ? <code>{s.code}</code> : null}
                <div className="small">{s.detail}</div>
              </li>
            ))}
          </ol>
          <p className="small" data-testid="verification-summary">
            {result.ok
              ? `Verified in this browser with WebCrypto (SHA-256, Ed25519): event #${e.seq} is in the audit log "${result.checkpoint?.origin}" of ${result.checkpoint?.size} events whose root is signed by ${result.checkpoint?.vkey}.`
              : 'Not verified. The step marked above failed or is waiting.'}{' '}
            {pin.trim() === ''
              ? 'The log key was taken from this server; pin the key published for your city to rule out a server that swapped it.'
              : 'The log key is the one you pinned.'}
          </p>
        </div>
      ) : null}
    </article>
  );
}
