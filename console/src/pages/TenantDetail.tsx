import { hasRole, isCityAdmin } from '../api.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { KeysTable } from '../components/KeysTable.tsx';
import { TokensPanel } from '../components/TokensPanel.tsx';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';
import { TENANT_ID, type Tenant } from './Tenants.tsx';

/**
 * One tenant: its tokens and vault keys. A tenant user who types another tenant's address is
 * refused before anything is asked of the server, and is told the same whether that tenant
 * exists or not, so the page cannot be used to probe for tenants.
 */
export function TenantDetail({ id }: { id: string }) {
  const { me } = useSession();
  if (me.tenant !== null && me.tenant !== id) {
    return <ErrorNote error={{ code: 'TENANT_FORBIDDEN', message: `this page belongs to another tenant; you are signed in for tenant ${me.tenant}` }} />;
  }
  if (!TENANT_ID.test(id)) return <ErrorNote error={{ code: 'TENANT_NOT_FOUND', message: 'there is no tenant with this id' }} />;
  return <Detail id={id} />;
}

function Detail({ id }: { id: string }) {
  const { api, me } = useSession();
  const tenants = useLoad((signal) => api.get<Tenant[]>('/v1/tenants', signal), [api]);
  const t = tenants.data?.find((x) => x.id === id);
  if (tenants.error) return <ErrorNote error={tenants.error} />;
  if (!tenants.data) return <p className="muted">…</p>;
  if (!t) return <ErrorNote error={{ code: 'TENANT_NOT_FOUND', message: 'there is no tenant with this id' }} />;
  return (
    <section aria-labelledby="tenant-title">
      <div className="page-head">
        <h1 id="tenant-title">
          {t.name} <span className="muted">{t.id}</span>
        </h1>
        <span className="badge ok">{t.status}</span>
      </div>
      <p className="muted">Created {formatTime(t.createdAt)}</p>
      {hasRole(me, 'tenant-admin') ? (
        <>
          <h2>Tokens</h2>
          <TokensPanel tenant={id} />
        </>
      ) : null}
      {hasRole(me, 'tenant-admin', 'auditor') ? (
        <>
          <h2>Vault keys</h2>
          <KeysTable tenant={isCityAdmin(me) ? id : undefined} />
        </>
      ) : null}
    </section>
  );
}
