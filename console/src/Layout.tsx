import type { ReactNode } from 'react';
import { hasRole, type Me, type Role } from './api.ts';
import { ErrorNote } from './components/ErrorNote.tsx';
import { useRoute } from './hooks.ts';
import { useSession } from './session-context.ts';
import { Dashboard } from './pages/Dashboard.tsx';
import { Tenants } from './pages/Tenants.tsx';
import { TenantDetail } from './pages/TenantDetail.tsx';
import { Tokens } from './pages/Tokens.tsx';
import { Vault } from './pages/Vault.tsx';
import { Audit } from './pages/Audit.tsx';
import { Credentials } from './pages/Credentials.tsx';
import { CredentialDetail } from './pages/CredentialDetail.tsx';
import { Devices } from './pages/Devices.tsx';
import { DeviceDetail } from './pages/DeviceDetail.tsx';
import { Pki } from './pages/Pki.tsx';
import { Updates } from './pages/Updates.tsx';
import { Readers } from './pages/Readers.tsx';
import { Meters } from './pages/Meters.tsx';
import { CommandDetail, MeterDetail } from './pages/MeterDetail.tsx';

interface Page {
  path: string;
  label: string;
  /** Roles that may open the page (city-admin always may). Empty: every signed-in token. */
  roles: Role[];
}

/** Only pages whose API exists are listed; a page is offered only to tokens that can use it. */
const PAGES: Page[] = [
  { path: '', label: 'Dashboard', roles: [] },
  { path: 'credentials', label: 'Credentials', roles: ['issuer', 'tenant-admin', 'auditor'] },
  { path: 'devices', label: 'Devices', roles: ['tenant-admin', 'operator', 'issuer', 'auditor'] },
  { path: 'readers', label: 'Readers', roles: ['operator', 'tenant-admin', 'auditor'] },
  { path: 'meters', label: 'Meters', roles: ['operator', 'tenant-admin', 'auditor'] },
  { path: 'pki', label: 'PKI', roles: [] },
  { path: 'updates', label: 'Updates', roles: ['tenant-admin', 'operator', 'auditor'] },
  { path: 'vault', label: 'Vault', roles: [] },
  { path: 'audit', label: 'Audit log', roles: ['auditor'] },
  { path: 'tenants', label: 'Tenants', roles: [] },
  { path: 'tokens', label: 'Tokens', roles: ['tenant-admin'] },
];

function allowed(me: Me, p: Page): boolean {
  return p.roles.length === 0 || hasRole(me, ...p.roles);
}

function Forbidden({ page }: { page: Page }) {
  return <ErrorNote error={{ code: 'AUTH_FORBIDDEN', message: `the ${page.label} page needs one of the roles: ${page.roles.join(', ')}` }} />;
}

export function Layout() {
  const { me, signOut } = useSession();
  const route = useRoute();
  const [first = '', second, third, fourth] = route;
  const page = PAGES.find((p) => p.path === first);

  let body: ReactNode;
  if (!page) body = <ErrorNote error={{ code: 'NOT_FOUND', message: `the console has no page #/${route.join('/')}` }} />;
  else if (!allowed(me, page)) body = <Forbidden page={page} />;
  else if (first === '') body = <Dashboard />;
  else if (first === 'tenants') body = second === undefined ? <Tenants /> : <TenantDetail id={second} />;
  else if (first === 'tokens') body = <Tokens />;
  else if (first === 'credentials') body = second === undefined ? <Credentials /> : <CredentialDetail key={second} id={second} />;
  else if (first === 'devices') body = second === undefined ? <Devices /> : <DeviceDetail key={`${second}/${third ?? ''}`} tenant={second} id={third ?? ''} />;
  else if (first === 'pki') body = <Pki />;
  else if (first === 'readers') body = <Readers tenant={second} id={third} />;
  else if (first === 'meters') {
    if (second === undefined) body = <Meters />;
    else if (third === 'commands') body = <CommandDetail key={`${second}/${fourth ?? ''}`} tenant={second} id={fourth ?? ''} />;
    else body = <MeterDetail key={`${second}/${third ?? ''}`} tenant={second} id={third ?? ''} />;
  }
  else if (first === 'updates') body = <Updates selected={second} />;
  else if (first === 'vault') body = <Vault />;
  else body = <Audit selected={second} />;

  return (
    <div className="shell">
      <header className="top">
        <a href="#/" className="brand">
          <span className="logo" aria-hidden="true" /> citytrust
        </a>
        <nav aria-label="Console pages">
          {PAGES.filter((p) => allowed(me, p)).map((p) => (
            <a key={p.path} href={`#/${p.path}`} className={p === page ? 'active' : undefined} aria-current={p === page ? 'page' : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        <div className="who" data-testid="who">
          <span title={`token ${me.tokenId}`}>{me.label || me.tokenId}</span>
          <span className="tag">{me.tenant ?? 'city-wide'}</span>
          <span className="roles">{me.roles.join(', ')}</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main className="page">{body}</main>
    </div>
  );
}
