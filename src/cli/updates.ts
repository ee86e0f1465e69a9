/**
 * `citytrust updates …`: TUF repositories (docs/updates.md). Repository commands talk to the
 * running server (the vault signs there); `keygen` and `sign-root` run on the custodian's
 * offline machine and never talk to anything.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { CityTrustError, allErrorCodes, type ErrorCode } from '../core/errors.ts';
import { describeDelegationDraft, describeRootDraft, generateOfflineKey, mergeSignedFiles, parseDelegationDraft, parseRootDraft, signDelegationDraft, signRootDraft, type DelegationDraftFile } from '../updates/ceremony.ts';
import { keyType } from '../updates/validate.ts';
import { action, configFrom, out, table, withCommon } from './common.ts';
import { client, withServer, type ClientOptions } from './client.ts';

const remote = (name: string) => withServer(withCommon(new Command(name)));
const collect = (v: string, prev: string[] = []) => [...prev, v];
const int = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const enc = encodeURIComponent;

function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CityTrustError('INPUT_INVALID', `cannot read ${path}`, { cause: e });
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFile(path).toString('utf8'));
  } catch (e) {
    if (e instanceof CityTrustError) throw e;
    throw new CityTrustError('INPUT_INVALID', `${path} is not JSON`, { cause: e });
  }
}

/** Uploads raw bytes (the JSON client cannot); errors come back with their codes. */
async function postBytes<T>(o: ClientOptions, path: string, body: Uint8Array): Promise<T> {
  const base = o.server ?? process.env.CITYTRUST_SERVER ?? (() => { const c = configFrom(o); return `http://${c.server.host}:${c.server.port}`; })();
  const token = o.token ?? process.env.CITYTRUST_TOKEN;
  if (!token) throw new CityTrustError('AUTH_MISSING', 'set CITYTRUST_TOKEN (or --token)');
  let res: Response;
  try {
    res = await fetch(new URL(path, base), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: Buffer.from(body) });
  } catch (e) {
    throw new CityTrustError('UNAVAILABLE', `cannot reach the citytrust server at ${base}`, { cause: e });
  }
  const json = (await res.json().catch(() => undefined)) as { code?: string; message?: string } | undefined;
  if (!res.ok) {
    const code = json?.code && (allErrorCodes() as string[]).includes(json.code) ? (json.code as ErrorCode) : 'INTERNAL';
    throw new CityTrustError(code, json?.message ?? `HTTP ${res.status}`);
  }
  return json as T;
}

interface RepoView {
  id: string;
  tenant: string;
  state: string;
  deviceClasses: string[];
  roles: { name: string; keyids: string[]; threshold: number; deviceClasses?: string[] }[];
  keys: { keyid: string; keytype: string; label: string; custody: string; state: string }[];
  versions: Record<string, number>;
  rootDraft?: { version: number; reason: string };
}

function showRepo(r: RepoView): string {
  return [
    `repository ${r.id} (tenant ${r.tenant}): ${r.state}; device classes ${r.deviceClasses.join(', ')}`,
    table(r.roles.map((x) => ({ role: x.name, threshold: `${x.threshold}/${x.keyids.length}`, version: r.versions[x.name] ?? '-', classes: x.deviceClasses ?? '' })) as Record<string, unknown>[], ['role', 'threshold', 'version', 'classes']),
    table(r.keys.map((k) => ({ keyid: k.keyid.slice(0, 16), type: k.keytype, custody: k.custody, state: k.state, label: k.label })), ['keyid', 'type', 'custody', 'state', 'label']),
    ...(r.rootDraft ? [`root draft v${r.rootDraft.version} awaits signatures (${r.rootDraft.reason}): citytrust updates root-draft ${r.id}`] : []),
  ].join('\n');
}

export function updatesCommand(): Command {
  const cmd = new Command('updates').description('signed software and data for devices (TUF): repositories, publishing, rollout, root ceremony');

  const repo = new Command('repo').description('create, list and show TUF repositories');
  repo.addCommand(
    remote('create')
      .description('create a repository: root, targets, snapshot and timestamp keys in the vault (or offline root keys)')
      .argument('<id>', 'repository id (path segment of /updates/<id>/…)')
      .requiredOption('-t, --tenant <id>', 'owning tenant')
      .requiredOption('--device-class <class>', 'a device class it serves (repeat)', collect)
      .option('--key-type <type>', 'ed25519 or ecdsa-sha2-nistp256', 'ed25519')
      .option('--root-vault-keys <n>', 'root keys held in the vault')
      .option('--offline-key <file>', 'an offline root public key (JSON from `updates keygen`; repeat)', collect)
      .option('--root-threshold <k>', 'root signatures needed')
      .option('--targets-vault-keys <n>', 'targets keys in the vault', '1')
      .option('--targets-threshold <k>', 'targets signatures needed')
      .addHelpText('after', '\nExamples:\n  citytrust updates repo create transit-fw -t transit --device-class reader --device-class gate\n  citytrust updates repo create transit-fw -t transit --device-class reader --offline-key alice.pub.json --offline-key bob.pub.json --offline-key carol.pub.json --root-threshold 2')
      .action(
        action(async (id: string, o: ClientOptions & { tenant: string; deviceClass: string[]; keyType: string; rootVaultKeys?: string; offlineKey?: string[]; rootThreshold?: string; targetsVaultKeys: string; targetsThreshold?: string }) => {
          const offlineKeys = (o.offlineKey ?? []).map((f) => (readJson(f) as { publicKey?: unknown }).publicKey ?? readJson(f));
          const r = await client(o).call<RepoView>('POST', '/v1/updates/repos', {
            id,
            tenant: o.tenant,
            deviceClasses: o.deviceClass,
            keyType: o.keyType,
            root: { vaultKeys: int(o.rootVaultKeys), offlineKeys: offlineKeys.length ? offlineKeys : undefined, threshold: int(o.rootThreshold) },
            targets: { vaultKeys: int(o.targetsVaultKeys), threshold: int(o.targetsThreshold) },
          });
          out(o, r, () => showRepo(r));
        }),
      ),
  );
  repo.addCommand(
    remote('list')
      .description('list repositories of your tenant')
      .action(
        action(async (o: ClientOptions) => {
          const l = await client(o).call<{ id: string; tenant: string; state: string; deviceClasses: string[] }[]>('GET', '/v1/updates/repos');
          out(o, l, () => table(l as unknown as Record<string, unknown>[], ['id', 'tenant', 'state', 'deviceClasses']));
        }),
      ),
  );
  repo.addCommand(
    remote('show')
      .description('roles, thresholds, keys and metadata versions of a repository')
      .argument('<id>')
      .action(
        action(async (id: string, o: ClientOptions) => {
          const r = await client(o).call<RepoView>('GET', `/v1/updates/repos/${enc(id)}`);
          out(o, r, () => showRepo(r));
        }),
      ),
  );
  cmd.addCommand(repo);

  cmd.addCommand(
    remote('delegate')
      .description('delegate the images of device classes to a manufacturer role with its own keys')
      .argument('<repo>')
      .argument('<role>', 'role name, e.g. mfr-acme')
      .requiredOption('--device-class <class>', 'a class the manufacturer may sign images for (repeat)', collect)
      .option('--vault-keys <n>', 'keys of the role created in the vault (when the manufacturer brings no key)')
      .option('--offline-key <file>', "the manufacturer's own public key (JSON from `updates keygen` on its machine; repeat); the server never signs for the role", collect)
      .option('--threshold <k>', 'signatures needed')
      .option('--key-type <type>', 'ed25519 or ecdsa-sha2-nistp256', 'ed25519')
      .addHelpText('after', '\nExamples:\n  citytrust updates delegate transit-fw mfr-acme --device-class gate\n  citytrust updates delegate transit-fw mfr-readerco --device-class reader --offline-key readerco.pub.json')
      .action(
        action(async (repoId: string, name: string, o: ClientOptions & { deviceClass: string[]; vaultKeys?: string; offlineKey?: string[]; threshold?: string; keyType: string }) => {
          const offlineKeys = (o.offlineKey ?? []).map((f) => (readJson(f) as { publicKey?: unknown }).publicKey ?? readJson(f));
          const r = await client(o).call<RepoView>('POST', `/v1/updates/repos/${enc(repoId)}/delegations`, { name, deviceClasses: o.deviceClass, vaultKeys: int(o.vaultKeys), ...(offlineKeys.length > 0 && { offlineKeys }), threshold: int(o.threshold), keyType: o.keyType });
          out(o, r, () => showRepo(r));
        }),
      ),
  );

  cmd.addCommand(
    remote('delegation-keys')
      .description("add manufacturer public keys to an offline manufacturer role (e.g. before revoking a compromised one)")
      .argument('<repo>')
      .argument('<role>')
      .requiredOption('--offline-key <file>', 'public key JSON from `updates keygen` (repeat)', collect)
      .option('--threshold <k>', 'new threshold')
      .action(
        action(async (repoId: string, role: string, o: ClientOptions & { offlineKey: string[]; threshold?: string }) => {
          const offlineKeys = o.offlineKey.map((f) => (readJson(f) as { publicKey?: unknown }).publicKey ?? readJson(f));
          const r = await client(o).call<RepoView>('POST', `/v1/updates/repos/${enc(repoId)}/delegations/${enc(role)}/keys`, { offlineKeys, threshold: int(o.threshold) });
          out(o, r, () => showRepo(r));
        }),
      ),
  );

  cmd.addCommand(
    remote('role-draft')
      .description("the next version of an offline manufacturer role (its signed images plus those uploaded since), to carry to the manufacturer")
      .argument('<repo>')
      .argument('<role>')
      .option('-o, --out <file>', 'write the draft to this file')
      .action(
        action(async (repoId: string, role: string, o: ClientOptions & { out?: string }) => {
          const d = await client(o).call<DelegationDraftFile>('GET', `/v1/updates/repos/${enc(repoId)}/delegations/${enc(role)}/draft`);
          if (o.out) writeFileSync(o.out, JSON.stringify(d, null, 2));
          out(o, d, () => `${describeDelegationDraft(d)}${o.out ? `\ndraft written to ${o.out}` : ''}`);
        }),
      ),
  );

  cmd.addCommand(
    withCommon(new Command('sign-role'))
      .description("OFFLINE, at the manufacturer: review a role draft (images of its classes only) and sign it with the manufacturer key; writes the signed metadata")
      .argument('<draft>', 'the file from `updates role-draft --out`')
      .requiredOption('-k, --key <file>', 'the manufacturer private key (PEM, from `updates keygen`)')
      .option('-o, --out <file>', 'write the signed metadata {signed, signatures} to this file')
      .addHelpText('after', '\nRun on the manufacturer machine; check the listed images and hashes first:\n  citytrust updates sign-role mfr-readerco-draft.json --key readerco.pem --out mfr-readerco.signed.json')
      .action(
        action(async (draftFile: string, o: ClientOptions & { key: string; out?: string }) => {
          const draft = parseDelegationDraft(readFile(draftFile).toString('utf8'));
          const signed = signDelegationDraft(draft, readFile(o.key).toString('utf8'));
          if (o.out) writeFileSync(o.out, JSON.stringify(signed));
          out(o, signed, () => `${describeDelegationDraft(draft)}\nsigned with ${signed.signatures[0]!.keyid}${o.out ? `; written to ${o.out}` : ''}`);
        }),
      ),
  );

  cmd.addCommand(
    remote('role-submit')
      .description('hand back the metadata a manufacturer signed offline; the server checks keys, threshold, paths and hashes, then publishes it')
      .argument('<repo>')
      .argument('<role>')
      .argument('<signed...>', 'files from `updates sign-role --out` (one per manufacturer key; they merge)')
      .action(
        action(async (repoId: string, role: string, files: string[], o: ClientOptions) => {
          const body = mergeSignedFiles(files.map((f) => readJson(f) as { signed?: unknown; signatures?: unknown }));
          const r = await client(o).call<{ role: string; version: number; targets: string[] }>('POST', `/v1/updates/repos/${enc(repoId)}/delegations/${enc(role)}/metadata`, body);
          out(o, r, () => `${r.role} v${r.version} published${r.targets.length ? `: ${r.targets.join(', ')}` : ''}`);
        }),
      ),
  );

  cmd.addCommand(
    remote('publish')
      .description('publish an image or data bundle; the server checks the SHA-256 computed here')
      .argument('<file>')
      .requiredOption('-r, --repo <id>', 'repository')
      .requiredOption('--device-class <class>', 'device class')
      .requiredOption('--version <v>', 'version (1 to 4 numbers: 2.14.0)')
      .option('--kind <kind>', 'image or data', 'image')
      .option('--name <name>', 'artifact name (firmware, config, trust-list, …)')
      .option('--min-bootloader <v>', 'lowest bootloader the image runs on')
      .option('--role <role>', 'expected signing role (refused when it is not the one delegated for the class)')
      .addHelpText('after', '\nExamples:\n  citytrust updates publish reader-2.1.0.bin -r transit-fw --device-class reader --version 2.1.0\n  citytrust updates publish trust.json -r transit-fw --device-class reader --kind data --name trust-list --version 42')
      .action(
        action(async (file: string, o: ClientOptions & { repo: string; deviceClass: string; version: string; kind: string; name?: string; minBootloader?: string; role?: string }) => {
          const bytes = readFile(file);
          const sha256 = createHash('sha256').update(bytes).digest('hex');
          const q = new URLSearchParams({ deviceClass: o.deviceClass, version: o.version, kind: o.kind, sha256 });
          if (o.name) q.set('name', o.name);
          if (o.minBootloader) q.set('minBootloader', o.minBootloader);
          if (o.role) q.set('role', o.role);
          const r = await postBytes<{ path: string; role: string; length: number; sha256: string; pending?: boolean }>(o, `/v1/updates/repos/${enc(o.repo)}/targets?${q}`, bytes);
          out(o, r, () => (r.pending ? `uploaded ${r.path} (${r.length} bytes, sha256 ${r.sha256}); ${r.role} signs it offline: \`updates role-draft\`, \`sign-role\`, \`role-submit\`` : `published ${r.path} (${r.length} bytes, sha256 ${r.sha256}), signed by ${r.role}`));
        }),
      ),
  );

  cmd.addCommand(
    remote('release')
      .description('release a published version to a percentage of devices and/or named sites first')
      .argument('<repo>')
      .requiredOption('--device-class <class>', 'device class')
      .requiredOption('--version <v>', 'version')
      .option('--name <name>', 'artifact name', 'firmware')
      .option('--percent <p>', 'share of devices (0..100)', '100')
      .option('--site <site>', 'a site that gets it first (repeat)', collect)
      .addHelpText('after', '\nExample:\n  citytrust updates release transit-fw --device-class reader --version 2.1.0 --percent 5 --site depot-north')
      .action(
        action(async (repoId: string, o: ClientOptions & { deviceClass: string; version: string; name: string; percent: string; site?: string[] }) => {
          const r = await client(o).call<{ version: string; percent: number; sites: string[] }>('POST', `/v1/updates/repos/${enc(repoId)}/releases`, { deviceClass: o.deviceClass, version: o.version, name: o.name, percent: num(o.percent), sites: o.site });
          out(o, r, () => `released ${o.name} ${r.version} for ${o.deviceClass}: ${r.percent}% of devices${r.sites.length ? ` and sites ${r.sites.join(', ')}` : ''}`);
        }),
      ),
  );

  cmd.addCommand(
    remote('rollout')
      .description('widen or narrow the rollout of a release, or halt and resume it')
      .argument('<repo>')
      .requiredOption('--device-class <class>', 'device class')
      .option('--name <name>', 'artifact name', 'firmware')
      .option('--percent <p>', 'new share of devices')
      .option('--site <site>', 'sites that get it first (repeat; replaces the list)', collect)
      .option('--halt', 'stop the rollout: devices not yet updated wait')
      .option('--resume', 'resume a halted rollout')
      .addHelpText('after', '\nExamples:\n  citytrust updates rollout transit-fw --device-class reader --percent 50\n  citytrust updates rollout transit-fw --device-class reader --halt')
      .action(
        action(async (repoId: string, o: ClientOptions & { deviceClass: string; name: string; percent?: string; site?: string[]; halt?: boolean; resume?: boolean }) => {
          if (o.halt && o.resume) throw new CityTrustError('INPUT_INVALID', 'give --halt or --resume, not both');
          const r = await client(o).call<{ version: string; percent: number; state: string }>('POST', `/v1/updates/repos/${enc(repoId)}/rollout`, { deviceClass: o.deviceClass, name: o.name, percent: num(o.percent), sites: o.site, state: o.halt ? 'halted' : o.resume ? 'active' : undefined });
          out(o, r, () => `${o.name} ${r.version} for ${o.deviceClass}: ${r.state}, ${r.percent}%`);
        }),
      ),
  );

  cmd.addCommand(
    remote('root-rotate')
      .description('propose root N+1: add vault or offline keys, remove keys, change the threshold')
      .argument('<repo>')
      .option('--add-vault-keys <n>', 'new root keys in the vault')
      .option('--add-offline-key <file>', 'a new offline root public key (repeat)', collect)
      .option('--remove <keyid>', 'a root keyid to drop (repeat)', collect)
      .option('--threshold <k>', 'new root threshold')
      .option('--reason <text>', 'why (kept in the draft and the audit log)')
      .action(
        action(async (repoId: string, o: ClientOptions & { addVaultKeys?: string; addOfflineKey?: string[]; remove?: string[]; threshold?: string; reason?: string }) => {
          const keys = (o.addOfflineKey ?? []).map((f) => (readJson(f) as { publicKey?: unknown }).publicKey ?? readJson(f));
          const r = await client(o).call<RepoView>('POST', `/v1/updates/repos/${enc(repoId)}/root/rotate`, { addVaultKeys: int(o.addVaultKeys), addOfflineKeys: keys.length ? keys : undefined, removeKeyids: o.remove, threshold: int(o.threshold), reason: o.reason });
          out(o, r, () => showRepo(r));
        }),
      ),
  );

  cmd.addCommand(
    remote('root-draft')
      .description('fetch the root draft that awaits offline signatures (carry the file to the custodians)')
      .argument('<repo>')
      .option('-o, --out <file>', 'write the draft to this file')
      .action(
        action(async (repoId: string, o: ClientOptions & { out?: string }) => {
          const d = await client(o).call<Record<string, unknown>>('GET', `/v1/updates/repos/${enc(repoId)}/root/draft`);
          if (o.out) writeFileSync(o.out, JSON.stringify(d, null, 2));
          out(o, d, () => `${describeRootDraft(parseRootDraft(JSON.stringify(d)))}${o.out ? `\ndraft written to ${o.out}` : ''}`);
        }),
      ),
  );

  cmd.addCommand(
    withCommon(new Command('sign-root'))
      .description('OFFLINE: review a root draft and sign its canonical bytes with a custodian key; prints only the signature')
      .argument('<draft>', 'the file from `updates root-draft --out`')
      .requiredOption('-k, --key <file>', 'the custodian private key (PEM, from `updates keygen`)')
      .option('-o, --out <file>', 'write the signature {keyid, sig} to this file')
      .addHelpText('after', '\nRun on the offline machine. Check the summary it prints (version, expiry, keys, thresholds) before you carry the signature back:\n  citytrust updates sign-root root-draft.json --key alice.pem --out alice.sig.json')
      .action(
        action(async (draftFile: string, o: ClientOptions & { key: string; out?: string }) => {
          const draft = parseRootDraft(readFile(draftFile).toString('utf8'));
          const sig = signRootDraft(draft, readFile(o.key).toString('utf8'));
          if (o.out) writeFileSync(o.out, JSON.stringify(sig));
          out(o, sig, () => `${describeRootDraft(draft)}\nsigned with ${sig.keyid}${o.out ? `; signature written to ${o.out}` : `\n${JSON.stringify(sig)}`}`);
        }),
      ),
  );

  cmd.addCommand(
    remote('root-sign-submit')
      .description('hand back custodians\' signatures of the root draft; publishes it once every threshold is met')
      .argument('<repo>')
      .argument('<signature...>', 'signature files from `updates sign-root --out`')
      .action(
        action(async (repoId: string, files: string[], o: ClientOptions) => {
          const r = await client(o).call<{ version: number; published: boolean; missing: { label: string; have: number; need: number }[] }>('POST', `/v1/updates/repos/${enc(repoId)}/root/signatures`, { signatures: files.map(readJson) });
          out(o, r, () => (r.published ? `root v${r.version} published` : `root v${r.version} still needs: ${r.missing.map((m) => `${m.label} ${m.have}/${m.need}`).join(', ')}`));
        }),
      ),
  );

  cmd.addCommand(
    withCommon(new Command('keygen'))
      .description('OFFLINE: make a custodian key; the PEM stays on this machine, the public key JSON goes to the operator')
      .requiredOption('-o, --out <file>', 'private key file to write (PEM, mode 0600)')
      .option('--type <type>', 'ed25519 or ecdsa-sha2-nistp256', 'ed25519')
      .addHelpText('after', '\nExample:\n  citytrust updates keygen --out alice.pem > alice.pub.json')
      .action(
        action(async (o: ClientOptions & { out: string; type: string }) => {
          const k = generateOfflineKey(keyType(o.type));
          writeFileSync(o.out, k.privateKeyPem, { mode: 0o600, flag: 'wx' });
          const pub = { keyid: k.keyid, publicKey: k.publicKey };
          out({ ...o, json: true }, pub, () => '');
        }),
      ),
  );

  cmd.addCommand(
    remote('revoke-key')
      .description('revoke a key: it leaves every role and is replaced by a fresh vault key where needed')
      .argument('<repo>')
      .argument('<keyid>')
      .action(
        action(async (repoId: string, keyid: string, o: ClientOptions) => {
          const r = await client(o).call<RepoView>('POST', `/v1/updates/repos/${enc(repoId)}/keys/${enc(keyid)}/revoke`, {});
          out(o, r, () => showRepo(r));
        }),
      ),
  );

  cmd.addCommand(
    remote('installed')
      .description('what a device last reported as installed (signed install reports)')
      .argument('<tenant>')
      .argument('<device>')
      .action(
        action(async (tenant: string, deviceId: string, o: ClientOptions) => {
          const l = await client(o).call<Record<string, unknown>[]>('GET', `/v1/updates/devices/${enc(tenant)}/${enc(deviceId)}`);
          out(o, l, () => table(l, ['name', 'version', 'repo', 'target', 'reportedAt']));
        }),
      ),
  );
  return cmd;
}
