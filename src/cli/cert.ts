import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { CityTrustError } from '../core/errors.ts';
import { OPERATOR_PROFILES, OPERATOR_REASONS } from '../pki/index.ts';
import { action, out, table, withCommon, withContext, type GlobalOptions } from './common.ts';

const ACTOR = 'system:cli';

function readFile(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch (e) {
    throw new CityTrustError('INPUT_INVALID', `cannot read ${path}`, { cause: e });
  }
}

const list = (v: string | undefined) => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined);

export function certCommand(): Command {
  const cmd = new Command('cert').description('issue, list, show and revoke certificates');
  cmd.addCommand(
    withCommon(new Command('issue'))
      .description('issue a certificate from a PKCS#10 CSR (or for a tenant vault key); the profile decides usage, names and validity')
      .option('--csr <file>', 'CSR file (PEM or DER)')
      .option('--key <keyId>', 'certify this vault key of --tenant instead of a CSR (profiles head-end, head-end-command)')
      .option('--tenant <tenant>', 'tenant of the device')
      .option('--device <id>', 'registered device the certificate is for')
      .option('--profile <profile>', `profile (${OPERATOR_PROFILES.join(', ')}); default: the device type's`)
      .option('--dns <names>', 'tls-server: comma-separated DNS names')
      .option('--ip <addresses>', 'tls-server: comma-separated IPv4 addresses')
      .option('-o, --out <file>', 'write the certificate and chain (PEM) to this file')
      .addHelpText('after', '\nExamples:\n  citytrust cert issue --csr gate.csr --tenant transit --device gate-17 --out gate.pem\n  citytrust cert issue --csr web.csr --profile tls-server --dns api.citytrust.local\n  citytrust cert issue --tenant utility --key vk_0123… --profile head-end')
      .action(
        action(async (o: GlobalOptions & { csr?: string; key?: string; tenant?: string; device?: string; profile?: string; dns?: string; ip?: string; out?: string }) => {
          if ((o.csr === undefined) === (o.key === undefined)) throw new CityTrustError('INPUT_INVALID', 'give exactly one of --csr and --key');
          const dnsNames = list(o.dns);
          const ipAddresses = list(o.ip);
          const key = o.key;
          if (key !== undefined && (o.device || dnsNames || ipAddresses)) throw new CityTrustError('INPUT_INVALID', '--key takes --tenant and --profile only');
          const csr = o.csr !== undefined ? readFile(o.csr) : '';
          const issued = await withContext(o, (ctx) =>
            key !== undefined
              ? ctx.pki.issueForVaultKey(null, { tenant: o.tenant ?? '', keyId: key, profile: o.profile ?? '' }, ACTOR)
              : ctx.pki.issue(null, { csr, ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.device ? { deviceId: o.device } : {}), ...(o.profile ? { profile: o.profile } : {}), ...(dnsNames ? { dnsNames } : {}), ...(ipAddresses ? { ipAddresses } : {}) }, ACTOR),
          );
          if (o.out) writeFileSync(o.out, issued.certificatePem + issued.chainPem.join(''));
          const { der: _der, ...shown } = issued;
          out(o, shown, () => `issued ${issued.profile} certificate ${issued.serial} (${issued.subject}), valid until ${new Date(issued.notAfter).toISOString()}${o.out ? `; wrote ${o.out}` : `\n${issued.certificatePem.trimEnd()}`}`);
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('list'))
      .description('list certificates, newest first')
      .option('--tenant <tenant>', 'only this tenant')
      .option('--device <id>', 'only this device')
      .option('--status <status>', 'good | revoked | hold')
      .option('--profile <profile>', 'only this profile')
      .option('--limit <n>', 'at most this many (default 100)')
      .addHelpText('after', '\nExample:\n  citytrust cert list --tenant transit --status revoked --json')
      .action(
        action(async (o: GlobalOptions & { tenant?: string; device?: string; status?: string; profile?: string; limit?: string }) => {
          if (o.status && !['good', 'revoked', 'hold'].includes(o.status)) throw new CityTrustError('INPUT_INVALID', '--status is good, revoked or hold');
          const rows = await withContext(o, (ctx) =>
            ctx.pki.listCertificates(null, { ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.device ? { deviceId: o.device } : {}), ...(o.status ? { status: o.status as 'good' } : {}), ...(o.profile ? { profile: o.profile } : {}), ...(o.limit ? { limit: Number(o.limit) } : {}) }),
          );
          const shown = rows.map(({ certificatePem: _p, ...r }) => ({ ...r, notAfter: new Date(r.notAfter).toISOString() }));
          out(o, rows, () => table(shown as unknown as Record<string, unknown>[], ['serial', 'profile', 'tenant', 'deviceId', 'status', 'reason', 'notAfter']));
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('show'))
      .description('show one certificate')
      .argument('<serial>', 'serial number (hex)')
      .addHelpText('after', '\nExample:\n  citytrust cert show 4f6abb22ffc743eb8d04216c98fc5b52')
      .action(
        action(async (serial: string, o: GlobalOptions) => {
          const c = await withContext(o, (ctx) => ctx.pki.getCertificate(null, serial));
          out(o, c, () => `${c.serial}  ${c.profile}  ${c.status}${c.reason ? ` (${c.reason})` : ''}\n  subject ${c.subject}\n  names   ${c.sans.join(', ')}\n  CA ${c.caId}, valid ${new Date(c.notBefore).toISOString()} .. ${new Date(c.notAfter).toISOString()}\n${c.certificatePem.trimEnd()}`);
        }),
      ),
  );
  cmd.addCommand(
    withCommon(new Command('revoke'))
      .description('revoke a certificate; the CRL is re-signed and OCSP answers revoked at once')
      .argument('<serial>', 'serial number (hex)')
      .option('-r, --reason <reason>', OPERATOR_REASONS.join(' | '), 'unspecified')
      .addHelpText('after', '\nExample:\n  citytrust cert revoke 4f6abb22ffc743eb8d04216c98fc5b52 --reason keyCompromise')
      .action(
        action(async (serial: string, o: GlobalOptions & { reason: string }) => {
          const c = await withContext(o, (ctx) => ctx.pki.revoke(null, serial, o.reason, ACTOR));
          out(o, c, () => `revoked ${c.serial} (${c.reason})`);
        }),
      ),
  );
  return cmd;
}
