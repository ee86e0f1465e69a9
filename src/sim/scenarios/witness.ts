/**
 * An audit-log witness, as an outside party would run one: it keeps the last checkpoint it
 * saw and, at each new one, checks the signature and a consistency proof from the old size.
 * A log that rewrote history would fail here within a checkpoint interval.
 */
import { openCheckpoint } from '../../audit/checkpoint.ts';
import { verifyConsistency } from '../../audit/merkle.ts';
import type { Scenario, World } from '../types.ts';

interface Seen {
  size: number;
  root: Uint8Array;
}

export function witnessScenario(intervalMs = 2000): Scenario {
  let last: Seen | undefined;
  let timer: NodeJS.Timeout | undefined;
  const check = async (w: World) => {
    const c = await w.ctx.audit.latestCheckpoint();
    if (!c) return;
    const cp = openCheckpoint(c.note, w.ctx.audit.verifier, { origin: w.ctx.audit.origin });
    if (last && cp.size > last.size) {
      verifyConsistency(last.size, cp.size, await w.ctx.audit.consistencyProof(last.size, cp.size), last.root, cp.rootHash);
      w.stats.inc('witness.consistency_ok');
    }
    if (!last || cp.size > last.size) last = { size: cp.size, root: cp.rootHash };
  };
  return {
    name: 'witness',
    async start(w) {
      timer = setInterval(() => {
        check(w).catch((e: unknown) => {
          w.stats.inc('witness.failures');
          w.say(`  WITNESS ALERT: ${e instanceof Error ? e.message : String(e)}`);
        });
      }, intervalMs);
      timer.unref();
    },
    summary: (w) => [`audit log: ${last?.size ?? 0} events under signed checkpoints; witness checked ${w.stats.get('witness.consistency_ok')} consistency proofs, ${w.stats.get('witness.failures')} failures`],
    async stop() {
      if (timer) clearInterval(timer);
    },
  };
}
