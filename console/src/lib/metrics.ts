/**
 * Reads the few series the dashboard charts from Prometheus text exposition (format 0.0.4):
 * one line per sample, `name{label="value",...} number [timestamp]`. Everything else is skipped.
 */

export interface Sample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Every sample of metric `name` in `text`. */
export function samples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.startsWith(name)) continue;
    const m = LINE.exec(raw.trim());
    if (!m || m[1] !== name) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = unescape(l[2]!);
    out.push({ labels, value });
  }
  return out;
}

export interface HttpCounts {
  total: number;
  /** By status class: '2xx', '4xx', ... */
  byClass: Record<string, number>;
}

export function httpCounts(text: string): HttpCounts {
  const byClass: Record<string, number> = {};
  let total = 0;
  for (const s of samples(text, 'citytrust_http_requests_total')) {
    total += s.value;
    const cls = `${(s.labels['status'] ?? '?').charAt(0)}xx`;
    byClass[cls] = (byClass[cls] ?? 0) + s.value;
  }
  return { total, byClass };
}

/** A per-second rate from two readings of a counter; a counter that went back (restart) reads as 0. */
export function rate(prev: number, next: number, seconds: number): number {
  if (!(seconds > 0) || next < prev) return 0;
  return (next - prev) / seconds;
}
