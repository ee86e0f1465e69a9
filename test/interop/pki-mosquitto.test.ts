/**
 * A Mosquitto broker that the test starts itself (its own config, a free port, never the
 * system instance on 1883) with a TLS listener trusting our root and meters CA,
 * require_certificate true and our CRL: it accepts a meter with our certificate and refuses a
 * revoked one and one from a foreign CA.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { enrolDevice, interopCity, type InteropCity } from '../pki/interop-city.ts';

let c: InteropCity;

before(async () => {
  c = await interopCity();
});
after(async () => {
  await c?.stop();
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited: ${log()}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`mosquitto did not listen: ${log()}`);
}

/** Starts mosquitto with the current meters CRL; resolves with its port and a stop function. */
async function broker(): Promise<{ port: number; log: () => string; stop: () => Promise<void> }> {
  execFileSync('sh', ['-c', `curl -sSf --cacert root.pem -o meters.crl.der ${c.url}/pki/crl/meters-1.crl && openssl crl -inform DER -in meters.crl.der -out meters.crl.pem`], { cwd: c.dir });
  const port = await freePort();
  writeFileSync(
    c.f(`mosquitto-${port}.conf`),
    [
      // Run as root, mosquitto would switch to its own user, which cannot read our 0700 temp directory.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      'per_listener_settings true',
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      `cafile ${c.f('broker-trust.pem')}`,
      `certfile ${c.f('broker.pem')}`,
      `keyfile ${c.f('broker.key')}`,
      'require_certificate true',
      'use_identity_as_username true',
      `crlfile ${c.f('meters.crl.pem')}`,
      'tls_version tlsv1.2',
      'persistence false',
      'log_dest stderr',
      'log_type all',
      '',
    ].join('\n'),
  );
  let log = '';
  const child = spawn('mosquitto', ['-c', c.f(`mosquitto-${port}.conf`)], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await waitForPort(port, child, () => log);
  return {
    port,
    log: () => log,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}

/** Lets the broker's log lines arrive (spawnSync blocked the event loop while it wrote them). */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
}

function publish(port: number, cert: string, key: string): { status: number | null; out: string } {
  return c.sh('mosquitto_pub', ['-h', 'localhost', '-p', String(port), '--cafile', 'client-trust.pem', '--cert', cert, '--key', key, '-t', 'city/meters/reading', '-m', '42', '-q', '1', '-i', `t-${Math.floor(performance.now())}`]);
}

describe('Mosquitto with our CA and CRL', () => {
  it('accepts a meter with our certificate and refuses it once revoked, and refuses a foreign certificate', async () => {
    // The broker's own TLS certificate: tls-server from the services CA, key made by openssl.
    const { csr } = c.keyAndCsr('broker');
    const server = c.api('POST', '/v1/pki/certificates', { csr: readFileSync(c.f(csr), 'utf8'), profile: 'tls-server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }) as { certificatePem: string; chainPem: string[] };
    assert.ok(server.certificatePem, JSON.stringify(server));
    writeFileSync(c.f('broker.pem'), server.certificatePem + server.chainPem[0]);
    // Clients trust the root; the broker trusts the root and the meters CA (devices send only their leaf).
    writeFileSync(c.f('client-trust.pem'), server.chainPem[1]!);
    const meter = enrolDevice(c, 'utility', 'meter-1', 'meter');
    writeFileSync(c.f('broker-trust.pem'), server.chainPem[1]! + meter.issuerPem);

    const b1 = await broker();
    try {
      const ok = publish(b1.port, meter.cert, meter.key);
      assert.equal(ok.status, 0, ok.out);

      // A certificate from a CA the broker does not trust.
      execFileSync('sh', ['-c', 'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout foreign-ca.key -out foreign-ca.pem -subj /CN=Foreign\\ CA -days 2 && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout foreign.key -out foreign.csr -subj /CN=meter-1 && openssl x509 -req -in foreign.csr -CA foreign-ca.pem -CAkey foreign-ca.key -CAcreateserial -out foreign.pem -days 1'], { cwd: c.dir, stdio: 'ignore' });
      const foreign = publish(b1.port, 'foreign.pem', 'foreign.key');
      assert.notEqual(foreign.status, 0, 'a foreign certificate must be refused');
      await settle();
      assert.match(b1.log(), /unable to get local issuer certificate|certificate verify failed/);
    } finally {
      await b1.stop();
    }

    c.api('POST', `/v1/pki/certificates/${meter.serial}/revoke`, { reason: 'keyCompromise' });
    const b2 = await broker();
    try {
      const refused = publish(b2.port, meter.cert, meter.key);
      assert.notEqual(refused.status, 0, 'a revoked certificate must be refused');
      await settle();
      // Mosquitto logs the handshake failure without OpenSSL's reason; meter-2 below, on the same
      // broker with the same CRL, is the control that only the revocation differs.
      assert.match(b2.log(), /certificate verify failed/);
      // The broker itself still works for a good meter.
      const fresh = enrolDevice(c, 'utility', 'meter-2', 'meter');
      const ok = publish(b2.port, fresh.cert, fresh.key);
      assert.equal(ok.status, 0, ok.out);
    } finally {
      await b2.stop();
    }
  });
});
