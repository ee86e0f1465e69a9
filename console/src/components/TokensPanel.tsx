import { useState } from 'react';
import { ApiError, isCityAdmin, type Role } from '../api.ts';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';
import { Confirm } from './Confirm.tsx';
import { ErrorNote, type Problem } from './ErrorNote.tsx';

export interface TokenInfo {
  id: string;
  tenant: string | null;
  label: string;
  roles: Role[];
  createdAt: number;
  createdBy: string;
  expiresAt: number | null;
  revokedAt: number | null;
}

const TENANT_ROLES: Role[] = ['tenant-admin', 'issuer', 'operator', 'auditor'];
const CITY_ROLES: Role[] = ['city-admin', 'auditor'];

const problemOf = (e: unknown): Problem => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });

function stateOf(t: TokenInfo, now: number): string {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt !== null && t.expiresAt <= now) return 'expired';
  return 'active';
}

/**
 * Tokens of one tenant (`tenant` given) or, for a city-admin, of every tenant and the city.
 * A new token's secret is shown once, here, and kept nowhere.
 */
export function TokensPanel({ tenant }: { tenant: string | undefined }) {
  const { api, me } = useSession();
  const list = useLoad(async (signal) => ({ tokens: await api.get<TokenInfo[]>('/v1/tokens', signal), at: Date.now() }), [api]);
  const [revoking, setRevoking] = useState<TokenInfo | undefined>(undefined);
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const shown = (list.data?.tokens ?? []).filter((t) => tenant === undefined || t.tenant === tenant);
  const now = list.data?.at ?? 0;

  async function revoke(t: TokenInfo) {
    setBusy(true);
    try {
      await api.del(`/v1/tokens/${encodeURIComponent(t.id)}`);
      setError(undefined);
      list.reload();
    } catch (e) {
      setError(problemOf(e));
    } finally {
      setBusy(false);
      setRevoking(undefined);
    }
  }

  return (
    <>
      <ErrorNote error={list.error ?? error} />
      <table data-testid="tokens">
        <thead>
          <tr>
            <th>Id</th>
            {tenant === undefined ? <th>Tenant</th> : null}
            <th>Label</th>
            <th>Roles</th>
            <th>Created</th>
            <th>Expires</th>
            <th>State</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shown.map((t) => {
            const state = stateOf(t, now);
            return (
              <tr key={t.id} data-token={t.id} data-state={state}>
                <td className="mono">{t.id}</td>
                {tenant === undefined ? <td>{t.tenant ?? <span className="muted">city-wide</span>}</td> : null}
                <td>{t.label}</td>
                <td>{t.roles.join(', ')}</td>
                <td>{formatTime(t.createdAt)}</td>
                <td>{formatTime(t.expiresAt)}</td>
                <td>
                  <span className={`badge ${state === 'active' ? 'ok' : 'muted'}`}>{state}</span>
                </td>
                <td>
                  {state === 'active' && t.id !== me.tokenId ? (
                    <button type="button" className="small danger" onClick={() => setRevoking(t)}>
                      Revoke
                    </button>
                  ) : t.id === me.tokenId ? (
                    <span className="muted">this session</span>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {revoking ? (
        <Confirm title="Revoke token" word="revoke" busy={busy} onCancel={() => setRevoking(undefined)} onConfirm={() => void revoke(revoking)}>
          <p>
            Token <code>{revoking.id}</code> ({revoking.label || 'no label'}, {revoking.roles.join(', ')}) stops working at once, everywhere. This cannot be undone.
          </p>
        </Confirm>
      ) : null}
      <CreateToken tenant={tenant} onCreated={list.reload} />
    </>
  );
}

function CreateToken({ tenant, onCreated }: { tenant: string | undefined; onCreated(): void }) {
  const { api, me } = useSession();
  const city = isCityAdmin(me);
  const tenants = useLoad((signal) => (city && tenant === undefined ? api.get<{ id: string }[]>('/v1/tenants', signal) : Promise.resolve([])), [api, city, tenant]);
  const [forTenant, setForTenant] = useState<string>(tenant ?? '');
  const [roles, setRoles] = useState<Role[]>([]);
  const [label, setLabel] = useState('');
  const [hours, setHours] = useState('');
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [secret, setSecret] = useState<{ token: string; id: string } | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const target = tenant ?? (forTenant === '' ? null : forTenant);
  const offered = target === null ? CITY_ROLES : TENANT_ROLES;

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    const chosen = roles.filter((r) => offered.includes(r));
    if (chosen.length === 0) {
      setError({ code: 'INPUT_INVALID', message: 'choose at least one role' });
      return;
    }
    if (label.length > 200) {
      setError({ code: 'INPUT_INVALID', message: 'a label is at most 200 characters' });
      return;
    }
    let ttlSeconds: number | undefined;
    if (hours.trim() !== '') {
      const h = Number(hours);
      if (!Number.isFinite(h) || h * 3600 < 60 || h * 3600 > 315360000) {
        setError({ code: 'INPUT_INVALID', message: 'the lifetime is from 0.02 hours (one minute) to 87600 hours (ten years), or empty for no expiry' });
        return;
      }
      ttlSeconds = Math.round(h * 3600);
    }
    setBusy(true);
    try {
      const r = await api.post<{ token: string; info: TokenInfo }>('/v1/tokens', { tenant: target, roles: chosen, label, ...(ttlSeconds ? { ttlSeconds } : {}) });
      setError(undefined);
      setSecret({ token: r.token, id: r.info.id });
      setRoles([]);
      setLabel('');
      setHours('');
      onCreated();
    } catch (err) {
      setError(problemOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card form" onSubmit={(e) => void submit(e)} aria-labelledby="create-token" noValidate>
      <h2 id="create-token">Create a token</h2>
      <ErrorNote error={error} title="Not created" />
      {secret ? (
        <div className="note secret" role="status" data-testid="new-token">
          <strong>Token {secret.id} created. Copy it now: it is shown this once and stored nowhere.</strong>
          <code className="mono block" data-testid="new-token-secret">
            {secret.token}
          </code>
          <div className="actions">
            <button type="button" onClick={() => void navigator.clipboard?.writeText(secret.token)}>
              Copy
            </button>
            <button type="button" onClick={() => setSecret(undefined)}>
              I have stored it
            </button>
          </div>
        </div>
      ) : null}
      <div className="row">
        {tenant === undefined && city ? (
          <label>
            Tenant
            <select name="token-tenant" value={forTenant} onChange={(e) => setForTenant(e.target.value)}>
              <option value="">city-wide</option>
              {(tenants.data ?? []).map((t) => (
                <option key={t.id} value={t.id}>
                  {t.id}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <label>
          Label
          <input name="token-label" value={label} onChange={(e) => setLabel(e.target.value)} placeholder="gate crew laptop" autoComplete="off" />
        </label>
        <label>
          Lifetime (hours)
          <input name="token-hours" value={hours} onChange={(e) => setHours(e.target.value)} placeholder="no expiry" inputMode="decimal" autoComplete="off" />
        </label>
      </div>
      <fieldset>
        <legend>Roles</legend>
        {offered.map((r) => (
          <label key={r} className="check">
            <input type="checkbox" name={`role-${r}`} checked={roles.includes(r)} onChange={(e) => setRoles(e.target.checked ? [...roles, r] : roles.filter((x) => x !== r))} /> {r}
          </label>
        ))}
      </fieldset>
      <button type="submit" className="primary" disabled={busy}>
        Create token
      </button>
    </form>
  );
}
