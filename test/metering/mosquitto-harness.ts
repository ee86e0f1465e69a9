/**
 * A Mosquitto of our own for services tests and the benchmark: a temporary directory with the
 * configuration, certificates and ACL, a free port, a child process running as the test's own
 * user (never the system instance on 1883), and stop/restart with persistence kept between runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { mosquittoConf } from '../../src/metering/mosquitto.ts';

export interface MosquittoOptions {
  readonly dir: string;
  /** PEM of the CAs client certificates must chain to (and the broker's own chain). */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly acl: string;
  readonly persistence?: boolean;
}

export interface RunningMosquitto {
  readonly port: number;
  readonly url: string;
  /** Everything the broker logged (for failure messages). */
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  writeAcl(acl: string): void;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function accepting(port: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startMosquitto(o: MosquittoOptions): Promise<RunningMosquitto> {
  mkdirSync(o.dir, { recursive: true });
  const port = await freePort();
  const f = (name: string) => join(o.dir, name);
  writeFileSync(f('ca.pem'), o.ca);
  writeFileSync(f('server.pem'), o.cert);
  writeFileSync(f('server.key'), o.key, { mode: 0o600 });
  writeFileSync(f('acl'), o.acl);
  if (o.persistence) mkdirSync(f('db'), { recursive: true });
  writeFileSync(
    f('mosquitto.conf'),
    `${mosquittoConf({ port, caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key'), aclFile: f('acl'), ...(o.persistence ? { persistenceDir: f('db') } : {}) })}user ${userInfo().username}\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n`,
  );
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    child = spawn('mosquitto', ['-c', f('mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await accepting(port);
    } catch (e) {
      child.kill('SIGKILL');
      throw new Error(`${(e as Error).message}: ${output}`);
    }
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill(signal);
    });
  };
  await start();
  return { port, url: `mqtts://127.0.0.1:${port}`, log: () => output, stop, start, writeAcl: (acl) => writeFileSync(f('acl'), acl) };
}
