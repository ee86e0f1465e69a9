import { useState } from 'react';
import { ApiError, hasRole } from '../api.ts';
import { Confirm } from '../components/Confirm.tsx';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';

interface RepoSummary {
  id: string;
  tenant: string;
  state: string;
  deviceClasses: string[];
}

interface Repo extends RepoSummary {
  roles: { name: string; keyids: string[]; threshold: number; deviceClasses?: string[] }[];
  keys: { keyid: string; keytype: string; label: string; custody: 'vault' | 'offline'; state: string }[];
  versions: Record<string, number>;
  rootDraft?: { version: number; reason: string };
}

interface Target {
  path: string;
  role: string;
  length: number;
  sha256: string;
  custom: Record<string, unknown>;
}

interface Release {
  deviceClass: string;
  name: string;
  version: string;
  target: string;
  percent: number;
  sites: string[];
  state: 'active' | 'halted';
}

const REPO = /^[a-z0-9][a-z0-9-]{1,62}$/;
const problemOf = (e: unknown): Problem => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });

/** TUF update repositories of the token's tenant: roles and keys, published targets, staged rollouts. */
export function Updates({ selected }: { selected: string | undefined }) {
  const { api } = useSession();
  const repos = useLoad((signal) => api.get<RepoSummary[]>('/v1/updates/repos', signal), [api]);
  return (
    <section aria-labelledby="updates-title">
      <div className="page-head">
        <h1 id="updates-title">Software updates</h1>
      </div>
      <ErrorNote error={repos.error} />
      <table data-testid="repos">
        <thead>
          <tr>
            <th>Repository</th>
            <th>Tenant</th>
            <th>Device classes</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {repos.data?.length === 0 ? (
            <tr>
              <td colSpan={4} className="muted">
                no update repositories (create one with <code>citytrust updates repo create</code>)
              </td>
            </tr>
          ) : null}
          {(repos.data ?? []).map((r) => (
            <tr key={r.id} className={r.id === selected ? 'selected' : undefined}>
              <td className="mono">
                <a href={`#/updates/${encodeURIComponent(r.id)}`}>{r.id}</a>
              </td>
              <td>{r.tenant}</td>
              <td>{r.deviceClasses.join(', ')}</td>
              <td>{r.state}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {selected !== undefined ? REPO.test(selected) ? <RepoDetail key={selected} id={selected} /> : <ErrorNote error={{ code: 'UPDATE_REPO_NOT_FOUND', message: 'no such update repository' }} /> : null}
    </section>
  );
}

function RepoDetail({ id }: { id: string }) {
  const { api, me } = useSession();
  const base = `/v1/updates/repos/${encodeURIComponent(id)}`;
  const repo = useLoad((signal) => api.get<Repo>(base, signal), [api, base]);
  const targets = useLoad((signal) => api.get<Target[]>(`${base}/targets`, signal), [api, base]);
  const releases = useLoad((signal) => api.get<Release[]>(`${base}/releases`, signal), [api, base]);
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [halting, setHalting] = useState<Release | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [percents, setPercents] = useState<Record<string, string>>({});
  const write = hasRole(me, 'tenant-admin', 'operator');

  async function rollout(r: Release, change: { percent?: number; state?: 'active' | 'halted' }) {
    setBusy(true);
    try {
      await api.post(`${base}/rollout`, { deviceClass: r.deviceClass, name: r.name, ...change });
      setError(undefined);
      releases.reload();
    } catch (e) {
      setError(problemOf(e));
    } finally {
      setBusy(false);
      setHalting(undefined);
    }
  }

  if (repo.error) return <ErrorNote error={repo.error} />;
  const r = repo.data;
  if (!r) return <p className="muted">…</p>;
  return (
    <>
      <h2>
        Repository <span className="mono">{r.id}</span> <span className="badge">{r.state}</span>
      </h2>
      {r.rootDraft ? (
        <p className="note ok">
          Root version {r.rootDraft.version} awaits offline signatures: {r.rootDraft.reason}
        </p>
      ) : null}
      <ErrorNote error={error} title="Not changed" />
      <div className="grid">
        <article className="card">
          <h2>Roles</h2>
          <table>
            <thead>
              <tr>
                <th>Role</th>
                <th>Version</th>
                <th>Threshold</th>
              </tr>
            </thead>
            <tbody>
              {r.roles.map((x) => (
                <tr key={x.name}>
                  <td>
                    {x.name}
                    {x.deviceClasses ? <span className="muted small"> ({x.deviceClasses.join(', ')})</span> : null}
                  </td>
                  <td>{r.versions[x.name] ?? '—'}</td>
                  <td>
                    {x.threshold} of {x.keyids.length}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </article>
        <article className="card">
          <h2>Keys</h2>
          <table>
            <thead>
              <tr>
                <th>Key</th>
                <th>Type</th>
                <th>Custody</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {r.keys.map((k) => (
                <tr key={k.keyid}>
                  <td className="mono small" title={k.keyid}>
                    {k.label || `${k.keyid.slice(0, 12)}…`}
                  </td>
                  <td>{k.keytype}</td>
                  <td>{k.custody}</td>
                  <td>{k.state}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </article>
      </div>
      <h2>Releases</h2>
      <ErrorNote error={releases.error} />
      <table data-testid="releases">
        <thead>
          <tr>
            <th>Class</th>
            <th>Artifact</th>
            <th>Version</th>
            <th>Rollout</th>
            <th>State</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {releases.data?.length === 0 ? (
            <tr>
              <td colSpan={6} className="muted">
                nothing released
              </td>
            </tr>
          ) : null}
          {(releases.data ?? []).map((x) => {
            const key = `${x.deviceClass}/${x.name}`;
            return (
              <tr key={key} data-release={key} data-state={x.state}>
                <td>{x.deviceClass}</td>
                <td>{x.name}</td>
                <td>{x.version}</td>
                <td>
                  {x.percent}% of devices{x.sites.length ? `, sites ${x.sites.join(', ')} first` : ''}
                </td>
                <td>
                  <span className={`badge ${x.state === 'active' ? 'ok' : 'warn'}`}>{x.state}</span>
                </td>
                <td>
                  {write ? (
                    <form
                      className="row"
                      onSubmit={(e) => {
                        e.preventDefault();
                        const p = Number(percents[key] ?? '');
                        if (!Number.isInteger(p) || p < 0 || p > 100) return setError({ code: 'INPUT_INVALID', message: 'a rollout share is a whole percentage from 0 to 100' });
                        void rollout(x, { percent: p });
                      }}
                    >
                      <input name={`percent-${key}`} className="narrow" value={percents[key] ?? ''} onChange={(e) => setPercents({ ...percents, [key]: e.target.value })} placeholder={`${x.percent}`} inputMode="numeric" aria-label="rollout percentage" />
                      <button type="submit" className="small" disabled={busy}>
                        Set %
                      </button>
                      {x.state === 'active' ? (
                        <button type="button" className="small danger" onClick={() => setHalting(x)}>
                          Halt…
                        </button>
                      ) : (
                        <button type="button" className="small" onClick={() => void rollout(x, { state: 'active' })} disabled={busy}>
                          Resume
                        </button>
                      )}
                    </form>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2>Published targets</h2>
      <ErrorNote error={targets.error} />
      <table>
        <thead>
          <tr>
            <th>Path</th>
            <th>Signed by</th>
            <th>Size</th>
            <th>SHA-256</th>
          </tr>
        </thead>
        <tbody>
          {(targets.data ?? []).map((t) => (
            <tr key={t.path}>
              <td className="mono small">{t.path}</td>
              <td>{t.role}</td>
              <td>{t.length.toLocaleString('en')} B</td>
              <td className="mono small" title={t.sha256}>
                {t.sha256.slice(0, 16)}…
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {halting ? (
        <Confirm title="Halt rollout" word="halt" busy={busy} onCancel={() => setHalting(undefined)} onConfirm={() => void rollout(halting, { state: 'halted' })}>
          <p>
            Devices of class {halting.deviceClass} stop taking {halting.name} {halting.version} at their next check; devices that already installed it keep it.
          </p>
        </Confirm>
      ) : null}
    </>
  );
}
