/**
 * The console's step-by-step event verification (console/src/lib/audit-proof.ts) against a
 * real server's answers, and against a server that lies in each way the steps are there for.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { auth, testApp, type TestApp } from '../helpers/app.ts';
import { toBase64 } from '../../console/src/lib/bytes.ts';
import { verifyAdvance, verifyCheckpointAnswer, verifyEvent, type CheckpointAnswer, type ProofSource } from '../../console/src/lib/audit-proof.ts';
import type { AuditEventRow } from '../../console/src/lib/leaf.ts';

type Row = AuditEventRow & { leafHash: string };

let t: TestApp;

async function get<T>(url: string): Promise<T> {
  const r = await t.app.inject({ method: 'GET', url, headers: auth(t.adminToken) });
  assert.equal(r.statusCode, 200, r.body);
  return r.json() as T;
}

const honest = (): ProofSource => ({
  checkpoint: () => get<CheckpointAnswer>('/v1/audit/checkpoint'),
  inclusion: (i, n) => get(`/v1/audit/proof/inclusion?index=${i}&size=${n}`),
  consistency: (a, b) => get(`/v1/audit/proof/consistency?from=${a}&to=${b}`),
});

before(async () => {
  t = await testApp();
  for (const id of ['metro', 'campus', 'utility']) await t.ctx.tenants.create({ id, name: id }, 'test');
  await t.ctx.audit.checkpoint();
});
after(() => t.close());

describe('verifying an audit event in the browser', () => {
  it('passes all three steps for every event a real server logged and checkpointed', async () => {
    const events = await get<Row[]>('/v1/audit/events');
    assert.ok(events.length >= 3);
    for (const e of events) {
      const r = await verifyEvent(e, honest());
      assert.equal(r.ok, true, JSON.stringify(r.steps));
      assert.deepEqual(r.steps.map((s) => [s.id, s.state]), [['leaf', 'ok'], ['signature', 'ok'], ['inclusion', 'ok']]);
      assert.equal(r.checkpoint?.origin, t.ctx.config.audit.logName);
    }
  });

  it('fails the leaf step when the row shown differs from the row logged', async () => {
    const [e] = await get<Row[]>('/v1/audit/events');
    const r = await verifyEvent({ ...e!, subject: `${e!.subject}-edited` }, honest());
    assert.equal(r.ok, false);
    assert.deepEqual(r.steps.map((s) => [s.id, s.state, s.code]), [['leaf', 'failed', 'AUDIT_LEAF_MISMATCH']]);
  });

  it('fails the signature step when the checkpoint is signed by a key other than the one pinned', async () => {
    const [e] = await get<Row[]>('/v1/audit/events');
    const r = await verifyEvent(e!, honest(), 'someone.else+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(r.steps.at(-1)?.id, 'signature');
    assert.equal(r.steps.at(-1)?.code, 'AUDIT_KEY_INVALID');
  });

  it('accepts the pinned key when it is the log key the CLI prints', async () => {
    const [e] = await get<Row[]>('/v1/audit/events');
    const { vkey } = await verifyCheckpointAnswer(await honest().checkpoint());
    assert.equal((await verifyEvent(e!, honest(), vkey)).ok, true);
  });

  it('fails the signature step when the server edits the checkpoint it signed', async () => {
    const [e] = await get<Row[]>('/v1/audit/events');
    const lying: ProofSource = {
      ...honest(),
      checkpoint: async () => {
        const c = await honest().checkpoint();
        return { ...c, note: c.note.replace(`\n${c.size}\n`, `\n${c.size + 1}\n`) };
      },
    };
    const r = await verifyEvent(e!, lying);
    assert.deepEqual(r.steps.map((s) => [s.id, s.state, s.code]).at(-1), ['signature', 'failed', 'AUDIT_CHECKPOINT_INVALID']);
  });

  it('fails the inclusion step when the proof leads to a root other than the signed one', async () => {
    const events = await get<Row[]>('/v1/audit/events');
    const e = events[1]!;
    const lying: ProofSource = {
      ...honest(),
      // A self-consistent answer for another tree: its own root matches its path, the signed root does not.
      inclusion: async (i, n) => {
        const p = await honest().inclusion(i, n);
        return { ...p, proof: p.proof.map(() => toBase64(new Uint8Array(32).fill(1))), root: p.root };
      },
    };
    const r = await verifyEvent(e, lying);
    assert.deepEqual(r.steps.at(-1), { id: 'inclusion', state: 'failed', detail: 'inclusion proof does not lead to the expected root', code: 'AUDIT_PROOF_INVALID' });
  });

  it('says an event is waiting when the latest checkpoint does not cover it yet', async () => {
    await t.ctx.audit.append({ actor: 'test', tenant: null, action: 'test.fresh', subject: 'x' });
    const events = await get<Row[]>('/v1/audit/events?action=test.fresh');
    const r = await verifyEvent(events[0]!, honest());
    assert.equal(r.ok, false);
    assert.equal(r.steps.at(-1)?.state, 'waiting');
    await t.ctx.audit.checkpoint();
    assert.equal((await verifyEvent(events[0]!, honest())).ok, true);
  });
});

describe('watching the log grow', () => {
  it('accepts a newer checkpoint that extends the one seen before', async () => {
    const first = (await verifyCheckpointAnswer(await honest().checkpoint())).checkpoint;
    await t.ctx.tenants.create({ id: 'buildings', name: 'Buildings' }, 'test');
    await t.ctx.audit.checkpoint();
    const second = (await verifyCheckpointAnswer(await honest().checkpoint())).checkpoint;
    assert.ok(second.size > first.size);
    const head = await verifyAdvance({ size: first.size, root: first.rootHash }, second, honest());
    assert.equal(head.size, second.size);
  });

  it('refuses a checkpoint that does not extend the head seen before, or a log that shrank', async () => {
    const cp = (await verifyCheckpointAnswer(await honest().checkpoint())).checkpoint;
    const forgedPrev = { size: cp.size - 1, root: new Uint8Array(32).fill(3) };
    await assert.rejects(verifyAdvance(forgedPrev, cp, honest()), (e: unknown) => (e as { code?: string }).code === 'AUDIT_PROOF_INVALID');
    await assert.rejects(verifyAdvance({ size: cp.size + 5, root: cp.rootHash }, cp, honest()), /shrank/);
  });
});
