/**
 * DESIGN "Boundaries": device-side code never imports server-side code. The reader, wallet
 * and meter SDKs ship to devices with no database, so a value import of the store, the
 * server, the CLI, the simulator or a vault backend (or of their packages) is a defect.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findViolations, listTs } from '../helpers/import-graph.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Folders that are device-side as a whole. */
const DEVICE_DIRS = ['src/crypto', 'src/tap', 'src/wallet', 'src/reader'];
/** Device-side entry points inside mixed folders (subpath exports and their verify code). */
const DEVICE_FILES = ['src/metering/meter.ts', 'src/credentials/device.ts', 'src/updates/client.ts', 'src/pki/validate.ts', 'src/core/index.ts'];
const FORBIDDEN_DIRS = ['src/store', 'src/server', 'src/cli', 'src/sim', 'src/vault/software', 'src/vault/pkcs11', 'src/access'];
const FORBIDDEN_PACKAGES = ['kysely', 'pg', 'fastify', '@fastify/helmet', '@fastify/rate-limit', '@fastify/swagger', '@fastify/swagger-ui', 'aedes', 'pkcs11js', 'graphene-pk11', 'prom-client'];

function deviceEntries(): string[] {
  const files = DEVICE_DIRS.flatMap((d) => listTs(join(ROOT, d)).map((f) => f.slice(ROOT.length)));
  return [...files, ...DEVICE_FILES.filter((f) => existsSync(join(ROOT, f)))];
}

describe('the device/server import boundary', () => {
  it('holds for every device-side file', () => {
    const entries = deviceEntries();
    assert.ok(entries.length > 0, 'there is device-side code to check');
    const v = findViolations(ROOT, entries, FORBIDDEN_DIRS, FORBIDDEN_PACKAGES);
    assert.deepEqual(
      v.map((x) => `${x.chain.join(' -> ')} -> ${x.target}`),
      [],
      'device-side code must not import server-side code',
    );
  });

  it('catches a device file that imports the store through another file', () => {
    const tmp = tempDir();
    try {
      mkdirSync(join(tmp.dir, 'src/reader'), { recursive: true });
      mkdirSync(join(tmp.dir, 'src/store'), { recursive: true });
      writeFileSync(join(tmp.dir, 'src/store/db.ts'), 'export const db = 1;\n');
      writeFileSync(join(tmp.dir, 'src/reader/helper.ts'), "import { db } from '../store/db.ts';\nexport const x = db;\n");
      writeFileSync(join(tmp.dir, 'src/reader/index.ts'), "import type { Thing } from '../store/db.ts';\nexport { x } from './helper.ts';\n");
      writeFileSync(join(tmp.dir, 'src/reader/pkg.ts'), "import Fastify from 'fastify';\nexport default Fastify;\n");
      const v = findViolations(tmp.dir, ['src/reader/index.ts', 'src/reader/pkg.ts'], ['src/store'], ['fastify']);
      assert.deepEqual(
        v.map((x) => x.target),
        ['src/store/db.ts', 'fastify'],
      );
      assert.deepEqual(v[0]!.chain, ['src/reader/index.ts', 'src/reader/helper.ts']);
    } finally {
      tmp.remove();
    }
  });
});
