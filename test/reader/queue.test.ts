/** The reader's event queue: durable appends, acknowledgement with a snapshot, integrity, and kill -9. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { EventQueue, type ReaderEvent } from '../../src/reader/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const grant = (at: number, credentialId = '00112233aabbccdd'): Omit<ReaderEvent, 'seq'> => ({ at, site: 'hq', allow: true, reason: 'GRANTED', by: 'reader', credentialId, issuer: 'acme', credentialExp: 2_000_000_000, usesCounted: true });

describe('the reader event queue', () => {
  it('keeps every appended event across a reopen and rebuilds use counts from them', (t) => {
    const tmp = tempDir();
    t.after(tmp.remove);
    const q = EventQueue.open(tmp.dir);
    const seqs = [q.append(grant(1)).seq, q.append(grant(2)).seq, q.append({ at: 3, site: 'hq', allow: false, reason: 'TAP_REPLAYED', code: 'TAP_REPLAYED', by: 'reader' }).seq];
    assert.deepEqual(seqs, [1, 2, 3]);
    const again = EventQueue.open(tmp.dir);
    assert.deepEqual(again.pending().map((e) => e.seq), [1, 2, 3]);
    assert.equal(again.state.usesOf('00112233aabbccdd'), 2);
    assert.equal(again.nextSeq, 4);
  });

  it('deletes acknowledged events only after a snapshot covers them: nothing counted twice, sequence numbers never reused', (t) => {
    const tmp = tempDir();
    t.after(tmp.remove);
    const q = EventQueue.open(tmp.dir);
    for (let i = 0; i < 5; i++) q.append(grant(i));
    assert.equal(q.acknowledge(3), 3);
    const again = EventQueue.open(tmp.dir);
    assert.deepEqual(again.pending().map((e) => e.seq), [4, 5]);
    assert.equal(again.state.usesOf('00112233aabbccdd'), 5);
    again.acknowledge(5);
    const third = EventQueue.open(tmp.dir);
    assert.equal(third.size, 0);
    assert.equal(third.state.usesOf('00112233aabbccdd'), 5);
    assert.equal(third.append(grant(9)).seq, 6);
  });

  it('sets aside a file that fails its integrity check and removes unfinished temporary files', (t) => {
    const tmp = tempDir();
    t.after(tmp.remove);
    const q = EventQueue.open(tmp.dir);
    q.append(grant(1));
    q.append(grant(2));
    const events = join(tmp.dir, 'events');
    const second = join(events, '0000000000000002.cbor');
    const bytes = readFileSync(second);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(second, bytes);
    writeFileSync(join(events, '.0000000000000003.cbor.abc.tmp'), 'half');
    const again = EventQueue.open(tmp.dir);
    assert.equal(again.corrupt, 1);
    assert.deepEqual(again.pending().map((e) => e.seq), [1]);
    assert.ok(existsSync(join(events, 'corrupt', '0000000000000002.cbor')), 'kept for inspection');
    assert.equal(readdirSync(events).some((n) => n.endsWith('.tmp')), false);
    assert.equal(again.append(grant(3)).seq, 3, 'a set-aside sequence is not reused');
  });

  it('loses no event a tap reported and counts every use after a kill -9 of the reader process', async (t) => {
    const tmp = tempDir();
    t.after(tmp.remove);
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/tapping-reader.ts', import.meta.url)), tmp.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 40) resolve();
      });
      child.on('exit', () => reject(new Error(`the reader exited early: ${err}`)));
    });
    child.kill('SIGKILL');
    await once(child, 'exit');
    const lines = out.split('\n');
    const cred = lines[0]!.split(' ')[1]!;
    // Only complete lines count: the last one may have been cut by the kill.
    const reported = lines.slice(1, -1).map((l) => l.split(' ')).filter((p) => p.length === 2).map(([s, r]) => ({ seq: Number(s), reason: r! }));
    assert.ok(reported.length >= 30);
    const q = EventQueue.open(tmp.dir);
    const have = new Set(q.pending(1e6).map((e) => e.seq));
    for (const r of reported) assert.ok(have.has(r.seq), `event ${r.seq} survived`);
    assert.equal(q.corrupt, 0);
    const granted = q.pending(1e6).filter((e) => e.allow).length;
    assert.equal(q.state.usesOf(cred), granted, 'every durable grant counts one use, no more');
    assert.ok(granted >= reported.filter((r) => r.reason === 'GRANTED').length);
  });
});
