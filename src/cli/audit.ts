import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { toBase64 } from '../core/bytes.ts';
import { CityTrustError } from '../core/errors.ts';
import { verifyAuditLog } from '../audit/verify.ts';
import { encodeVerifierKey, parseVerifierKey } from '../audit/note-signer.ts';
import { action, out, withCommon, withContext, type GlobalOptions } from './common.ts';

export function auditCommand(): Command {
  const cmd = new Command('audit').description('the tamper-evident audit log: verify, checkpoint, prove');

  cmd.addCommand(
    withCommon(new Command('verify'))
      .description('re-derive the Merkle tree from the stored events and check it against every signed checkpoint')
      .option('--checkpoint <file>', 'also check consistency with a checkpoint note kept outside the database')
      .option('--vkey <vkey>', "the log's verifier key as published (name+keyid+base64); default: this deployment's own key")
      .addHelpText('after', '\nExit code 0 when the log is intact, 3 when a problem was found.')
      .action(
        action(async (o: GlobalOptions & { checkpoint?: string; vkey?: string }) => {
          const report = await withContext(o, async (ctx) => {
            const verifier = o.vkey ? parseVerifierKey(o.vkey) : ctx.audit.verifier;
            let external: string | undefined;
            if (o.checkpoint) {
              try {
                external = readFileSync(o.checkpoint, 'utf8');
              } catch (e) {
                throw new CityTrustError('INPUT_INVALID', `cannot read ${o.checkpoint}`, { cause: e });
              }
            }
            return verifyAuditLog(ctx.store, { verifier, origin: ctx.audit.origin, ...(external !== undefined ? { externalCheckpoint: external } : {}) });
          });
          out(o, report, () =>
            [
              report.ok ? `audit log OK: ${report.size} events, root ${report.root}` : `audit log FAILED verification (${report.problems.length} problem(s)):`,
              ...report.problems.map((p) => `  [${p.kind}] at ${p.at}: ${p.message}`),
              `  signed checkpoints verified: ${report.checkpointsVerified} (latest at size ${report.latestCheckpointSize ?? '-'}); events after it: ${report.uncheckpointed}`,
            ].join('\n'),
          );
          if (!report.ok) process.exitCode = 3;
        }),
      ),
  );

  cmd.addCommand(
    withCommon(new Command('checkpoint'))
      .description('sign a checkpoint now if the log grew, and print the latest checkpoint note and the verifier key')
      .action(
        action(async (o: GlobalOptions) => {
          const r = await withContext(o, async (ctx) => {
            // Signing needs the unsealed vault; a sealed one (production CLI next to a running
            // server, which signs every second) still shows the newest stored checkpoint.
            const signed = ctx.checkpointSigner.bound ? Boolean(await ctx.audit.checkpoint()) : false;
            const c = await ctx.audit.latestCheckpoint();
            const size = await ctx.audit.size();
            return { size: c?.size ?? 0, root: c ? toBase64(c.root) : '', note: c?.note ?? '', vkey: encodeVerifierKey(ctx.audit.verifier), signedNow: signed, logSize: size };
          });
          out(o, r, () =>
            [
              r.note ? r.note.trimEnd() : 'no checkpoint yet',
              `verifier key: ${r.vkey}`,
              ...(r.logSize > r.size ? [`(${r.logSize - r.size} newer events await the next checkpoint; the vault is sealed in this process, the server signs them)`] : []),
            ].join('\n'),
          );
        }),
      ),
  );

  cmd.addCommand(
    withCommon(new Command('prove'))
      .description('print an inclusion proof for event <index> (and with --from, a consistency proof)')
      .argument('<index>', 'event sequence number (0-based)')
      .option('--size <n>', 'tree size to prove against (default: latest checkpoint)')
      .option('--from <n>', 'also prove consistency from this older tree size')
      .action(
        action(async (indexText: string, o: GlobalOptions & { size?: string; from?: string }) => {
          const num = (s: string, what: string) => {
            if (!/^\d{1,15}$/.test(s)) throw new CityTrustError('INPUT_INVALID', `${what} must be a whole number`);
            return Number(s);
          };
          const index = num(indexText, 'index');
          const r = await withContext(o, async (ctx) => {
            const size = o.size !== undefined ? num(o.size, '--size') : ((await ctx.audit.latestCheckpoint())?.size ?? (await ctx.audit.size()));
            const p = await ctx.audit.inclusionProof(index, size);
            const consistency = o.from !== undefined ? (await ctx.audit.consistencyProof(num(o.from, '--from'), size)).map(toBase64) : undefined;
            return { index, size, leafHash: toBase64(p.leafHash), root: toBase64(p.root), inclusion: p.proof.map(toBase64), ...(consistency ? { from: Number(o.from), consistency } : {}) };
          });
          out(o, r, () =>
            [
              `event ${r.index} in tree of size ${r.size}`,
              `  leaf hash: ${r.leafHash}`,
              `  root:      ${r.root}`,
              '  inclusion proof:',
              ...r.inclusion.map((h) => `    ${h}`),
              ...(r.consistency ? [`  consistency proof from size ${r.from}:`, ...r.consistency.map((h) => `    ${h}`)] : []),
            ].join('\n'),
          );
        }),
      ),
  );
  return cmd;
}
