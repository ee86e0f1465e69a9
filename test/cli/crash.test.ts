/**
 * kill -9 of the server during a burst of audit appends loses no acknowledged event and
 * leaves a log that `audit verify` accepts.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { runCli, startServer } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('when the server is killed with SIGKILL during a burst of appends', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it('keeps every acknowledged event and a log that verifies', async () => {
    const dir = join(tmp.dir, 'data');
    const token = JSON.parse(runCli(['init', '-d', dir, '--dev-unseal', '--json']).stdout).token as string;
    const acked = new Map<number, string>();
    for (let round = 0; round < 3; round++) {
      const { child, url } = await startServer(['-d', dir]);
      let stop = false;
      const workers = Array.from({ length: 16 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const subject = `r${round}-w${w}-${i}`;
          try {
            const r = await fetch(`${url}/v1/audit/annotations`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body: JSON.stringify({ subject, text: 'burst' }),
            });
            if (r.status === 201) acked.set(((await r.json()) as { index: number }).index, subject);
          } catch {
            return; // the server died under us: this request was never acknowledged
          }
        }
      });
      // Kill mid-burst: once this round has had acknowledgements (so appends are in flight),
      // at a moment that differs per round. Waiting on acks, not on time, keeps the test
      // meaningful on a loaded machine.
      const before = acked.size;
      const deadline = Date.now() + 60_000;
      while (acked.size - before < 30 + round * 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGKILL');
      stop = true;
      await Promise.all(workers);
      await new Promise((r) => child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r));
    }
    assert.ok(acked.size > 50, `the burst acknowledged ${acked.size} events`);

    const db = new DatabaseSync(join(dir, 'citytrust.sqlite'));
    const rows = db.prepare("select seq, subject from audit_events where action = 'audit.annotation'").all() as { seq: number; subject: string }[];
    db.close();
    const stored = new Map(rows.map((r) => [Number(r.seq), r.subject]));
    for (const [index, subject] of acked) assert.equal(stored.get(index), subject, `acknowledged event ${index} survived`);

    const v = runCli(['audit', 'verify', '-d', dir, '--json']);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.equal(JSON.parse(v.stdout).ok, true);
  });
});
