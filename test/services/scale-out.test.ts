/**
 * Two `citytrust serve` instances on one PostgreSQL database serve the same tenants at the
 * same time; the audit log stays one consistent tree with no gaps or forks.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import { runCli, startServer } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { verifyConsistency, verifyInclusion } from '../../src/audit/merkle.ts';
import { fromBase64 } from '../../src/core/bytes.ts';

describe('two server instances on one PostgreSQL database', () => {
  const tmp = tempDir();
  let drop: (() => Promise<void>) | undefined;
  const children: { kill: (s?: NodeJS.Signals) => boolean }[] = [];
  after(async () => {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await drop?.();
    tmp.remove();
  });

  it('append concurrently into one dense, consistent, verifiable log', async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    // One data directory holds the shared checkpoint key; the database is the shared state.
    const dir = join(tmp.dir, 'data');
    const env = { DATABASE_URL: db.url };
    const init = runCli(['init', '-d', dir, '--dev-unseal', '--json'], env);
    assert.equal(init.status, 0, init.stderr);
    const token = JSON.parse(init.stdout).token as string;
    const a = await startServer(['-d', dir], env);
    const b = await startServer(['-d', dir], env);
    children.push(a.child, b.child);
    const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

    const tenant = await fetch(`${a.url}/v1/tenants`, { method: 'POST', headers: h, body: JSON.stringify({ id: 'metro', name: 'Metro' }) });
    assert.equal(tenant.status, 201);
    const seenByB = (await (await fetch(`${b.url}/v1/tenants`, { headers: h })).json()) as { id: string }[];
    assert.deepEqual(seenByB.map((t) => t.id), ['metro'], 'instance B serves the tenant A created');

    const acked = new Map<number, string>();
    await Promise.all(
      Array.from({ length: 24 }, async (_, w) => {
        const url = w % 2 === 0 ? a.url : b.url;
        for (let i = 0; i < 40; i++) {
          const subject = `w${w}-${i}`;
          const r = await fetch(`${url}/v1/audit/annotations`, { method: 'POST', headers: h, body: JSON.stringify({ subject, text: 'scale-out' }) });
          assert.equal(r.status, 201);
          const { index } = (await r.json()) as { index: number };
          assert.equal(acked.has(index), false, `index ${index} handed out twice (fork)`);
          acked.set(index, subject);
        }
      }),
    );
    assert.equal(acked.size, 24 * 40);

    // Wait until the log is quiet (the vaults' usage counters also append events) and both
    // instances have checkpointed its final size; then cross-check rows, heads and proofs.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    type Cp = { size: number; root: string };
    let rows: { seq: string; subject: string }[] = [];
    let cpA: Cp = { size: -1, root: '' };
    let cpB: Cp = { size: -2, root: '' };
    for (let i = 0; i < 40 && !(cpA.size === rows.length && cpB.size === rows.length && cpA.root === cpB.root); i++) {
      await new Promise((r) => setTimeout(r, 500));
      rows = (await client.query('select seq, subject from audit_events order by seq')).rows as typeof rows;
      cpA = (await (await fetch(`${a.url}/v1/audit/checkpoint`, { headers: h })).json()) as Cp;
      cpB = (await (await fetch(`${b.url}/v1/audit/checkpoint`, { headers: h })).json()) as Cp;
    }
    await client.end();
    rows.forEach((r, i) => assert.equal(Number(r.seq), i, 'no gaps'));
    for (const [index, subject] of acked) assert.equal(rows[index]!.subject, subject);
    assert.equal(cpA.size, rows.length);
    assert.deepEqual(cpA, cpB, 'both instances report the same signed head');
    const incl = (await (await fetch(`${b.url}/v1/audit/proof/inclusion?index=100&size=${cpA.size}`, { headers: h })).json()) as { leafHash: string; proof: string[] };
    verifyInclusion(fromBase64(incl.leafHash), 100, cpA.size, incl.proof.map(fromBase64), fromBase64(cpA.root));
    const oldRoot = (await (await fetch(`${a.url}/v1/audit/proof/inclusion?index=0&size=50`, { headers: h })).json()) as { root: string };
    const cons = (await (await fetch(`${b.url}/v1/audit/proof/consistency?from=50&to=${cpA.size}`, { headers: h })).json()) as { proof: string[] };
    verifyConsistency(50, cpA.size, cons.proof.map(fromBase64), fromBase64(oldRoot.root), fromBase64(cpA.root));

    const v = runCli(['audit', 'verify', '-d', dir, '--json'], env);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const report = JSON.parse(v.stdout);
    assert.equal(report.ok, true);
    assert.ok(report.size >= rows.length, 'verify saw every event (opening the vault for verify may append its own)');
  });
});
