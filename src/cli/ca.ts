import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { toPem } from '../pki/index.ts';
import { action, out, table, withCommon, withContext, type GlobalOptions } from './common.ts';

const ACTOR = 'system:cli';

export function caCommand(): Command {
  const cmd = new Command('ca').description('the city certificate authority: root and issuing CAs, keys in the vault');
  cmd.addCommand(
    withCommon(new Command('init'))
      .description('create the root CA and the issuing CAs (readers, vehicles, meters, services, code-signing); once per city')
      .addHelpText('after', '\nExamples:\n  citytrust ca init\n  citytrust ca init --json | jq -r \'.[] | select(.purpose=="root") | .certificatePem\' > root.pem')
      .action(
        action(async (o: GlobalOptions) => {
          const cas = await withContext(o, (ctx) => ctx.pki.init(ACTOR));
          out(o, cas, () => `created ${cas.length} CAs\n${table(cas as unknown as Record<string, unknown>[], ['id', 'keyType', 'subject', 'serial'])}`);
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('list'))
      .description('list the CAs, every generation, with their state')
      .addHelpText('after', '\nExample:\n  citytrust ca list --json')
      .action(
        action(async (o: GlobalOptions) => {
          const cas = await withContext(o, (ctx) => ctx.pki.listCas());
          const rows = cas.map((c) => ({ ...c, notAfter: new Date(c.notAfter).toISOString() }));
          out(o, cas, () => table(rows as unknown as Record<string, unknown>[], ['id', 'state', 'keyType', 'notAfter', 'subject']));
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('rollover'))
      .description('roll an issuing CA over to a new key; the old one stops issuing but keeps CRL and OCSP until it expires')
      .argument('<purpose>', 'readers | vehicles | meters | services | code-signing')
      .addHelpText('after', '\nExample:\n  citytrust ca rollover meters')
      .action(
        action(async (purpose: string, o: GlobalOptions) => {
          const ca = await withContext(o, (ctx) => ctx.pki.rollover(purpose, ACTOR));
          out(o, ca, () => `created ${ca.id}; the previous ${purpose} CA is retired`);
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('cert'))
      .description('print a CA certificate (PEM), or write it to a file')
      .argument('<id>', 'CA id, e.g. root-1 or meters-1')
      .option('-o, --out <file>', 'write PEM to this file')
      .addHelpText('after', '\nExample:\n  citytrust ca cert root-1 --out root.pem')
      .action(
        action(async (id: string, o: GlobalOptions & { out?: string }) => {
          const der = await withContext(o, (ctx) => ctx.pki.caCertificate(id));
          const pem = toPem('CERTIFICATE', der);
          if (o.out) writeFileSync(o.out, pem);
          out(o, { id, certificatePem: pem }, () => (o.out ? `wrote ${o.out}` : pem.trimEnd()));
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('crl'))
      .description('write the current CRL of a CA (DER, or PEM with --pem)')
      .argument('<id>', 'CA id, e.g. meters-1')
      .requiredOption('-o, --out <file>', 'output file')
      .option('--pem', 'write PEM instead of DER')
      .addHelpText('after', '\nExample:\n  citytrust ca crl readers-1 --out readers.crl && openssl crl -inform DER -in readers.crl -noout -text')
      .action(
        action(async (id: string, o: GlobalOptions & { out: string; pem?: boolean }) => {
          const crl = await withContext(o, (ctx) => ctx.pki.crl(id));
          writeFileSync(o.out, o.pem ? toPem('X509 CRL', crl.der) : crl.der);
          out(o, { id, number: crl.number, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, file: o.out }, () => `wrote CRL #${crl.number} of ${id} to ${o.out}`);
        }),
      ),
  );
  return cmd;
}
