import { useState } from 'react';
import { ApiError, hasRole, isCityAdmin, q } from '../api.ts';
import { Confirm } from '../components/Confirm.tsx';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { KeysTable } from '../components/KeysTable.tsx';
import { VaultBadge, type VaultStatus } from '../components/VaultBadge.tsx';
import { formatTime } from '../format.ts';
import { useLoad, usePoll } from '../hooks.ts';
import { useSession } from '../session-context.ts';
import type { AuditEventRow } from '../lib/leaf.ts';

const problemOf = (e: unknown): Problem => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });

/** How far back the page looks for vault operations in the audit log. */
const RECENT = 500;

export function Vault() {
  const { api, me } = useSession();
  const city = isCityAdmin(me);
  const [status, setStatus] = useState<VaultStatus | undefined>(undefined);
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [confirm, setConfirm] = useState<'seal' | 'tamper' | undefined>(undefined);
  const [reason, setReason] = useState('');
  const [share, setShare] = useState('');
  const [busy, setBusy] = useState(false);
  const [scope, setScope] = useState<string>('');
  const tenants = useLoad((signal) => (city ? api.get<{ id: string }[]>('/v1/tenants', signal) : Promise.resolve([])), [api, city]);
  const canListKeys = hasRole(me, 'tenant-admin', 'auditor');

  usePoll(async (signal) => {
    try {
      setStatus(await api.get<VaultStatus>('/v1/vault/status', signal));
    } catch (e) {
      if (!signal.aborted) setError(problemOf(e));
    }
  }, 1000);

  async function act(fn: () => Promise<VaultStatus | { unsealed: boolean }>) {
    setBusy(true);
    try {
      const r = await fn();
      if ('state' in r) setStatus(r);
      else setStatus(await api.get<VaultStatus>('/v1/vault/status'));
      setError(undefined);
    } catch (e) {
      setError(problemOf(e));
    } finally {
      setBusy(false);
      setConfirm(undefined);
    }
  }

  return (
    <section aria-labelledby="vault-title">
      <div className="page-head">
        <h1 id="vault-title">Key vault</h1>
      </div>
      <ErrorNote error={error} />
      <div className="grid">
        <article className="card" aria-labelledby="vault-state">
          <h2 id="vault-state">State</h2>
          {status ? (
            <>
              <p>
                <VaultBadge state={status.state} /> <span className="muted">{status.backend} backend</span>
              </p>
              {status.unseal && status.state === 'sealed' ? (
                <p>
                  Unseal shares received: {status.unseal.received} of {status.unseal.threshold}
                </p>
              ) : null}
              {status.tamper ? (
                <p className="alert" role="alert">
                  Tamper response at {formatTime(status.tamper.at)} ({status.tamper.source}): {status.tamper.reason}
                </p>
              ) : null}
            </>
          ) : (
            <p className="muted">…</p>
          )}
        </article>
        {city && status ? (
          <article className="card" aria-labelledby="vault-actions">
            <h2 id="vault-actions">Actions</h2>
            {status.state === 'unsealed' ? (
              <p>
                <button type="button" onClick={() => setConfirm('seal')}>
                  Seal the vault…
                </button>{' '}
                <span className="muted">keys leave memory until the threshold of unseal shares is entered again</span>
              </p>
            ) : null}
            {status.state === 'sealed' ? (
              <form
                className="row"
                onSubmit={(e) => {
                  e.preventDefault();
                  const s = share.trim();
                  setShare('');
                  if (s === '') return setError({ code: 'INPUT_INVALID', message: 'enter one unseal share' });
                  void act(() => api.post('/v1/vault/unseal', { share: s }));
                }}
              >
                <label>
                  Unseal share
                  <input name="share" type="password" autoComplete="off" value={share} onChange={(e) => setShare(e.target.value)} placeholder="cts1-…" />
                </label>
                <button type="submit" className="primary" disabled={busy}>
                  Submit share
                </button>
              </form>
            ) : null}
            {status.state !== 'tampered' ? (
              <p>
                <button type="button" className="danger" onClick={() => setConfirm('tamper')}>
                  Declare tampering (zeroize)…
                </button>
              </p>
            ) : null}
          </article>
        ) : null}
      </div>

      <h2>Keys</h2>
      {city ? (
        <label className="inline">
          Scope{' '}
          <select name="key-scope" value={scope} onChange={(e) => setScope(e.target.value)}>
            <option value="">the city</option>
            {(tenants.data ?? []).map((t) => (
              <option key={t.id} value={t.id}>
                {t.id}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {canListKeys ? <KeysTable tenant={scope === '' ? undefined : scope} manage={hasRole(me, 'city-admin', 'tenant-admin')} /> : <p className="muted">Listing keys needs the tenant-admin or auditor role.</p>}

      {hasRole(me, 'auditor') ? <RecentOperations /> : null}

      {confirm === 'seal' ? (
        <Confirm title="Seal the vault" word="seal" busy={busy} onCancel={() => setConfirm(undefined)} onConfirm={() => void act(() => api.post<VaultStatus>('/v1/vault/seal'))}>
          <p>Every signing and decryption stops until custodians enter the threshold number of unseal shares. Audit checkpoints pause too.</p>
        </Confirm>
      ) : null}
      {confirm === 'tamper' ? (
        <Confirm
          title="Zeroize the vault"
          word="zeroize"
          busy={busy}
          onCancel={() => setConfirm(undefined)}
          onConfirm={() => {
            if (reason.trim() === '') return setError({ code: 'INPUT_INVALID', message: 'say why the vault is being zeroized' });
            void act(() => api.post<VaultStatus>('/v1/vault/tamper', { reason: reason.trim() }));
          }}
        >
          <p>
            <strong>Irreversible.</strong> Every key is destroyed now. Recovery is <code>citytrust vault restore</code> from a backup.
          </p>
          <label>
            Reason (goes to the audit log)
            <input name="reason" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} />
          </label>
        </Confirm>
      ) : null}
    </section>
  );
}

function RecentOperations() {
  const { api } = useSession();
  const ops = useLoad(
    async (signal) => {
      const { auditSize } = await api.get<{ auditSize: number }>('/readyz', signal);
      const after = auditSize > RECENT ? auditSize - RECENT - 1 : undefined;
      const events = await api.get<AuditEventRow[]>(`/v1/audit/events${q({ after, limit: 1000 })}`, signal);
      return events.filter((e) => e.action.startsWith('vault.') && e.action !== 'vault.key.use').reverse().slice(0, 20);
    },
    [api],
  );
  return (
    <>
      <h2>Last vault operations</h2>
      <p className="muted small">From the latest {RECENT} audit events (key-use counters left out). Open one in the audit log to verify it.</p>
      <ErrorNote error={ops.error} />
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>Time</th>
            <th>Action</th>
            <th>Actor</th>
            <th>Subject</th>
          </tr>
        </thead>
        <tbody>
          {(ops.data ?? []).map((e) => (
            <tr key={e.seq}>
              <td>
                <a href={`#/audit/${e.seq}`}>{e.seq}</a>
              </td>
              <td>{formatTime(e.ts)}</td>
              <td>{e.action}</td>
              <td className="mono">{e.actor}</td>
              <td className="mono">{e.subject}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
