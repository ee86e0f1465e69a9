/**
 * Interop with independent tools (openssl, curl) against a real `citytrust serve --tls`:
 * openssl verify with our chain and CRL, openssl ocsp against our responder, EST enrolment
 * with openssl req + curl, renewal over mutual TLS.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { enrolDevice, interopCity, type InteropCity } from '../pki/interop-city.ts';

let c: InteropCity;

before(async () => {
  c = await interopCity();
});
after(async () => {
  await c?.stop();
});

function fetchPem(url: string, file: string, kind: 'crl' | 'x509'): void {
  execFileSync('curl', ['-sSf', '--cacert', c.f('root.pem'), '-o', c.f(`${file}.der`), url]);
  execFileSync('openssl', [kind, '-inform', 'DER', '-in', c.f(`${file}.der`), '-out', c.f(file)]);
}

describe('openssl verify -crl_check', () => {
  it('accepts an issued device certificate with our chain and CRL, and refuses it after revocation', () => {
    const d = enrolDevice(c, 'transit', 'gate-1', 'gate');
    writeFileSync(c.f('readers.pem'), d.issuerPem);
    fetchPem(`${c.url}/pki/crl/readers-1.crl`, 'readers-crl.pem', 'crl');
    const verify = () => c.sh('openssl', ['verify', '-CAfile', 'root.pem', '-untrusted', 'readers.pem', '-crl_check', '-CRLfile', 'readers-crl.pem', '-purpose', 'sslclient', d.cert]);
    const ok = verify();
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, /gate-1\.pem: OK/);

    const r = c.api('POST', `/v1/pki/certificates/${d.serial}/revoke`, { reason: 'keyCompromise' }) as { status: string };
    assert.equal(r.status, 'revoked');
    fetchPem(`${c.url}/pki/crl/readers-1.crl`, 'readers-crl.pem', 'crl');
    const refused = verify();
    assert.notEqual(refused.status, 0);
    assert.match(refused.out, /certificate revoked/);
  });
});

describe('openssl ocsp -url', () => {
  it('reports good, then revoked, with a response signed by our delegated responder', () => {
    const d = enrolDevice(c, 'transit', 'gate-2', 'gate');
    writeFileSync(c.f('readers.pem'), d.issuerPem);
    const ask = () => c.sh('openssl', ['ocsp', '-url', `${c.url}/pki/ocsp`, '-issuer', 'readers.pem', '-cert', d.cert, '-CAfile', 'root.pem']);
    const good = ask();
    assert.equal(good.status, 0, good.out);
    assert.match(good.out, /Response verify OK/);
    assert.match(good.out, /gate-2\.pem: good/);
    c.api('POST', `/v1/pki/certificates/${d.serial}/revoke`, { reason: 'superseded' });
    const revoked = ask();
    assert.match(revoked.out, /Response verify OK/);
    assert.match(revoked.out, /gate-2\.pem: revoked/);
    assert.match(revoked.out, /Reason: superseded/);
  });
});

describe('EST (RFC 7030) with openssl and curl', () => {
  it('enrols with a bootstrap token over HTTP Basic and returns a PKCS#7 that openssl pkcs7 -print_certs reads', () => {
    c.api('POST', '/v1/devices', { tenant: 'utility', id: 'meter-7', type: 'meter', site: 'Block 4' });
    const tok = c.api('POST', '/v1/devices/utility/meter-7/bootstrap', {}) as { token: string };
    c.keyAndCsr('meter-7');
    execFileSync('openssl', ['req', '-in', c.f('meter-7.csr'), '-outform', 'DER', '-out', c.f('meter-7.csr.der')]);
    execFileSync('sh', ['-c', 'base64 meter-7.csr.der > meter-7.csr.b64'], { cwd: c.dir });
    const est = c.sh('curl', ['-sS', '--cacert', 'root.pem', '-u', `meter-7:${tok.token}`, '-H', 'Content-Type: application/pkcs10', '--data-binary', '@meter-7.csr.b64', '-o', 'meter-7.p7.b64', '-w', '%{http_code} %{content_type}', `${c.url}/.well-known/est/simpleenroll`]);
    assert.equal(est.out, '200 application/pkcs7-mime; smime-type=certs-only', est.out);
    const p7 = c.sh('sh', ['-c', 'base64 -d meter-7.p7.b64 > meter-7.p7 && openssl pkcs7 -inform DER -in meter-7.p7 -print_certs']);
    assert.equal(p7.status, 0, p7.out);
    assert.match(p7.out, /subject=O = utility, OU = meter, CN = meter-7/);
    assert.match(p7.out, /issuer=O = citytrust city, CN = citytrust city Meters CA 1/);
    // The token was single-use.
    const again = c.sh('curl', ['-sS', '--cacert', 'root.pem', '-u', `meter-7:${tok.token}`, '-H', 'Content-Type: application/pkcs10', '--data-binary', '@meter-7.csr.b64', `${c.url}/.well-known/est/simpleenroll`]);
    assert.match(again.out, /DEVICE_BOOTSTRAP_USED/);
    const ca = c.sh('sh', ['-c', `curl -sS --cacert root.pem ${c.url}/.well-known/est/cacerts | base64 -d | openssl pkcs7 -inform DER -print_certs | grep -c '^subject='`]);
    assert.equal(ca.out.trim(), '6');
  });

  it('re-enrols over mutual TLS with the current certificate, and refuses a revoked one', () => {
    const d = enrolDevice(c, 'transit', 'reader-3', 'reader');
    c.keyAndCsr('reader-3-new');
    execFileSync('sh', ['-c', 'openssl req -in reader-3-new.csr -outform DER | base64 > reader-3-new.b64'], { cwd: c.dir });
    const reenroll = () => c.sh('curl', ['-sS', '--cacert', 'root.pem', '--cert', d.cert, '--key', d.key, '-H', 'Content-Type: application/pkcs10', '--data-binary', '@reader-3-new.b64', '-w', '\n%{http_code}', `${c.url}/.well-known/est/simplereenroll`]);
    const ok = reenroll();
    assert.match(ok.out, /\n200$/, ok.out);
    // simpleenroll also takes the client certificate instead of Basic credentials (then it renews).
    const byCert = c.sh('curl', ['-sS', '--cacert', 'root.pem', '--cert', d.cert, '--key', d.key, '-H', 'Content-Type: application/pkcs10', '--data-binary', '@reader-3-new.b64', '-w', '\n%{http_code}', `${c.url}/.well-known/est/simpleenroll`]);
    assert.match(byCert.out, /\n200$/, byCert.out);
    // The REST renewal takes the same client certificate.
    const body = JSON.stringify({ csr: readFileSync(c.f('reader-3-new.csr'), 'utf8') });
    const rest = c.sh('curl', ['-sS', '--cacert', 'root.pem', '--cert', d.cert, '--key', d.key, '-H', 'content-type: application/json', '--data-binary', body, `${c.url}/v1/pki/renew`]);
    assert.equal((JSON.parse(rest.out) as { profile: string }).profile, 'reader', rest.out);
    const anonymous = c.sh('curl', ['-sS', '--cacert', 'root.pem', '-H', 'content-type: application/json', '--data-binary', body, `${c.url}/v1/pki/renew`]);
    assert.match(anonymous.out, /PKI_CLIENT_CERT_REQUIRED/);
    c.api('POST', `/v1/pki/certificates/${d.serial}/revoke`, { reason: 'keyCompromise' });
    const refused = reenroll();
    assert.match(refused.out, /PKI_CLIENT_CERT_REVOKED/);
  });
});
