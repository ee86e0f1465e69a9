/**
 * The CLI's HTTP client for commands that act on a running server (the vault's master key
 * lives in the server process). Server errors come back as the same CityTrustError codes.
 */
import type { Command } from 'commander';
import { CityTrustError, allErrorCodes, type ErrorCode } from '../core/errors.ts';
import { configFrom, type GlobalOptions } from './common.ts';

export interface ClientOptions extends GlobalOptions {
  server?: string;
  token?: string;
}

export function withServer(cmd: Command): Command {
  return cmd
    .option('-s, --server <url>', 'server URL (default CITYTRUST_SERVER, or http://<server.host>:<server.port> from the config)')
    .option('--token <token>', 'API token (default CITYTRUST_TOKEN; prefer the variable: arguments show in ps)');
}

export interface Client {
  call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

const KNOWN = new Set<string>(allErrorCodes());

export function client(o: ClientOptions): Client {
  let base = o.server ?? process.env.CITYTRUST_SERVER;
  if (!base) {
    const c = configFrom(o);
    base = `http://${c.server.host}:${c.server.port}`;
  }
  const token = o.token ?? process.env.CITYTRUST_TOKEN;
  return {
    async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
      if (!token) throw new CityTrustError('AUTH_MISSING', 'set CITYTRUST_TOKEN (or --token) to a city-admin token');
      let res: Response;
      try {
        res = await fetch(new URL(path, base), {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
      } catch (e) {
        throw new CityTrustError('UNAVAILABLE', `cannot reach the citytrust server at ${base}`, { cause: e });
      }
      const text = await res.text();
      const json = text ? (JSON.parse(text) as unknown) : undefined;
      if (!res.ok) {
        const err = json as { code?: string; message?: string } | undefined;
        const code = err?.code && KNOWN.has(err.code) ? (err.code as ErrorCode) : 'INTERNAL';
        throw new CityTrustError(code, err?.message ?? `HTTP ${res.status}`);
      }
      return json as T;
    },
  };
}

/** Reads lines from standard input (shares are typed or piped, never passed as arguments). */
export async function readLines(prompt: string, max: number): Promise<string[]> {
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stdin.isTTY ? process.stderr : undefined, terminal: process.stdin.isTTY });
  const lines: string[] = [];
  if (process.stdin.isTTY) process.stderr.write(prompt);
  for await (const line of rl) {
    const t = line.trim();
    if (!t && process.stdin.isTTY) break;
    if (t) lines.push(t);
    if (lines.length >= max) break;
    if (process.stdin.isTTY) process.stderr.write(prompt);
  }
  rl.close();
  return lines;
}
