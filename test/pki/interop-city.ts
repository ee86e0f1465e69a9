/**
 * A real citytrust server (`citytrust serve --tls`) on a fresh data directory for the interop
 * tests, with helpers that drive openssl and curl. Keys are made by openssl at test time.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { runCli, startServer } from '../helpers/cli.ts';

export interface InteropCity {
  dir: string;
  url: string;
  adminToken: string;
  /** Path of a file in the test directory. */
  f(name: string): string;
  /** Runs a command in the test directory; returns status and output, never throws. */
  sh(cmd: string, args: string[], input?: string): { status: number | null; out: string };
  /** JSON API call with the admin token over HTTPS (curl, trusting our root). */
  api(method: string, path: string, body?: unknown): unknown;
  /** A fresh P-256 key and a CSR for it, both written by openssl: returns the file names. */
  keyAndCsr(name: string): { key: string; csr: string };
  stop(): Promise<void>;
}

export async function interopCity(): Promise<InteropCity> {
  const dir = mkdtempSync(join(tmpdir(), 'citytrust-interop-'));
  const f = (name: string) => join(dir, name);
  const env = { CITYTRUST_VAULT_DEV_UNSEAL: 'true' };
  const init = runCli(['init', '--dev-unseal', '-d', dir, '--json'], env);
  if (init.status !== 0) throw new Error(`init failed: ${init.stderr}${init.stdout}`);
  const adminToken = (JSON.parse(init.stdout) as { adminToken?: string; token?: string }).adminToken ?? (JSON.parse(init.stdout) as { token: string }).token;
  for (const args of [['ca', 'init'], ['tenant', 'create', 'transit', '-n', 'Transit'], ['tenant', 'create', 'utility', '-n', 'Utility'], ['ca', 'cert', 'root-1', '--out', f('root.pem')]]) {
    const r = runCli([...args, '-d', dir], env);
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  }
  const server: { child: ChildProcess; url: string } = await startServer(['--tls', '-d', dir], env);
  const sh = (cmd: string, args: string[], input?: string) => {
    const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', timeout: 60_000, ...(input !== undefined ? { input } : {}) });
    return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  };
  const api = (method: string, path: string, body?: unknown) => {
    const args = ['-sS', '--cacert', f('root.pem'), '-X', method, '-H', `authorization: Bearer ${adminToken}`, ...(body !== undefined ? ['-H', 'content-type: application/json', '--data-binary', JSON.stringify(body)] : []), `${server.url}${path}`];
    return JSON.parse(execFileSync('curl', args, { cwd: dir, encoding: 'utf8' })) as unknown;
  };
  return {
    dir,
    url: server.url,
    adminToken,
    f,
    sh,
    api,
    keyAndCsr(name: string) {
      const key = `${name}.key`;
      const csr = `${name}.csr`;
      execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${name}`, '-out', csr], { cwd: dir, stdio: 'ignore' });
      return { key, csr };
    },
    async stop() {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Registers a device and enrols it over REST with a bootstrap token; writes <name>.pem (leaf) and returns the serial. */
export function enrolDevice(c: InteropCity, tenant: string, id: string, type: string): { serial: string; key: string; cert: string; issuerPem: string } {
  c.api('POST', '/v1/devices', { tenant, id, type, site: 'interop lab' });
  const tok = c.api('POST', `/v1/devices/${tenant}/${id}/bootstrap`, {}) as { token: string };
  const { key, csr } = c.keyAndCsr(id);
  const issued = JSON.parse(
    execFileSync('curl', ['-sS', '--cacert', c.f('root.pem'), '-H', 'content-type: application/json', '--data-binary', JSON.stringify({ csr: readFileSync(c.f(csr), 'utf8'), token: tok.token }), `${c.url}/v1/pki/enroll`], { encoding: 'utf8' }),
  ) as { serial: string; certificatePem: string; chainPem: string[] };
  if (!issued.serial) throw new Error(`enrolment failed: ${JSON.stringify(issued)}`);
  writeFileSync(c.f(`${id}.pem`), issued.certificatePem);
  return { serial: issued.serial, key, cert: `${id}.pem`, issuerPem: issued.chainPem[0]! };
}
