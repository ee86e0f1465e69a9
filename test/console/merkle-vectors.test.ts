/**
 * The console's in-browser RFC 9162 verifier (console/src/lib/merkle.ts, WebCrypto SHA-256)
 * against transparency-dev/merkle's public vectors (../shared/vectors/merkle): every happy
 * path verifies, every wantErr vector is rejected with the server's code for it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBase64 } from '../../console/src/lib/bytes.ts';
import { verifyConsistency, verifyInclusion } from '../../console/src/lib/merkle.ts';
import { isVerifyError } from '../../console/src/lib/verify-error.ts';

const ROOT = fileURLToPath(new URL('../../../shared/vectors/merkle/', import.meta.url));

function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...jsonFiles(p));
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

// Parse boundary: vector files are JSON objects of a known shape, narrowed field by field.
function load(path: string): Record<string, unknown> {
  const v: unknown = JSON.parse(readFileSync(path, 'utf8'));
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), `${path} is not an object`);
  return v as Record<string, unknown>;
}

const num = (v: Record<string, unknown>, k: string): number => {
  assert.equal(typeof v[k], 'number', k);
  return v[k] as number;
};
const bytes = (v: Record<string, unknown>, k: string): Uint8Array => {
  assert.equal(typeof v[k], 'string', k);
  return fromBase64(v[k] as string);
};
const hashes = (v: Record<string, unknown>, k: string): Uint8Array[] => {
  const x = v[k];
  // Go writes an empty proof (a nil slice) as null.
  if (x === null) return [];
  assert.ok(Array.isArray(x), k);
  return x.map((s: unknown) => fromBase64(s as string));
};

async function expectOutcome(run: () => Promise<void>, wantErr: boolean): Promise<void> {
  if (!wantErr) return run();
  await assert.rejects(run, (e: unknown) => isVerifyError(e, 'AUDIT_PROOF_INVALID') || isVerifyError(e, 'AUDIT_RANGE_INVALID'));
}

const label = (path: string, v: Record<string, unknown>): string => `${relative(ROOT, path)} (${String(v['desc'])}) ${v['wantErr'] === true ? 'is rejected' : 'verifies'}`;

describe('the console verifies RFC 9162 inclusion proofs like transparency-dev', () => {
  const files = jsonFiles(join(ROOT, 'inclusion'));
  it('finds the inclusion vectors, happy and unhappy', () => {
    assert.ok(files.length >= 90, `only ${files.length} vectors`);
    const loaded = files.map(load);
    assert.ok(loaded.some((v) => v['wantErr'] === true) && loaded.some((v) => v['wantErr'] !== true));
  });
  for (const path of files) {
    const v = load(path);
    it(label(path, v), () =>
      expectOutcome(() => verifyInclusion(bytes(v, 'leafHash'), num(v, 'leafIdx'), num(v, 'treeSize'), hashes(v, 'proof'), bytes(v, 'root')), v['wantErr'] === true),
    );
  }
});

describe('the console verifies RFC 9162 consistency proofs like transparency-dev', () => {
  const files = jsonFiles(join(ROOT, 'consistency'));
  it('finds the consistency vectors', () => assert.ok(files.length >= 90, `only ${files.length} vectors`));
  for (const path of files) {
    const v = load(path);
    it(label(path, v), () =>
      expectOutcome(() => verifyConsistency(num(v, 'size1'), num(v, 'size2'), hashes(v, 'proof'), bytes(v, 'root1'), bytes(v, 'root2')), v['wantErr'] === true),
    );
  }
});
