import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runCli } from '../helpers/cli.ts';
import { buildProgram } from '../../src/cli/program.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('the citytrust command', () => {
  let tmp: ReturnType<typeof tempDir>;
  let dir: string;
  before(() => {
    tmp = tempDir();
    dir = join(tmp.dir, 'data');
  });
  after(() => tmp.remove());

  it('gives every command a description, help text and --json', () => {
    const walk = (c: Command, path: string[]): [string[], Command][] => [[path, c], ...c.commands.flatMap((s) => walk(s, [...path, s.name()]))];
    const all = walk(buildProgram(), []);
    assert.ok(all.length > 25, `found ${all.length} commands`);
    for (const [path, c] of all) {
      assert.ok(c.description().length > 10, `${path.join(' ')} has a description`);
      assert.match(c.helpInformation(), /Usage: /, path.join(' '));
      if (c.commands.length === 0) assert.ok(c.options.some((opt) => opt.long === '--json'), `${path.join(' ')} accepts --json`);
    }
  });

  it('answers --help from the real binary with exit code 0', () => {
    const r = runCli(['vault', 'keys', 'create', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: citytrust vault keys create/);
  });

  it('initialises a data directory once and prints the first admin token once', () => {
    const r = runCli(['init', '-d', dir, '--dev-unseal', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.match(out.token, /^ct_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const again = runCli(['init', '-d', dir]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /error CONFLICT: .*already initialised/);
    assert.match(again.stderr, /remedy:/);
  });

  it('creates and lists tenants and tokens, with --json', () => {
    assert.equal(runCli(['tenant', 'create', 'metro', '--name', 'Metro', '-d', dir]).status, 0);
    const list = JSON.parse(runCli(['tenant', 'list', '-d', dir, '--json']).stdout);
    assert.deepEqual(list.map((t: { id: string }) => t.id), ['metro']);
    const tok = JSON.parse(runCli(['token', 'create', '--tenant', 'metro', '--roles', 'issuer,operator', '-d', dir, '--json']).stdout);
    assert.deepEqual(tok.info.roles, ['issuer', 'operator']);
    const tokens = JSON.parse(runCli(['token', 'list', '-d', dir, '--tenant', 'metro', '--json']).stdout);
    assert.equal(tokens.length, 1);
    assert.equal(JSON.stringify(tokens).includes(tok.token), false);
    const rev = runCli(['token', 'revoke', tok.info.id, '-d', dir, '--json']);
    assert.equal(JSON.parse(rev.stdout).revokedAt !== null, true);
  });

  it('prints the code and a remedy, and exits non-zero, on bad input', () => {
    const r = runCli(['tenant', 'create', 'Bad Id!', '--name', 'x', '-d', dir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error INPUT_INVALID: /);
    const j = runCli(['token', 'create', '--roles', 'emperor', '-d', dir, '--json']);
    assert.equal(j.status, 1);
    assert.equal(JSON.parse(j.stdout).error.code, 'INPUT_INVALID');
  });

  it('names the bad key of a malformed configuration', () => {
    const cfg = join(tmp.dir, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ server: { port: 'eighty' } }));
    const r = runCli(['tenant', 'list', '-d', dir, '--config', cfg]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /error CONFIG_INVALID: configuration key "server.port"/);
    writeFileSync(cfg, JSON.stringify({ sever: { port: 1 } }));
    assert.match(runCli(['tenant', 'list', '-d', dir, '--config', cfg]).stderr, /"sever.port" is not a known setting/);
    writeFileSync(cfg, '{ not json');
    assert.match(runCli(['tenant', 'list', '-d', dir, '--config', cfg]).stderr, /CONFIG_INVALID: configuration file .* is not valid JSON/);
    assert.match(runCli(['tenant', 'list', '-d', dir], { CITYTRUST_LOG_LEVEL: 'loud' }).stderr, /log.level \(CITYTRUST_LOG_LEVEL\)/);
  });

  it('signs a checkpoint, proves inclusion, and verifies the log', () => {
    const cp = JSON.parse(runCli(['audit', 'checkpoint', '-d', dir, '--json']).stdout);
    assert.ok(cp.size >= 4);
    assert.match(cp.note, /\n\n— citytrust\.local\/audit /);
    assert.match(cp.vkey, /^citytrust\.local\/audit\+[0-9a-f]{8}\+/);
    const proof = JSON.parse(runCli(['audit', 'prove', '1', '-d', dir, '--json']).stdout);
    assert.equal(proof.size, cp.size);
    assert.ok(proof.inclusion.length > 0);
    const ok = runCli(['audit', 'verify', '-d', dir, '--json', '--vkey', cp.vkey]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.equal(JSON.parse(ok.stdout).ok, true);
  });

  it('fails audit verify with exit code 3 after a row is edited in the database', () => {
    const db = new DatabaseSync(join(dir, 'citytrust.sqlite'));
    db.exec("update audit_events set actor = 'someone-else' where seq = 0");
    db.close();
    const r = runCli(['audit', 'verify', '-d', dir]);
    assert.equal(r.status, 3);
    assert.match(r.stdout, /FAILED/);
    assert.match(r.stdout, /leaf-hash-mismatch\] at 0/);
  });
});
