import { useState, type FormEvent } from 'react';
import { ApiError, hasRole, isCityAdmin, q } from '../api.ts';
import { Confirm } from '../components/Confirm.tsx';
import { ErrorNote, type Problem } from '../components/ErrorNote.tsx';
import { formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';

interface Ca {
  id: string;
  purpose: string;
  generation: number;
  parentId: string | null;
  keyType: string;
  serial: string;
  subject: string;
  notBefore: number;
  notAfter: number;
  state: string;
}

export interface Certificate {
  serial: string;
  caId: string;
  tenant: string | null;
  deviceId: string | null;
  profile: string;
  subject: string;
  sans: string[];
  notBefore: number;
  notAfter: number;
  status: 'good' | 'revoked' | 'hold';
  revokedAt: number | null;
  reason: string | null;
  fingerprint: string;
}

/** RFC 5280 §5.3.1 reasons the API accepts (certificateHold is a device suspension, not offered here). */
const REASONS = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'];
const problemOf = (e: unknown): Problem => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'NETWORK', message: String(e) });
const TONE: Record<string, string> = { good: 'ok', hold: 'warn', revoked: 'bad', active: 'ok', retired: 'muted' };

export function Pki() {
  const { api, me } = useSession();
  const cas = useLoad((signal) => api.get<Ca[]>('/v1/pki/cas', signal), [api]);
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [issuedCount, setIssuedCount] = useState(0);

  async function init() {
    setBusy(true);
    try {
      await api.post('/v1/pki/init');
      setError(undefined);
      cas.reload();
    } catch (e) {
      setError(problemOf(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="pki-title">
      <div className="page-head">
        <h1 id="pki-title">PKI</h1>
      </div>
      <h2>Certificate authorities</h2>
      <ErrorNote error={cas.error ?? error} />
      <table data-testid="cas">
        <thead>
          <tr>
            <th>CA</th>
            <th>Purpose</th>
            <th>Gen.</th>
            <th>Subject</th>
            <th>Key</th>
            <th>Valid</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {cas.data?.length === 0 ? (
            <tr>
              <td colSpan={7} className="muted">
                no CA yet
              </td>
            </tr>
          ) : null}
          {(cas.data ?? []).map((c) => (
            <tr key={c.id} data-ca={c.id}>
              <td className="mono">{c.id}</td>
              <td>{c.purpose}</td>
              <td>{c.generation}</td>
              <td className="small">{c.subject}</td>
              <td>{c.keyType}</td>
              <td className="small">
                {formatTime(c.notBefore)} – {formatTime(c.notAfter)}
              </td>
              <td>
                <span className={`badge ${TONE[c.state] ?? ''}`}>{c.state}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {cas.data?.length === 0 && isCityAdmin(me) ? (
        <button type="button" className="primary" onClick={() => void init()} disabled={busy}>
          Create the root and issuing CAs
        </button>
      ) : null}
      {hasRole(me, 'issuer', 'operator') ? <IssueFromCsr onIssued={() => setIssuedCount((n) => n + 1)} /> : null}
      <h2>Certificates</h2>
      <Certificates key={issuedCount} />
    </section>
  );
}

interface Issued {
  serial: string;
  profile: string;
  subject: string;
  notAfter: number;
}

/**
 * Issue a certificate for a registered device from its PKCS#10 CSR (PEM). The server checks the
 * CSR's signature, the device's state and the profile; what it refuses is shown with its code.
 */
function IssueFromCsr({ onIssued }: { onIssued: () => void }) {
  const { api, me } = useSession();
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [issued, setIssued] = useState<Issued | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const tenant = me.tenant ?? String(f.get('csr-tenant') ?? '').trim();
    const deviceId = String(f.get('csr-device') ?? '').trim();
    const csr = String(f.get('csr') ?? '').trim();
    setIssued(undefined);
    if (tenant === '' || deviceId === '') return setError({ code: 'INPUT_INVALID', message: 'name the tenant and the registered device the certificate is for' });
    if (!/^-----BEGIN CERTIFICATE REQUEST-----[\s\S]+-----END CERTIFICATE REQUEST-----$/.test(csr)) return setError({ code: 'INPUT_INVALID', message: 'paste the CSR in PEM, from -----BEGIN CERTIFICATE REQUEST----- to -----END CERTIFICATE REQUEST-----' });
    setBusy(true);
    try {
      setIssued(await api.post<Issued>('/v1/pki/certificates', { csr, tenant, deviceId }));
      setError(undefined);
      onIssued();
    } catch (err) {
      setError(problemOf(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <h2>Issue from a CSR</h2>
      <form onSubmit={(e) => void submit(e)} aria-label="Issue a certificate from a CSR" className="stack">
        {me.tenant === null ? (
          <label>
            Tenant <input name="csr-tenant" maxLength={40} />
          </label>
        ) : null}
        <label>
          Device id <input name="csr-device" maxLength={63} />
        </label>
        <label>
          CSR (PEM) <textarea name="csr" rows={6} maxLength={16384} className="mono" />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          Issue certificate
        </button>
      </form>
      <ErrorNote error={error} title="No certificate was issued" />
      {issued ? (
        <p className="verified" data-testid="csr-issued" data-serial={issued.serial}>
          ✓ Issued {issued.profile} certificate <span className="mono">{issued.serial}</span> for {issued.subject}, valid until {formatTime(issued.notAfter)}
        </p>
      ) : null}
    </>
  );
}

/** Issued certificates, newest first; `deviceId` narrows to one device. */
export function Certificates({ deviceId, tenant }: { deviceId?: string; tenant?: string }) {
  const { api, me } = useSession();
  const [status, setStatus] = useState('');
  const list = useLoad((signal) => api.get<Certificate[]>(`/v1/pki/certificates${q({ status, deviceId, tenant: me.tenant === null ? tenant : undefined, limit: 200 })}`, signal), [api, status, deviceId, tenant, me.tenant]);
  const [revoking, setRevoking] = useState<Certificate | undefined>(undefined);
  const [reason, setReason] = useState('unspecified');
  const [error, setError] = useState<Problem | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const canRevoke = hasRole(me, 'issuer', 'operator', 'tenant-admin');

  async function revoke(c: Certificate) {
    setBusy(true);
    try {
      await api.post(`/v1/pki/certificates/${encodeURIComponent(c.serial)}/revoke`, { reason });
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
      <div className="toolbar">
        <label className="inline">
          Status{' '}
          <select name="cert-status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            <option value="good">good</option>
            <option value="hold">on hold</option>
            <option value="revoked">revoked</option>
          </select>
        </label>
      </div>
      <ErrorNote error={list.error ?? error} />
      <table data-testid="certificates">
        <thead>
          <tr>
            <th>Serial</th>
            <th>Subject</th>
            <th>Profile</th>
            {deviceId === undefined ? <th>Device</th> : null}
            <th>Valid</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.data?.length === 0 ? (
            <tr>
              <td colSpan={7} className="muted">
                no certificates
              </td>
            </tr>
          ) : null}
          {(list.data ?? []).map((c) => (
            <tr key={c.serial} data-serial={c.serial} data-status={c.status}>
              <td className="mono small" title={`SHA-256 ${c.fingerprint}`}>
                {c.serial}
              </td>
              <td className="small">{c.subject}</td>
              <td>{c.profile}</td>
              {deviceId === undefined ? (
                <td className="small">{c.deviceId && c.tenant ? <a href={`#/devices/${encodeURIComponent(c.tenant)}/${encodeURIComponent(c.deviceId)}`}>{c.deviceId}</a> : '—'}</td>
              ) : null}
              <td className="small">
                {formatTime(c.notBefore)} – {formatTime(c.notAfter)}
              </td>
              <td>
                <span className={`badge ${TONE[c.status] ?? ''}`}>{c.status}</span>
                {c.revokedAt ? <div className="small muted">{`${formatTime(c.revokedAt)}${c.reason ? `, ${c.reason}` : ''}`}</div> : null}
              </td>
              <td>
                {canRevoke && c.status !== 'revoked' ? (
                  <button type="button" className="small danger" onClick={() => setRevoking(c)}>
                    Revoke
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {revoking ? (
        <Confirm title="Revoke certificate" word="revoke" busy={busy} onCancel={() => setRevoking(undefined)} onConfirm={() => void revoke(revoking)}>
          <p>
            Certificate <code>{revoking.serial}</code> ({revoking.subject}) is revoked for good: the CRL is re-signed and OCSP answers revoked at once.
          </p>
          <label>
            Reason (RFC 5280)
            <select name="revoke-reason" value={reason} onChange={(e) => setReason(e.target.value)}>
              {REASONS.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
        </Confirm>
      ) : null}
    </>
  );
}
