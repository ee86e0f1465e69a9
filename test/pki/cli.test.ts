/** The `citytrust ca|cert|device` commands end to end (real process, temp data directory). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { toPem } from '../../src/pki/index.ts';
import { loadConfig } from '../../src/core/config.ts';
import { silentLogger } from '../../src/core/log.ts';
import { closeContext, openContext } from '../../src/server/context.ts';
import { keyPair, makeCsr } from './helpers.ts';

const env = { CITYTRUST_VAULT_DEV_UNSEAL: 'true' };

describe('the PKI commands', () => {
  it('create the hierarchy, register a device, issue, list and revoke with --json, and report errors with codes', async () => {
    const tmp = tempDir();
    try {
      const d = ['-d', join(tmp.dir, 'data')];
      // With the development unseal key the vault initialises itself: no `citytrust init` needed.
      const init = runCli(['ca', 'init', ...d, '--json'], env);
      assert.equal(init.status, 0, init.stderr);
      assert.deepEqual((JSON.parse(init.stdout) as { id: string }[]).map((c) => c.id).sort(), ['code-signing-1', 'meters-1', 'readers-1', 'root-1', 'services-1', 'vehicles-1']);
      assert.equal(runCli(['tenant', 'create', 'transit', '-n', 'Transit', ...d], env).status, 0);
      const reg = runCli(['device', 'register', 'gate-1', '--tenant', 'transit', '--type', 'gate', '--site', 'Central', ...d, '--json'], env);
      assert.equal((JSON.parse(reg.stdout) as { state: string }).state, 'pending');
      const boot = runCli(['device', 'bootstrap', 'gate-1', '--tenant', 'transit', '--ttl', '600', ...d, '--json'], env);
      assert.match((JSON.parse(boot.stdout) as { token: string }).token, /^ctb_/);
      const csr = join(tmp.dir, 'gate.csr');
      writeFileSync(csr, toPem('CERTIFICATE REQUEST', makeCsr(keyPair())));
      const issued = runCli(['cert', 'issue', '--csr', csr, '--tenant', 'transit', '--device', 'gate-1', ...d, '--json'], env);
      assert.equal(issued.status, 0, issued.stderr);
      const serial = (JSON.parse(issued.stdout) as { serial: string }).serial;
      const revoked = runCli(['cert', 'revoke', serial, '--reason', 'superseded', ...d, '--json'], env);
      assert.equal((JSON.parse(revoked.stdout) as { reason: string }).reason, 'superseded');
      const list = runCli(['cert', 'list', '--tenant', 'transit', ...d, '--json'], env);
      assert.deepEqual((JSON.parse(list.stdout) as { serial: string; status: string }[]).map((c) => `${c.serial}:${c.status}`), [`${serial}:revoked`]);
      const again = runCli(['cert', 'revoke', serial, ...d], env);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /^error PKI_CERT_ALREADY_REVOKED: /);
      // A head-end certificate for a vault key of the tenant (no CSR).
      const ctx = await openContext(loadConfig({ env: {}, overrides: { dataDir: join(tmp.dir, 'data'), 'vault.devUnseal': true } }), { logger: silentLogger() });
      const ka = await ctx.vault.createKey({ actor: 'test', tenant: 'transit' }, { type: 'ec-p256', label: 'head-end key agreement', usages: ['derive'] });
      await closeContext(ctx);
      const both = runCli(['cert', 'issue', '--csr', csr, '--key', ka.id, '--tenant', 'transit', '--profile', 'head-end', ...d], env);
      assert.match(both.stderr, /^error INPUT_INVALID: /);
      const headEnd = runCli(['cert', 'issue', '--key', ka.id, '--tenant', 'transit', '--profile', 'head-end', ...d, '--json'], env);
      assert.equal(headEnd.status, 0, headEnd.stderr);
      assert.deepEqual((JSON.parse(headEnd.stdout) as { sans: string[] }).sans, ['uri:urn:citytrust:service:transit:head-end']);
    } finally {
      tmp.remove();
    }
  });

  it('document themselves with --help and examples', () => {
    const issue = runCli(['cert', 'issue', '--help']);
    assert.equal(issue.status, 0);
    assert.match(issue.stdout, /Usage: citytrust cert issue[\s\S]*Examples:/);
    assert.match(runCli(['cert', 'revoke', '--help']).stdout, /keyCompromise/);
  });
});
