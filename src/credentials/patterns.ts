/**
 * Resource names and patterns (device-side, pure).
 *
 *   resource = kind ":" segment *( "/" segment )      e.g. door:hq/floor3/d12, printer:lib/2
 *   pattern  = kind ":" part *( "/" part )            part = segment / "*" / "**" (last only)
 *
 * `*` matches exactly one segment; `**`, allowed only as the last part, matches one or more.
 * Nothing else is a wildcard: a `*` inside a segment is refused when a credential is issued, so a
 * pattern never means more than its issuer could read off it. Matching is case-sensitive and
 * works on whole segments, so `door:hq/floor3/*` never matches `door:hq/floor30/d1`.
 */
const KIND = /^[a-z][a-z0-9-]{0,31}$/;
const SEGMENT = /^[A-Za-z0-9._~-]{1,64}$/;
export const MAX_RESOURCE_LENGTH = 256;

function split(s: string): { kind: string; parts: string[] } | undefined {
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_RESOURCE_LENGTH) return undefined;
  const colon = s.indexOf(':');
  if (colon <= 0) return undefined;
  const kind = s.slice(0, colon);
  if (!KIND.test(kind)) return undefined;
  const parts = s.slice(colon + 1).split('/');
  return { kind, parts };
}

/** A concrete resource a reader asks about (no wildcards, no empty, `.` or `..` segments). */
export function isResource(s: string): boolean {
  const p = split(s);
  return p !== undefined && p.parts.every((x) => SEGMENT.test(x) && x !== '.' && x !== '..');
}

/** A pattern a credential may carry. */
export function isResourcePattern(s: string): boolean {
  const p = split(s);
  if (p === undefined) return false;
  return p.parts.every((x, i) => x === '*' || (x === '**' && i === p.parts.length - 1) || (SEGMENT.test(x) && x !== '.' && x !== '..'));
}

/** Whether `resource` (concrete) is covered by `pattern`. Callers validate both first. */
export function matchResource(pattern: string, resource: string): boolean {
  const p = split(pattern);
  const r = split(resource);
  if (p === undefined || r === undefined || p.kind !== r.kind) return false;
  const last = p.parts.length - 1;
  if (p.parts[last] === '**') {
    if (r.parts.length < p.parts.length) return false;
  } else if (r.parts.length !== p.parts.length) return false;
  for (let i = 0; i < p.parts.length; i++) {
    const part = p.parts[i] as string;
    if (part === '**') return true;
    if (part !== '*' && part !== r.parts[i]) return false;
  }
  return true;
}
