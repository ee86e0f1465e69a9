/**
 * npm run bench -- credentials [--json] [--seconds 3] [--rounds 5]
 *
 * 1. Credentials issued per second on SQLite (synchronous=FULL): vault signature + row + random
 *    status-list slot + envelope sealed to the wallet key + queued delivery + audit event, through
 *    CredentialIssuer with concurrent callers (group commit), with the server's default settings
 *    (seal workers included). Goal ≥ 3,000/s. Best of two rounds. Also with holder data
 *    (EnvelopeCipher + keyed hash), which adds two vault operations per credential. In-run
 *    baseline: bare node:crypto ES256 signatures per second on one thread, measured just before,
 *    so a reader can tell a slow machine from a slow issuer.
 * 2. Verifications per second, same run: our credential (COSE_Sign1 CWT, ES256) against jose
 *    verifying an ES256 JWT with the same claims, and @auth0/mdl verifying a comparable mdoc
 *    (ISO 18013-5 DeviceResponse: issuer signature, MSO digests, device signature), all P-256.
 *    Rounds alternate ours → jose → mdoc; each figure is the best of its rounds, so load from
 *    other processes on a shared machine hits all three alike. Goals ≥ 1.0× jose, ≥ 3× mdoc.
 *    Encoded sizes are printed next to the speeds.
 */
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { randomBytes, sign as nodeSign, webcrypto } from 'node:crypto';
import * as jose from 'jose';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { openStore } from '../src/store/index.ts';
import { systemClock, silentLogger } from '../src/core/index.ts';
import { fromBase64Url, toBase64Url } from '../src/core/bytes.ts';
import { AuditLog } from '../src/audit/log.ts';
import { ed25519NoteSigner } from '../src/audit/note-signer.ts';
import { SoftwareVault } from '../src/vault/index.ts';
import { Tenants } from '../src/access/tenants.ts';
import { createSignature, exportJwkPublicKey, exportRawPublicKey, generateKeyPair } from '../src/crypto/index.ts';
import { loadConfig } from '../src/core/config.ts';
import { createCredentialServices, credentialSettingsFromConfig, CredentialTrust, registrationToBeSigned, verifyCredential } from '../src/credentials/index.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { argValue, opsPerSecondSync, report } from './lib.ts';

const seconds = argValue('seconds', 3);
const rounds = argValue('rounds', 5);
const tmp = tempDir('citytrust-bench-cred-');
const notes: string[] = [];

const store = await openStore({ dataDir: join(tmp.dir, 'db') });
const audit = await AuditLog.open({ store, signer: ed25519NoteSigner('bench/credentials'), clock: systemClock, logger: silentLogger(), origin: 'bench/credentials', checkpointIntervalMs: 1000 });
audit.startCheckpointing();
const vault = await SoftwareVault.open({ dataDir: join(tmp.dir, 'vault'), clock: systemClock, logger: silentLogger(), audit });
await vault.init({ actor: 'bench', tenant: null }, { shares: 1, threshold: 1 });
// The settings `citytrust serve` runs with by default (credentials.* in the configuration).
const settings = credentialSettingsFromConfig(loadConfig({ env: {}, overrides: { dataDir: tmp.dir } }).credentials);
const svc = createCredentialServices({ store, vault, audit, clock: systemClock, settings });
await new Tenants({ store, clock: systemClock, audit }).create({ id: 'metro', name: 'Metro' }, 'bench');
await svc.rotateIssuerKey('metro', 'ES256', 'bench');
await svc.templates.create('metro', { id: 'ticket', name: 'Zones A–C, first class', validitySeconds: 4 * 3600, grants: { zones: ['A', 'B', 'C'], schedule: [[0x1f, 540, 1020]], timeZone: 'Europe/Berlin', class: 1 } }, 'bench');
const holder = generateKeyPair('P-256');
const ch = await svc.wallets.createChallenge('metro', 'bench');
const point = exportRawPublicKey(holder.publicKey);
const wallet = await svc.wallets.register('metro', { challengeId: ch.challengeId, publicKey: toBase64Url(point), signature: toBase64Url(createSignature('ES256', holder.privateKey, registrationToBeSigned('metro', fromBase64Url(ch.challenge), point), 'raw')) }, 'bench');

async function issuedPerSecond(withHolder: boolean): Promise<{ perS: number; count: number; cpuUs: number; mainCpuUs: number }> {
  let done = 0;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      await svc.issuer.issue('metro', { walletId: wallet.id, template: 'ticket', ...(withHolder && { holder: { name: 'Ada Lovelace', email: `ada${done}@example.org` } }) }, 'bench');
      done++;
    }
  };
  // Warm-up, then measure with 512 callers in flight.
  await Promise.all(Array.from({ length: 64 }, () => svc.issuer.issue('metro', { walletId: wallet.id, template: 'ticket' }, 'bench')));
  const cpu0 = process.cpuUsage();
  const main0 = process.threadCpuUsage();
  const start = performance.now();
  const workers = Array.from({ length: 512 }, worker);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop = true;
  const counted = done;
  const elapsed = (performance.now() - start) / 1000;
  // CPU time of the whole process (seal workers and GC threads included) and of the main thread.
  const cpu = process.cpuUsage(cpu0);
  const main = process.threadCpuUsage(main0);
  await Promise.all(workers);
  return { perS: counted / elapsed, count: counted, cpuUs: (cpu.user + cpu.system) / counted, mainCpuUs: (main.user + main.system) / counted };
}

// In-run baseline: one thread of bare ES256 signatures (what the vault's signature costs at least).
const baselineKey = generateKeyPair('P-256').privateKey;
const baselineData = randomBytes(200);
const es256SignPerS = opsPerSecondSync(() => nodeSign('sha256', baselineData, { key: baselineKey, dsaEncoding: 'ieee-p1363' }), 1000);
const issueRounds = [await issuedPerSecond(false), await issuedPerSecond(false)];
const issued = issueRounds.reduce((a, b) => (b.perS > a.perS ? b : a));
const issuedPii = await issuedPerSecond(true);

// One credential to verify, and the same claims as a JWT and as an mdoc.
const sample = (await svc.issuer.list('metro', { limit: 1 }))[0]!;
const credential = fromBase64Url((await svc.issuer.get('metro', sample.id)).credential!);
const root = await svc.root.get();
const trust = CredentialTrust.fromTrustList((await svc.trustLists.current()).token, { root: root.verifier, now: Math.floor(Date.now() / 1000) });
const now = Date.now();
const verified = verifyCredential(credential, { trust, now });

const jwtKeys = generateKeyPair('P-256');
const c = verified.claims;
const jwt = await new jose.SignJWT({
  jti: sample.id,
  cnf: { jwk: exportJwkPublicKey(c.holderKey) },
  status: { status_list: { idx: c.status!.idx, uri: c.status!.uri } },
  grants: { zones: c.grants.zones, schedule: c.grants.schedule, tz: c.grants.timeZone, class: c.grants.class },
})
  .setProtectedHeader({ alg: 'ES256', kid: Buffer.from(verified.issuerKey.kid).toString('hex') })
  .setIssuer(c.iss)
  .setIssuedAt(c.iat)
  .setNotBefore(c.nbf)
  .setExpirationTime(c.exp)
  .sign(jwtKeys.privateKey);
let mdocVerify: (() => Promise<unknown>) | undefined;
let mdocSize = 0;
try {
  const mdl = await import('@auth0/mdl');
  const cborLib = (await import('@auth0/mdl/lib/cbor/index.js')) as unknown as { cborEncode: (v: unknown) => Buffer; DataItem: { fromData: (v: unknown) => unknown } };
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Metro mdoc issuer, C=DE',
    notBefore: new Date(now - 86400_000),
    notAfter: new Date(now + 365 * 86400_000),
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true)],
  });
  const issuerPrivateKey = await webcrypto.subtle.exportKey('jwk', caKeys.privateKey);
  const device = generateKeyPair('P-256');
  const devicePub = exportJwkPublicKey(device.publicKey);
  const devicePriv = device.privateKey.export({ format: 'jwk' });
  const ns = 'city.transit.1';
  const doc = await new mdl.Document('city.transit.ticket')
    .addIssuerNameSpace(ns, { zones: ['A', 'B', 'C'], schedule: [[31, 540, 1020]], time_zone: 'Europe/Berlin', class: 1, status_idx: c.status!.idx, status_uri: c.status!.uri })
    .useDigestAlgorithm('SHA-256')
    .addValidityInfo({ signed: new Date(now - 60_000), validFrom: new Date(now - 60_000), validUntil: new Date(now + 4 * 3600_000) })
    .addDeviceKeyInfo({ deviceKey: devicePub as unknown as jose.JWK })
    .sign({ issuerPrivateKey: issuerPrivateKey as jose.JWK, issuerCertificate: cert.toString('pem'), alg: 'ES256' });
  const issuerMDoc = new mdl.MDoc([doc]).encode();
  const pd = {
    id: 'ticket',
    input_descriptors: [{ id: 'city.transit.ticket', format: { mso_mdoc: { alg: ['ES256'] } }, constraints: { limit_disclosure: 'required', fields: ['zones', 'schedule', 'time_zone', 'class', 'status_idx', 'status_uri'].map((f) => ({ path: [`$['${ns}']['${f}']`], intent_to_retain: false })) } }],
  };
  const nonce = randomBytes(16).toString('base64url');
  const deviceResponse = await mdl.DeviceResponse.from(issuerMDoc)
    .usingPresentationDefinition(pd as never)
    .usingSessionTranscriptForOID4VP(nonce, 'reader', 'https://reader.example', nonce)
    .authenticateWithSignature(devicePriv as jose.JWK, 'ES256')
    .sign();
  const encoded = deviceResponse.encode();
  mdocSize = encoded.length;
  const transcript = cborLib.cborEncode(cborLib.DataItem.fromData([null, null, [nonce, 'reader', 'https://reader.example', nonce]]));
  const verifier = new mdl.Verifier([cert.toString('pem')]);
  await verifier.verify(encoded, { encodedSessionTranscript: transcript });
  mdocVerify = () => verifier.verify(encoded, { encodedSessionTranscript: transcript });
} catch (e) {
  notes.push(`@auth0/mdl could not be measured: ${e instanceof Error ? e.message : String(e)}`);
}

// Alternating rounds, best of each: machine load in any round hits ours, jose and mdoc alike.
// Each round also records the process CPU time per verification (jose's WebCrypto verify runs on
// the libuv pool, so process time, not main-thread time): on a busy shared machine wall-clock
// rates depend on scheduling luck, CPU time per operation much less.
async function round(fn: () => unknown, ms: number): Promise<{ perS: number; cpuUs: number }> {
  const warmEnd = performance.now() + Math.min(200, ms / 4);
  while (performance.now() < warmEnd) await fn();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    await fn();
    n++;
  }
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  return { perS: (n * 1000) / elapsed, cpuUs: (cpu.user + cpu.system) / n };
}
const perRound = Math.max(250, (seconds * 1000) / 3);
const verifyRounds = { ours: [] as { perS: number; cpuUs: number }[], jose: [] as { perS: number; cpuUs: number }[], mdoc: [] as { perS: number; cpuUs: number }[] };
for (let r = 0; r < rounds; r++) {
  verifyRounds.ours.push(await round(() => verifyCredential(credential, { trust, now }), perRound));
  verifyRounds.jose.push(await round(() => jose.jwtVerify(jwt, jwtKeys.publicKey, { algorithms: ['ES256'], issuer: 'metro' }), perRound));
  if (mdocVerify) verifyRounds.mdoc.push(await round(mdocVerify, perRound));
}
const best = (xs: { perS: number }[]) => (xs.length > 0 ? Math.max(...xs.map((x) => x.perS)) : 0);
const leastCpu = (xs: { cpuUs: number }[]) => (xs.length > 0 ? Math.min(...xs.map((x) => x.cpuUs)) : 0);
const ours = best(verifyRounds.ours);
const joseVerify = best(verifyRounds.jose);
const mdoc = best(verifyRounds.mdoc);
const fmt = (xs: { perS: number }[]) => xs.map((x) => Math.round(x.perS)).join(', ');

notes.push(`sizes: credential ${credential.length} B (COSE_Sign1 CWT, ES256), JWT ${jwt.length} B (compact JWS, same claims), mdoc ${mdocSize} B (DeviceResponse incl. device signature)`);
notes.push(`issuance: rounds ${issueRounds.map((r) => Math.round(r.perS)).join(', ')}/s (best reported) + ${issuedPii.count} with holder data; 512 concurrent callers, group commit, ${settings.sealWorkers} seal worker(s); each credential has a vault signature, status slot, sealed envelope, delivery row and audit event`);
notes.push(`verification: best of ${rounds} alternating rounds each (rates) and least CPU time per verification — ours ${fmt(verifyRounds.ours)}; jose ${fmt(verifyRounds.jose)}; mdoc ${fmt(verifyRounds.mdoc)} /s`);
notes.push(`in-run baseline: ${Math.round(es256SignPerS)} bare ES256 signatures/s on one thread (node:crypto) just before issuance`);
notes.push(`issuance CPU: ${Math.round(issued.cpuUs)} µs per credential in all threads, ${Math.round(issued.mainCpuUs)} µs on the main thread; two otherwise idle cores would issue about ${Math.round(2e6 / issued.cpuUs)}/s at this cost (load average now ${loadavg()[0]!.toFixed(1)})`);
notes.push('mdoc verification includes the device signature over the session transcript (holder binding); ours and jose check the issuer signature only (holder proof is a separate ES256 verify in the tap)');
report(
  {
    bench: 'credentials',
    figures: {
      issued_per_s: issued.perS,
      issued_with_holder_data_per_s: issuedPii.perS,
      issue_cpu_us_per_credential: issued.cpuUs,
      issue_main_thread_cpu_us_per_credential: issued.mainCpuUs,
      baseline_es256_sign_per_s: es256SignPerS,
      verify_ours_per_s: ours,
      verify_jose_jwt_per_s: joseVerify,
      verify_mdoc_per_s: mdoc,
      verify_ours_cpu_us: leastCpu(verifyRounds.ours),
      verify_jose_cpu_us: leastCpu(verifyRounds.jose),
      verify_mdoc_cpu_us: leastCpu(verifyRounds.mdoc),
      credential_bytes: credential.length,
      jwt_bytes: jwt.length,
      mdoc_bytes: mdocSize,
    },
    ratios: {
      issued_vs_goal_3000: issued.perS / 3000,
      issued_vs_bare_es256_sign: issued.perS / es256SignPerS,
      verify_ours_vs_jose: ours / joseVerify,
      verify_ours_vs_jose_by_cpu_time: leastCpu(verifyRounds.jose) / leastCpu(verifyRounds.ours),
      ...(mdoc > 0 && { verify_ours_vs_mdoc: ours / mdoc }),
    },
  },
  notes,
);

await svc.close();
await vault.close();
await audit.close();
await store.close();
tmp.remove();
