/**
 * Runs one test suite with node's test runner and fails when it ran no test.
 *   unit:     everything under test/ except test/services and test/interop (no external service)
 *   services: test/services and test/interop (PostgreSQL, Mosquitto, SoftHSM2, openssl, Chromium)
 * The spec reporter's summary (ℹ tests / pass / fail) goes to stdout for CI to read.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const suite = process.argv[2] ?? 'unit';
const extra = process.argv.slice(3);

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const all = walk('test', []).sort();
const isService = (f: string) => f.startsWith(join('test', 'services')) || f.startsWith(join('test', 'interop'));
let files = suite === 'services' ? all.filter(isService) : all.filter((f) => !isService(f));
if (extra.length > 0) files = files.filter((f) => extra.some((x) => f.includes(x)));

if (files.length === 0) {
  console.error(`run-tests: suite "${suite}" has no test files`);
  process.exit(1);
}

const tmp = mkdtempSync(join(tmpdir(), 'citytrust-tests-'));
const summaryFile = join(tmp, 'summary.tap');
const args = [
  '--test',
  `--test-concurrency=${suite === 'services' ? 1 : 2}`,
  '--test-timeout=300000',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=tap',
  `--test-reporter-destination=${summaryFile}`,
  ...files,
];
const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, CITYTRUST_TEST_SUITE: suite } });
child.on('exit', (code, signal) => {
  let tests = 0;
  try {
    const tap = readFileSync(summaryFile, 'utf8');
    const m = /^# tests (\d+)$/m.exec(tap);
    tests = m ? Number(m[1]) : 0;
  } catch {
    tests = 0;
  }
  rmSync(tmp, { recursive: true, force: true });
  if (code === 0 && tests === 0) {
    console.error(`run-tests: suite "${suite}" ran no test`);
    process.exit(1);
  }
  process.exit(code ?? (signal ? 1 : 0));
});
