/** What every command shares: options, output (human or --json), errors with remedies. */
import type { Command } from 'commander';
import { CityTrustError } from '../core/errors.ts';
import { loadConfig, type Config, type SettingKey } from '../core/config.ts';
import { createLogger } from '../core/log.ts';
import { closeContext, openContext, type AppContext } from '../server/context.ts';

export interface GlobalOptions {
  dataDir?: string;
  config?: string;
  databaseUrl?: string;
  json?: boolean;
}

/** Adds --data-dir, --config, --database-url and --json to a command. */
export function withCommon(cmd: Command): Command {
  return cmd
    .option('-d, --data-dir <dir>', 'data directory (default .citytrust, or CITYTRUST_DATA_DIR)')
    .option('-c, --config <file>', 'configuration file (default <data-dir>/citytrust.config.json)')
    .option('--database-url <url>', 'PostgreSQL URL (default: embedded SQLite; or DATABASE_URL)')
    .option('--json', 'print machine-readable JSON');
}

export function configFrom(o: GlobalOptions, extra: Partial<Record<SettingKey, string | number | boolean | undefined>> = {}): Config {
  return loadConfig({
    ...(o.config ? { file: o.config } : {}),
    overrides: { dataDir: o.dataDir, databaseUrl: o.databaseUrl, ...extra },
  });
}

/** Opens the context for a one-shot command, runs fn, closes it. Logs go to stderr at warn. */
export async function withContext<T>(o: GlobalOptions, fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  const config = configFrom(o);
  const logger = createLogger({ level: process.env.CITYTRUST_LOG_LEVEL ?? 'warn', destination: process.stderr });
  const ctx = await openContext(config, { logger });
  try {
    return await fn(ctx);
  } finally {
    await closeContext(ctx);
  }
}

/** Prints a result: JSON when --json, else the human text. */
export function out(o: GlobalOptions, value: unknown, human: () => string): void {
  if (o.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else process.stdout.write(`${human()}\n`);
}

export function table(rows: Record<string, unknown>[], cols: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

/** Prints a failure as code + message + remedy (or JSON) and sets a non-zero exit code. */
export function reportError(e: unknown, json: boolean): void {
  const err = e instanceof CityTrustError ? e : new CityTrustError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
  if (json) process.stdout.write(`${JSON.stringify({ error: err.toJSON() })}\n`);
  else process.stderr.write(`error ${err.code}: ${err.message}\n  remedy: ${err.remedy}\n`);
  process.exitCode = err.code === 'INTERNAL' ? 70 : 1;
}

/** Wraps an action so every error is reported the same way. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command;
    const opts = (typeof cmd?.optsWithGlobals === 'function' ? cmd.optsWithGlobals() : {}) as GlobalOptions;
    try {
      await fn(...args);
    } catch (e) {
      reportError(e, Boolean(opts.json));
    }
  };
}
