/**
 * `npm run bench -- pki [--json] [--certs N] [--seconds S per round] [--connections C]`
 *
 * 1. Certificates issued and stored per second from P-256 CSRs, through the whole stack a
 *    server runs (CSR checks, profile, vault signature, SQLite row, audit event), 16 at a time;
 *    baseline: the floor of the same work in raw node:crypto + node:sqlite (sign a TBS with a
 *    cached KeyObject, insert the row), in the same process.
 * 2. OCSP responses per second over HTTP on loopback: `citytrust serve` in a child process,
 *    a load generator in a worker thread (C connections, keep-alive where the server allows
 *    it, cycling through requests for 200 certificates, counting only `successful` OCSP
 *    answers); then `openssl ocsp -index … -port` answering for the same CA (its own delegated
 *    responder certificate issued by the same issuing CA) under the same load. The generator
 *    speaks HTTP/1.1 over raw sockets because openssl's responder answers HTTP/1.0 and closes
 *    every connection, which autocannon cannot count; it reconnects when a server closes.
 *    When `wrk` is installed (apt: wrk) it is the load generator instead — C, epoll, two
 *    threads, a Lua script cycling the same request bodies and counting the same way — since
 *    a generator written in Node saturates before a Node server does (`--generator node`
 *    forces the worker-thread one).
 * 3. The ceiling: a bare `node:http` server in its own process answering every POST with one
 *    fixed OCSP response of the same size, under the same generator in the same rounds. No
 *    Node responder can beat it on this machine, so `ocsp_vs_node_ceiling` says how much of
 *    the gap to openssl is ours and `node_ceiling_vs_openssl` bounds what any Node responder
 *    could reach against openssl here.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, sign as nodeSign, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { AsnConvert } from '@peculiar/asn1-schema';
import { OCSPResponse } from '@peculiar/asn1-ocsp';
import { argValue, report } from './lib.ts';
import { loadConfig } from '../src/core/config.ts';
import { silentLogger } from '../src/core/log.ts';
import { closeContext, openContext } from '../src/server/context.ts';
import { buildCertificate, nameDer } from '../src/pki/x509/build.ts';
import { certFields } from '../src/pki/x509/cert-fields.ts';
import { basicConstraints, extKeyUsage, keyUsage, ocspNoCheck, authorityKeyIdentifier } from '../src/pki/x509/extensions.ts';
import { toPem } from '../src/pki/x509/der.ts';
import { EKU_OCSP_SIGNING } from '../src/pki/x509/oids.ts';
import { keyPair, makeCsr } from '../test/pki/helpers.ts';
import { ocspRequest } from '../test/pki/ocsp-request.ts';

const CERTS = argValue('certs', 3000);
const SECONDS = argValue('seconds', 5);
const CONNECTIONS = argValue('connections', 64);
const CONCURRENCY = 16;
const CLI = new URL('../src/cli/main.ts', import.meta.url).pathname;
const CEILING_FLAG = '--node-http-ceiling';
const generatorArg = process.argv.indexOf('--generator');
const WRK = isMainThread && !process.argv.includes(CEILING_FLAG) && (generatorArg < 0 || process.argv[generatorArg + 1] === 'wrk') && spawnSync('wrk', ['-v']).error === undefined;

const dir = isMainThread && !process.argv.includes(CEILING_FLAG) ? mkdtempSync(join(tmpdir(), 'citytrust-bench-pki-')) : '';
const dataDir = join(dir, 'data');
const f = (n: string) => join(dir, n);
const figures: Record<string, number> = {};
const progress = (m: string) => process.stderr.write(`[pki bench] ${m}\n`);
const notes: string[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Stops a child started with `detached: true` by signalling its whole process group (openssl -multi forks). */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const group = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  group('SIGTERM');
  const t = setTimeout(() => group('SIGKILL'), 2000);
  await exited;
  clearTimeout(t);
  group('SIGKILL');
}

/** The load generator (worker thread): raw HTTP/1.1 POSTs, a response counted only when it is a successful OCSP answer. */
async function generate(o: { host: string; port: number; path: string; bodies: Buffer[]; connections: number; seconds: number }): Promise<{ ok: number; bad: number; reconnects: number; seconds: number }> {
  const reqs = o.bodies.map((b) => Buffer.concat([Buffer.from(`POST ${o.path} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nContent-Type: application/ocsp-request\r\nContent-Length: ${b.length}\r\n\r\n`), b]));
  let ok = 0;
  let bad = 0;
  let reconnects = 0;
  const end = performance.now() + o.seconds * 1000;
  const started = performance.now();
  const one = (k: number) =>
    new Promise<void>((resolve) => {
      let i = k;
      let buf: Buffer = Buffer.alloc(0);
      let sock = connect(o.port, o.host);
      const send = () => sock.write(reqs[i++ % reqs.length]!);
      const attach = () => {
        sock.setNoDelay(true);
        sock.on('connect', send);
        sock.on('data', onData);
        sock.on('error', () => undefined);
        sock.on('close', onClose);
      };
      let closeAfter = false;
      function onData(d: Buffer) {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        for (;;) {
          const h = buf.indexOf('\r\n\r\n');
          if (h < 0) return;
          const head = buf.subarray(0, h).toString('latin1');
          const m = /content-length:\s*(\d+)/i.exec(head);
          const len = m ? Number(m[1]) : 0;
          if (buf.length < h + 4 + len) return;
          const body = buf.subarray(h + 4, h + 4 + len);
          // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED (0 = successful), ... }
          const st = body.indexOf(Buffer.from([0x0a, 0x01]));
          if (/^HTTP\/1\.[01] 200/.test(head) && st >= 0 && st <= 4 && body[st + 2] === 0) ok++;
          else bad++;
          buf = buf.subarray(h + 4 + len);
          closeAfter = /^HTTP\/1\.0/.test(head) || /connection:\s*close/i.test(head);
          if (performance.now() >= end) {
            sock.destroy();
            return resolve();
          }
          if (closeAfter) return; // wait for the close, then reconnect
          send();
        }
      }
      function onClose() {
        if (performance.now() >= end) return resolve();
        reconnects++;
        buf = Buffer.alloc(0);
        sock = connect(o.port, o.host);
        attach();
      }
      attach();
      // A stalled server must not hang the benchmark: stop at the deadline whatever happens.
      setTimeout(() => {
        sock.destroy();
        resolve();
      }, o.seconds * 1000 + 2000).unref();
    });
  await Promise.all(Array.from({ length: o.connections }, (_, k) => one(k)));
  return { ok, bad, reconnects, seconds: (performance.now() - started) / 1000 };
}

/** The same load through wrk: bodies from files, every answer checked as `generate` does (Lua). */
const WRK_SCRIPT = `
-- wrk probes the address with a connection it closes unused; openssl 3.0's responder then spins
-- on that socket's EOF and never answers again. Resolve without the probe.
wrk.resolve = function(host, service) wrk.addrs = wrk.lookup(host, service) end
local reqs, n, idx = {}, 0, 0
init = function(args)
  n = tonumber(args[2])
  for i = 1, n do
    local f = assert(io.open(args[3] .. "/req" .. i .. ".der", "rb"))
    local b = f:read("*a")
    f:close()
    reqs[i] = wrk.format("POST", args[1], { ["Content-Type"] = "application/ocsp-request" }, b)
  end
  idx = math.random(n)
end
ok, bad = 0, 0
request = function()
  idx = idx % n + 1
  return reqs[idx]
end
response = function(status, headers, body)
  local st = string.find(body, "\\10\\1", 1, true)
  if status == 200 and st and st <= 5 and string.byte(body, st + 2) == 0 then ok = ok + 1 else bad = bad + 1 end
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end
  io.write(string.format('{"ok":%d,"bad":%d,"us":%d,"connect_errors":%d}\\n', o, b, summary.duration, summary.errors.connect))
end
`;

function loadWrk(url: string): { rps: number; bad: number; reconnects: number } {
  const u = new URL(url);
  const out = execFileSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '-s', f('ocsp.lua'), `http://${u.host}/`, '--', u.pathname, '200', dir], { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
  const line = out.split('\n').find((l) => l.startsWith('{"ok"'));
  if (!line) throw new Error(`wrk gave no result: ${out}`);
  const r = JSON.parse(line) as { ok: number; bad: number; us: number };
  return { rps: r.ok / (r.us / 1e6), bad: r.bad, reconnects: 0 };
}

/** The ceiling (child process): node:http answering every POST with one fixed body, nothing else. */
function ceilingServer(bodyFile: string): void {
  const body = readFileSync(bodyFile);
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': body.length, 'cache-control': 'no-cache' });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: `http://127.0.0.1:${(server.address() as { port: number }).port}` })}\n`));
}

async function load(url: string, bodies: Buffer[]): Promise<{ rps: number; bad: number; reconnects: number }> {
  if (WRK) return loadWrk(url);
  const u = new URL(url);
  const w = new Worker(new URL(import.meta.url), { workerData: { host: u.hostname, port: Number(u.port), path: u.pathname, bodies, connections: CONNECTIONS, seconds: SECONDS } });
  const r = await new Promise<{ ok: number; bad: number; reconnects: number; seconds: number }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  return { rps: r.ok / r.seconds, bad: r.bad, reconnects: r.reconnects };
}

async function postOnce(url: string, body: Buffer): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: new Uint8Array(body) });
  return AsnConvert.parse(new Uint8Array(await res.arrayBuffer()), OCSPResponse).responseStatus;
}

if (!isMainThread) {
  parentPort!.postMessage(await generate(workerData as Parameters<typeof generate>[0]));
} else if (process.argv.includes(CEILING_FLAG)) {
  ceilingServer(process.argv[process.argv.indexOf(CEILING_FLAG) + 1]!);
} else try {
  // ---- 1. issuance ----
  const config = loadConfig({ env: {}, overrides: { dataDir, 'vault.devUnseal': true } });
  const ctx = await openContext(config, { logger: silentLogger() });
  await ctx.pki.init('bench');
  await ctx.tenants.create({ id: 'utility', name: 'Utility' }, 'bench');
  await ctx.devices.register({ tenant: 'utility', id: 'meter-1', type: 'meter', site: 'bench' }, 'bench');
  const csrs = Array.from({ length: CERTS }, () => makeCsr(keyPair('P-256')));
  const warm = 100;
  for (let i = 0; i < warm; i++) await ctx.pki.issue(null, { csr: csrs[i]!, tenant: 'utility', deviceId: 'meter-1' }, 'bench');
  let next = warm;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < CERTS; i = next++) await ctx.pki.issue(null, { csr: csrs[i]!, tenant: 'utility', deviceId: 'meter-1' }, 'bench');
    }),
  );
  figures.issue_store_per_s = (CERTS - warm) / ((performance.now() - t0) / 1000);
  // CPU time (all threads of this process) per certificate: on a shared machine it follows
  // scheduling luck much less than the wall-clock rate does.
  const cpu = process.cpuUsage(cpu0);
  figures.issue_cpu_us_per_cert = (cpu.user + cpu.system) / (CERTS - warm);
  progress(`issued ${CERTS} certificates`);

  // Baseline: sign + insert only, raw node:crypto and node:sqlite with the store's durability.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const raw = new DatabaseSync(f('raw.sqlite'));
  raw.exec('PRAGMA journal_mode = WAL');
  raw.exec('PRAGMA synchronous = FULL');
  raw.exec('create table c (serial text primary key, der blob not null)');
  const ins = raw.prepare('insert into c (serial, der) values (?, ?)');
  const tbs = randomBytes(420);
  const t1 = performance.now();
  let n = 0;
  while (performance.now() - t1 < 2000) {
    const sig = nodeSign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
    ins.run(randomBytes(16).toString('hex'), Buffer.concat([tbs, sig]));
    n++;
  }
  figures.raw_sign_insert_per_s = n / ((performance.now() - t1) / 1000);
  raw.close();

  // ---- 2. OCSP: requests for 200 certificates, one revoked; openssl gets the same CA ----
  const certs = await ctx.pki.listCertificates(null, { deviceId: 'meter-1', limit: 200 });
  const ca = await ctx.pki.cas.get('meters-1');
  await ctx.pki.revoke(null, certs[0]!.serial, 'keyCompromise', 'bench');
  const pemToDer = (p: string) => new Uint8Array(Buffer.from(p.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'));
  const bodies = certs.map((c) => Buffer.from(ocspRequest(pemToDer(c.certificatePem), ca.certDer)));
  // openssl's responder: its own key in a file, certified by the same meters CA through the vault.
  const rk = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rspki = new Uint8Array(rk.publicKey.export({ type: 'spki', format: 'der' }));
  const rcert = await buildCertificate(
    {
      serial: randomBytes(16),
      issuer: ca.subjectDer,
      subject: nameDer([['CN', 'openssl OCSP responder (bench)']]),
      notBefore: Date.now() - 60_000,
      notAfter: Date.now() + 86_400_000,
      spki: rspki,
      extensions: [basicConstraints(false), keyUsage(['digitalSignature']), extKeyUsage([EKU_OCSP_SIGNING]), ocspNoCheck(), authorityKeyIdentifier(ca.keyIdentifier)],
    },
    ctx.pki.cas.signer(ca, 'bench'),
  );
  writeFileSync(f('rsigner.pem'), toPem('CERTIFICATE', rcert));
  writeFileSync(f('rsigner.key'), rk.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(f('ca.pem'), toPem('CERTIFICATE', ca.certDer));
  const ymd = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  const index = certs.map((c, i) => {
    const fld = certFields(pemToDer(c.certificatePem));
    const serial = fld.serial.toUpperCase();
    return i === 0 ? `R\t${ymd(fld.notAfter)}\t${ymd(Date.now())},keyCompromise\t${serial}\tunknown\t/CN=${c.deviceId}` : `V\t${ymd(fld.notAfter)}\t\t${serial}\tunknown\t/CN=${c.deviceId}`;
  });
  writeFileSync(f('index.txt'), `${index.join('\n')}\n`);
  writeFileSync(f('index.txt.attr'), 'unique_subject = no\n');
  await closeContext(ctx);

  // Request bodies and the Lua script for wrk.
  bodies.forEach((b, i) => writeFileSync(f(`req${i + 1}.der`), b));
  writeFileSync(f('ocsp.lua'), WRK_SCRIPT);

  // Our responder: `citytrust serve` as a child process.
  const ours = spawn(process.execPath, [CLI, 'serve', '-d', dataDir, '--port', '0', '--json'], { env: { ...process.env, CITYTRUST_VAULT_DEV_UNSEAL: 'true', CITYTRUST_LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const listening = (child: ChildProcess) =>
    new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const line = buf.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve((JSON.parse(line) as { listening: string }).listening);
      });
      child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
    });
  const url = await listening(ours);
  if ((await postOnce(`${url}/pki/ocsp`, bodies[1]!)) !== 0) throw new Error('our responder did not answer successfully');
  // The ceiling: bare node:http with one of our responses (same size) as its fixed answer.
  const sample = Buffer.from(await (await fetch(`${url}/pki/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: new Uint8Array(bodies[1]!) })).arrayBuffer());
  writeFileSync(f('ceiling.der'), sample);
  const ceiling = spawn(process.execPath, [new URL(import.meta.url).pathname, CEILING_FLAG, f('ceiling.der')], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const ceilingUrl = await listening(ceiling);
  // openssl's responder (one process, as `openssl ocsp -index … -port` runs by default), up beside ours.
  const port = await freePort();
  const ossl = spawn('openssl', ['ocsp', '-index', f('index.txt'), '-port', String(port), '-rsigner', f('rsigner.pem'), '-rkey', f('rsigner.key'), '-CA', f('ca.pem'), '-nmin', '60', '-ignore_err'], { stdio: 'ignore', cwd: dir, detached: true });
  let ready = false;
  for (let i = 0; i < 50 && !ready; i++) {
    try {
      const st = execFileSync('curl', ['-sS', '--max-time', '2', '-H', 'content-type: application/ocsp-request', '--data-binary', '@-', `http://127.0.0.1:${port}/`], { input: bodies[1]!, stdio: ['pipe', 'pipe', 'ignore'] });
      ready = AsnConvert.parse(new Uint8Array(st), OCSPResponse).responseStatus === 0;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  if (!ready) throw new Error('openssl responder did not answer successfully');

  // The machine is shared: alternate short rounds so both responders see the same conditions,
  // and keep each one's best round.
  const rounds = 3;
  const totals = { ours: { bad: 0, reconnects: 0 }, openssl: { bad: 0, reconnects: 0 } };
  figures.ocsp_citytrust_per_s = 0;
  figures.ocsp_openssl_per_s = 0;
  figures.ocsp_node_http_ceiling_per_s = 0;
  for (let r = 0; r < rounds; r++) {
    progress(`round ${r + 1}/${rounds}: citytrust at ${url}`);
    const a = await load(`${url}/pki/ocsp`, bodies);
    figures.ocsp_citytrust_per_s = Math.max(figures.ocsp_citytrust_per_s, a.rps);
    totals.ours.bad += a.bad;
    totals.ours.reconnects += a.reconnects;
    progress(`round ${r + 1}/${rounds}: openssl on ${port}`);
    const o = await load(`http://127.0.0.1:${port}/`, bodies);
    figures.ocsp_openssl_per_s = Math.max(figures.ocsp_openssl_per_s, o.rps);
    totals.openssl.bad += o.bad;
    totals.openssl.reconnects += o.reconnects;
    progress(`round ${r + 1}/${rounds}: bare node:http at ${ceilingUrl}`);
    const c = await load(`${ceilingUrl}/pki/ocsp`, bodies);
    figures.ocsp_node_http_ceiling_per_s = Math.max(figures.ocsp_node_http_ceiling_per_s, c.rps);
  }
  notes.push(`citytrust: ${totals.ours.bad} answers not successful, ${totals.ours.reconnects} reconnects`);
  notes.push(`openssl: ${totals.openssl.bad} answers not successful${WRK ? '' : `, ${totals.openssl.reconnects} reconnects`} (it answers HTTP/1.0 and closes every connection)`);
  notes.push(`load generator: ${WRK ? 'wrk -t2' : 'node worker thread (raw sockets)'}, ${CONNECTIONS} connections`);
  await stop(ceiling);
  await stop(ours);
  await stop(ossl);

  report(
    {
      bench: 'pki',
      figures,
      ratios: {
        issue_vs_goal_1000: figures.issue_store_per_s! / 1000,
        issue_vs_raw_floor: figures.issue_store_per_s! / figures.raw_sign_insert_per_s!,
        ocsp_vs_goal_10000: figures.ocsp_citytrust_per_s! / 10_000,
        ocsp_vs_openssl: figures.ocsp_citytrust_per_s! / figures.ocsp_openssl_per_s!,
        ocsp_vs_node_ceiling: figures.ocsp_citytrust_per_s! / figures.ocsp_node_http_ceiling_per_s!,
        node_ceiling_vs_openssl: figures.ocsp_node_http_ceiling_per_s! / figures.ocsp_openssl_per_s!,
      },
    },
    [`${CERTS - warm} certificates from P-256 CSRs, ${CONCURRENCY} in flight; OCSP: ${CONNECTIONS} connections, best of 3 alternating ${SECONDS}s rounds each, 200 distinct requests without nonce, 1-in-200 revoked`, ...notes],
  );
} finally {
  if (isMainThread) rmSync(dir, { recursive: true, force: true });
}
