import { useState } from 'react';
import { ApiError, hasRole, q } from '../api.ts';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { TenantSelect, useTenantChoice } from '../components/TenantPicker.tsx';
import { formatTime } from '../format.ts';
import { navigate, useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';
import { IssuerKeys, Templates, type Template } from './CredentialTemplates.tsx';

export interface Credential {
  id: string;
  tenant: string;
  template: string | null;
  wallet: string;
  status: 'active' | 'suspended' | 'revoked';
  statusList: string;
  statusIndex: number;
  issuerKid: string;
  issuedAt: number;
  validFrom: number;
  validUntil: number;
  size: number;
  replaces: string | null;
  replacedBy: string | null;
  reason: string | null;
  credential?: string;
  holder?: { name?: string; email?: string };
}

interface Wallet {
  id: string;
  label: string;
  state: string;
  pendingDeliveries: number;
}

const problemOf = (e: unknown): Problem => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });
const STATUS_TONE: Record<string, string> = { active: 'ok', suspended: 'warn', revoked: 'bad' };

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge ${STATUS_TONE[status] ?? ''}`} data-testid="credential-status">
      {status}
    </span>
  );
}

/** Credentials of one tenant: search, issue from a template, open one to suspend, resume or revoke it. */
export function Credentials() {
  const { api, me } = useSession();
  const choice = useTenantChoice();
  const tenant = choice.tenant;
  const [status, setStatus] = useState('');
  const [template, setTemplate] = useState('');
  const [email, setEmail] = useState('');
  const [filter, setFilter] = useState<{ status: string; template: string; holderEmail: string }>({ status: '', template: '', holderEmail: '' });
  const scoped = me.tenant === null ? tenant : undefined;
  const list = useLoad(
    (signal) => (tenant === undefined ? Promise.resolve([]) : api.get<Credential[]>(`/v1/credentials${q({ tenant: scoped, ...filter, limit: 200 })}`, signal)),
    [api, tenant, scoped, filter],
  );
  const templates = useLoad((signal) => (tenant === undefined ? Promise.resolve([]) : api.get<Template[]>(`/v1/credentials/templates${q({ tenant: scoped })}`, signal)), [api, tenant, scoped]);

  return (
    <section aria-labelledby="cred-title">
      <div className="page-head">
        <h1 id="cred-title">Credentials</h1>
        <TenantSelect choice={choice} />
      </div>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ status, template, holderEmail: email.trim() });
        }}
      >
        <label>
          Status
          <select name="filter-status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            <option value="active">active</option>
            <option value="suspended">suspended</option>
            <option value="revoked">revoked</option>
          </select>
        </label>
        <label>
          Template
          <select name="filter-template" value={template} onChange={(e) => setTemplate(e.target.value)}>
            <option value="">any</option>
            {(templates.data ?? []).map((t) => (
              <option key={t.id} value={t.id}>
                {t.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Holder e-mail
          <input name="filter-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} placeholder="exact address" maxLength={320} autoComplete="off" />
        </label>
        <button type="submit">Search</button>
      </form>
      <p className="muted small">The server finds holders by a keyed hash of the e-mail address: it stores no address in clear, so only exact addresses match.</p>
      <ErrorNote error={list.error} />
      <table data-testid="credentials">
        <thead>
          <tr>
            <th>Credential</th>
            <th>Template</th>
            <th>Wallet</th>
            <th>Valid</th>
            <th>Issued</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.length === 0 ? (
            <tr>
              <td colSpan={6} className="muted">
                no credentials match
              </td>
            </tr>
          ) : null}
          {(list.data ?? []).map((c) => (
            <tr key={c.id} data-credential={c.id} data-status={c.status}>
              <td className="mono">
                <a href={`#/credentials/${c.id}`}>{c.id}</a>
              </td>
              <td>{c.template ?? '—'}</td>
              <td className="mono small">{c.wallet}</td>
              <td className="small">
                {formatTime(c.validFrom * 1000)} – {formatTime(c.validUntil * 1000)}
              </td>
              <td className="small">{formatTime(c.issuedAt * 1000)}</td>
              <td>
                <StatusBadge status={c.status} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {tenant !== undefined && hasRole(me, 'issuer') ? <IssueForm tenant={tenant} templates={templates.data ?? []} onIssued={(id) => navigate(`/credentials/${id}`)} /> : null}
      {tenant !== undefined ? <Templates tenant={tenant} templates={templates.data} error={templates.error} onCreated={templates.reload} /> : null}
      {tenant !== undefined ? <IssuerKeys tenant={tenant} /> : null}
    </section>
  );
}

function IssueForm({ tenant, templates, onIssued }: { tenant: string; templates: Template[]; onIssued(id: string): void }) {
  const { api } = useSession();
  const wallets = useLoad((signal) => api.get<Wallet[]>(`/v1/wallets${q({ tenant })}`, signal), [api, tenant]);
  const [template, setTemplate] = useState('');
  const [wallet, setWallet] = useState('');
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const active = (wallets.data ?? []).filter((w) => w.state === 'active');

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (template === '') return setError({ code: 'INPUT_INVALID', message: 'choose a template' });
    if (wallet === '') return setError({ code: 'INPUT_INVALID', message: 'choose the wallet to issue to' });
    if (email !== '' && !/^[^\s@]+@[^\s@]+$/.test(email)) return setError({ code: 'INPUT_INVALID', message: 'the holder e-mail is not an address' });
    setBusy(true);
    try {
      const holder = { ...(name.trim() ? { name: name.trim() } : {}), ...(email.trim() ? { email: email.trim() } : {}) };
      const c = await api.post<Credential>('/v1/credentials', { tenant, walletId: wallet, template, ...(Object.keys(holder).length ? { holder } : {}) });
      setError(undefined);
      onIssued(c.id);
    } catch (err) {
      setError(problemOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card form" onSubmit={(e) => void submit(e)} aria-labelledby="issue-title" noValidate>
      <h2 id="issue-title">Issue a credential from a template</h2>
      <ErrorNote error={error ?? wallets.error} title="Not issued" />
      <div className="row">
        <label>
          Template
          <select name="issue-template" value={template} onChange={(e) => setTemplate(e.target.value)}>
            <option value="">choose…</option>
            {templates.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({t.id})
              </option>
            ))}
          </select>
        </label>
        <label>
          Wallet
          <select name="issue-wallet" value={wallet} onChange={(e) => setWallet(e.target.value)}>
            <option value="">choose…</option>
            {active.map((w) => (
              <option key={w.id} value={w.id}>
                {w.label} ({w.id})
              </option>
            ))}
          </select>
        </label>
        <label>
          Holder name
          <input name="issue-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} autoComplete="off" />
        </label>
        <label>
          Holder e-mail
          <input name="issue-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} maxLength={320} autoComplete="off" />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          Issue
        </button>
      </div>
      <p className="muted small">The credential is signed, given a status-list slot, sealed to the wallet's secure-element key and queued for its next sync. Holder data is stored encrypted.</p>
    </form>
  );
}
