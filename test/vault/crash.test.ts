import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SoftwareVault } from '../../src/vault/index.ts';
import { FixedClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/log.ts';
import { CITY, MemoryAudit, tempDir } from './helpers.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** Runs the writer until it has acknowledged something, then SIGKILLs it after a random delay. */
function runAndKill(dataDir: string, devFile: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    // process.execPath is the Node 24 binary `npx node` resolves to (the suite runs under it).
    const child = spawn(process.execPath, [join(here, 'fixtures', 'crash-writer.ts'), dataDir, devFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let armed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!armed && out.includes('\n')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), randomInt(5, 250));
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself (${code}): ${err}`));
      // Only complete lines were acknowledged; a torn last line was not.
      resolve(out.split('\n').slice(0, -1));
    });
  });
}

describe('keystore crash safety', () => {
  it('keeps every acknowledged key intact across repeated kill -9 during key creation and rotation', async (t) => {
    const dir = tempDir(t);
    const devFile = join(dir, 'dev-unseal.key');
    const audit = new MemoryAudit();
    const init = await SoftwareVault.open({ dataDir: dir, clock: new FixedClock(), logger: silentLogger(), audit, usageFlushMs: 0 });
    await init.init(CITY, { shares: 1, threshold: 1, devUnsealKeyFile: devFile });
    await init.close();

    const created = new Map<string, string>();
    const versions = new Map<string, number>();
    for (let round = 0; round < 5; round++) {
      for (const line of await runAndKill(dir, devFile)) {
        const [what, id, arg] = line.split(' ') as [string, string, string];
        if (what === 'created') {
          created.set(id, arg);
          versions.set(id, 1);
        } else if (what === 'rotated') versions.set(id, Number(arg));
      }
    }
    assert.ok(created.size >= 5, `the writer acknowledged ${created.size} keys`);

    const v = await SoftwareVault.open({ dataDir: dir, clock: new FixedClock(), logger: silentLogger(), audit, usageFlushMs: 0, devUnsealKeyFile: devFile });
    t.after(() => v.close());
    assert.equal(v.status().state, 'unsealed');
    const caller = { actor: 'token:crash', tenant: null };
    for (const [id, type] of created) {
      const info = await v.getKey(caller, id);
      assert.equal(info.type, type);
      assert.ok(info.currentVersion >= versions.get(id)!, `${id} lost an acknowledged rotation`);
      for (const ver of info.versions) {
        if (type === 'aes-256-gcm') {
          const ct = await v.encrypt(caller, id, new Uint8Array([1, 2, 3]));
          assert.deepEqual(await v.decrypt(caller, id, ct), new Uint8Array([1, 2, 3]));
        } else if (type === 'hmac-sha256') {
          const tag = await v.mac(caller, id, new Uint8Array([1]));
          assert.equal(await v.verifyMac(caller, id, new Uint8Array([1]), tag, ver.version), ver.version === info.currentVersion);
        } else {
          const pub = await v.publicKey(caller, id, ver.version);
          assert.ok(pub.raw.length >= 32);
        }
      }
    }
    // Every key file on disk opened (none torn), and no temp file survived open().
    const files = readdirSync(join(dir, 'vault', 'keys'));
    assert.ok(files.every((f) => f.endsWith('.key')), files.join(', '));
    assert.equal((await v.listKeys(caller)).length, files.length);
  });
});
